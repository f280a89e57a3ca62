//! An in-process SMS provider, so the whole product can be tried with no account: the
//! `/simulator` page plays the patient's phone (DESIGN.md §5 `frontdesk serve`).
//!
//! Wiring: [`Simulator::new`] returns the provider and its [`SimulatorFeeds`]. The server
//! registers the `Simulator` as the provider for simulator numbers, subscribes the phone page
//! to [`SimulatorFeeds::phone_events`] (a broadcast channel: every open page sees every
//! message, and a page that lags just misses old events), and runs one task draining
//! [`SimulatorFeeds::status_reports`] into the same status-applying service the Twilio status
//! webhook uses. A patient typing on the phone page becomes an [`InboundSms`] through
//! [`Simulator::patient_text`], fed to the same service as a Twilio inbound webhook.
//!
//! Like Twilio, a send answers `queued` at once and reports `sent`, then `delivered`, later.
//! Failures are demonstrable by texting a number whose last five digits are a Twilio error
//! code: `…21610` is opted out, `…21211`, `…21608`, `…21614`, `…21635` are refused, `…20429`
//! is "busy, retry", `…30001`–`…30008` are accepted and then fail with that code, as a carrier
//! would report. A message with neither text nor media is refused with 21619, as at Twilio.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use frontdesk_domain::model::{MediaRef, ProviderKind};
use frontdesk_domain::{E164, MessageStatus};

use crate::errors::explain;
use crate::{InboundSms, Lookup, OutboundSms, SendAccepted, SendError, SmsProvider, StatusReport};

/// What the simulated phone shows. Serialised (tagged by `kind`) for the phone page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhoneEvent {
    /// The practice's text arrived on the patient's phone (sent when it is delivered).
    MessageToPhone {
        to: E164,
        from: E164,
        body: String,
        media_urls: Vec<String>,
        provider_message_id: String,
        at: DateTime<Utc>,
    },
    /// A status the simulator reported for one of the practice's texts.
    Status { provider_message_id: String, status: MessageStatus, error_code: Option<String> },
}

/// Timing and memory of the simulator. Tests set the delays to zero.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// After the send, when `sent` is reported.
    pub sent_after: Duration,
    /// After the send, when `delivered` (or the failure) is reported.
    pub delivered_after: Duration,
    /// How many sent messages [`SmsProvider::lookup`] can find; the oldest are forgotten.
    pub remember: usize,
    /// Capacity of the phone-event broadcast channel.
    pub event_capacity: usize,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            sent_after: Duration::from_millis(300),
            delivered_after: Duration::from_millis(900),
            remember: 10_000,
            event_capacity: 256,
        }
    }
}

/// The simulator's outputs, for the server to wire (see the module docs).
#[derive(Debug)]
pub struct SimulatorFeeds {
    /// Subscribe the phone page with `phone_events.subscribe()`.
    pub phone_events: broadcast::Sender<PhoneEvent>,
    /// Delivery statuses to apply, as if they came from a status webhook.
    pub status_reports: mpsc::UnboundedReceiver<StatusReport>,
}

/// The in-process provider. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SimulatorConfig,
    events: broadcast::Sender<PhoneEvent>,
    reports: mpsc::UnboundedSender<StatusReport>,
    sent: Mutex<SentLog>,
}

#[derive(Debug, Clone)]
struct SentRecord {
    sid: String,
    from: E164,
    to: E164,
    body: String,
    at: DateTime<Utc>,
    status: MessageStatus,
}

/// Sent messages by SID, forgetting the oldest beyond `remember`.
#[derive(Debug, Default)]
struct SentLog {
    order: VecDeque<String>,
    by_sid: HashMap<String, SentRecord>,
}

/// What the simulated network does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Deliver,
    /// Reaches `sent`, then the carrier reports it undelivered.
    Undeliverable(&'static str),
    /// Never leaves the provider.
    Fail(&'static str),
}

impl Simulator {
    /// A simulator with realistic delays (300 ms to `sent`, 900 ms to `delivered`).
    pub fn new() -> (Simulator, SimulatorFeeds) {
        Simulator::with_config(SimulatorConfig::default())
    }

    pub fn with_config(config: SimulatorConfig) -> (Simulator, SimulatorFeeds) {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        let (reports, status_reports) = mpsc::unbounded_channel();
        let inner = Inner { config, events: events.clone(), reports, sent: Mutex::new(SentLog::default()) };
        (Simulator { inner: Arc::new(inner) }, SimulatorFeeds { phone_events: events, status_reports })
    }

    /// Another subscription to the phone events (same channel as the feeds' sender).
    pub fn subscribe(&self) -> broadcast::Receiver<PhoneEvent> {
        self.inner.events.subscribe()
    }

    /// A text the patient typed on the phone page, as the provider would deliver it to us.
    pub fn patient_text(&self, from: E164, to: E164, body: String, media: Vec<MediaRef>) -> InboundSms {
        InboundSms {
            provider: ProviderKind::Simulator,
            provider_message_id: new_sid(),
            from,
            to,
            body,
            media,
            provider_opt_out: None,
        }
    }

    fn record_status(&self, sid: &str, status: MessageStatus) {
        let mut log = self.inner.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = log.by_sid.get_mut(sid) {
            r.status = status;
        }
    }

    fn report(&self, sms: &OutboundSms, sid: &str, status: MessageStatus, error_code: Option<&str>) {
        self.record_status(sid, status);
        let error_code = error_code.map(str::to_string);
        // Nobody listening (no page open, or the server stopped) is fine: drop the event.
        let _ = self.inner.events.send(PhoneEvent::Status {
            provider_message_id: sid.to_string(),
            status,
            error_code: error_code.clone(),
        });
        let _ = self.inner.reports.send(StatusReport {
            provider: ProviderKind::Simulator,
            provider_message_id: sid.to_string(),
            status,
            error_code,
            message_id: Some(sms.message_id),
        });
    }

    async fn play_out(self, sms: OutboundSms, sid: String, fate: Fate) {
        let config = &self.inner.config;
        tokio::time::sleep(config.sent_after).await;
        if let Fate::Fail(code) = fate {
            self.report(&sms, &sid, MessageStatus::Failed, Some(code));
            return;
        }
        self.report(&sms, &sid, MessageStatus::Sent, None);
        tokio::time::sleep(config.delivered_after.saturating_sub(config.sent_after)).await;
        match fate {
            Fate::Undeliverable(code) => self.report(&sms, &sid, MessageStatus::Undelivered, Some(code)),
            Fate::Deliver | Fate::Fail(_) => {
                let _ = self.inner.events.send(PhoneEvent::MessageToPhone {
                    to: sms.to.clone(),
                    from: sms.from.clone(),
                    body: sms.body.clone(),
                    media_urls: sms.media_urls.clone(),
                    provider_message_id: sid.clone(),
                    at: Utc::now(),
                });
                self.report(&sms, &sid, MessageStatus::Delivered, None);
            }
        }
    }
}

/// `SIM` and 32 hex digits, shaped like a Twilio SID so the same columns and screens fit.
fn new_sid() -> String {
    format!("SIM{}", uuid::Uuid::new_v4().simple())
}

/// The error code a demo number asks for, by its last five digits.
fn demo_code(to: &E164) -> Option<&'static str> {
    const CODES: [&str; 15] = [
        "20429", "21211", "21608", "21610", "21614", "21619", "21635", "30001", "30002", "30003", "30004", "30005",
        "30006", "30007", "30008",
    ];
    let s = to.as_str();
    let tail = s.get(s.len().saturating_sub(5)..)?;
    CODES.into_iter().find(|c| *c == tail)
}

#[async_trait]
impl SmsProvider for Simulator {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Simulator
    }

    async fn send(&self, sms: &OutboundSms) -> Result<SendAccepted, SendError> {
        let code = if sms.body.is_empty() && sms.media_urls.is_empty() { Some("21619") } else { demo_code(&sms.to) };
        let message = |c: &str| explain(ProviderKind::Simulator, c);
        let fate = match code {
            None => Fate::Deliver,
            Some(c @ "20429") => {
                return Err(SendError::Transient {
                    code: Some(c.to_string()),
                    message: message(c),
                    retry_after: Some(Duration::from_secs(1)),
                });
            }
            Some(c @ "21610") => {
                return Err(SendError::OptedOut { code: c.to_string(), message: message(c) });
            }
            Some(c @ ("30001" | "30002")) => Fate::Fail(c),
            Some(c) if c.starts_with("300") => Fate::Undeliverable(c),
            Some(c) => {
                return Err(SendError::Permanent { code: c.to_string(), message: message(c) });
            }
        };

        let sid = new_sid();
        {
            let mut log = self.inner.sent.lock().unwrap_or_else(PoisonError::into_inner);
            log.order.push_back(sid.clone());
            log.by_sid.insert(
                sid.clone(),
                SentRecord {
                    sid: sid.clone(),
                    from: sms.from.clone(),
                    to: sms.to.clone(),
                    body: sms.body.clone(),
                    at: Utc::now(),
                    status: MessageStatus::Queued,
                },
            );
            while log.order.len() > self.inner.config.remember.max(1) {
                if let Some(old) = log.order.pop_front() {
                    log.by_sid.remove(&old);
                }
            }
        }
        tracing::info!(to = %sms.to, message_id = %sms.message_id, sid = %sid, "simulator accepted the message");
        tokio::spawn(self.clone().play_out(sms.clone(), sid.clone(), fate));
        // Segments are the domain's business (the services layer computes them before sending).
        Ok(SendAccepted { provider_message_id: sid, status: MessageStatus::Queued, segments: None })
    }

    async fn lookup(&self, sms: &OutboundSms, since: DateTime<Utc>) -> Result<Lookup, SendError> {
        let earliest = since - chrono::Duration::minutes(1);
        let log = self.inner.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let found = log.order.iter().rev().filter_map(|sid| log.by_sid.get(sid)).find(|r| {
            r.to == sms.to
                && r.body == sms.body
                && r.at >= earliest
                && (sms.messaging_service_sid.is_some() || r.from == sms.from)
        });
        Ok(match found {
            Some(r) => {
                Lookup::Found(SendAccepted { provider_message_id: r.sid.clone(), status: r.status, segments: None })
            }
            None => Lookup::NotFound,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn fast() -> (Simulator, SimulatorFeeds) {
        Simulator::with_config(SimulatorConfig {
            sent_after: Duration::ZERO,
            delivered_after: Duration::ZERO,
            remember: 3,
            event_capacity: 64,
        })
    }

    fn sms(to: &str, body: &str) -> OutboundSms {
        OutboundSms {
            message_id: Uuid::now_v7(),
            from: E164::parse_strict("+14155550100").unwrap(),
            to: E164::parse_strict(to).unwrap(),
            body: body.to_string(),
            media_urls: vec![],
            messaging_service_sid: None,
            status_callback: None,
        }
    }

    async fn next_report(feeds: &mut SimulatorFeeds) -> StatusReport {
        tokio::time::timeout(Duration::from_secs(5), feeds.status_reports.recv()).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn delivers_and_tells_the_phone() {
        let (sim, mut feeds) = fast();
        let mut phone = feeds.phone_events.subscribe();
        let out = sms("+12125550199", "See you at 3pm");
        let accepted = sim.send(&out).await.unwrap();
        assert_eq!(sim.kind(), ProviderKind::Simulator);
        assert_eq!(accepted.status, MessageStatus::Queued);
        assert!(accepted.provider_message_id.starts_with("SIM"));
        assert_eq!(accepted.provider_message_id.len(), 35);
        assert!(accepted.provider_message_id[3..].bytes().all(|b| b.is_ascii_hexdigit()));

        let r1 = next_report(&mut feeds).await;
        assert_eq!(
            (r1.status, r1.message_id, r1.provider.as_str()),
            (MessageStatus::Sent, Some(out.message_id), "simulator")
        );
        let r2 = next_report(&mut feeds).await;
        assert_eq!(r2.status, MessageStatus::Delivered);
        assert_eq!(r2.provider_message_id, accepted.provider_message_id);

        let mut saw_message = false;
        while let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_millis(200), phone.recv()).await {
            if let PhoneEvent::MessageToPhone { body, to, provider_message_id, .. } = &ev {
                assert_eq!(body, "See you at 3pm");
                assert_eq!(to, &out.to);
                assert_eq!(provider_message_id, &accepted.provider_message_id);
                saw_message = true;
            }
        }
        assert!(saw_message);
        let json = serde_json::to_value(PhoneEvent::Status {
            provider_message_id: "SIMx".into(),
            status: MessageStatus::Sent,
            error_code: None,
        })
        .unwrap();
        assert_eq!(json["kind"], "status");
        assert_eq!(json["status"], "sent");

        match sim.lookup(&out, Utc::now() - chrono::Duration::minutes(5)).await.unwrap() {
            Lookup::Found(a) => {
                assert_eq!(a.provider_message_id, accepted.provider_message_id);
                assert_eq!(a.status, MessageStatus::Delivered);
            }
            other => panic!("expected Found, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn demo_numbers_fail_like_twilio() {
        let (sim, mut feeds) = fast();
        assert!(matches!(
            sim.send(&sms("+15555521610", "hi")).await,
            Err(SendError::OptedOut { ref code, .. }) if code == "21610"
        ));
        match sim.send(&sms("+15555521211", "hi")).await {
            Err(SendError::Permanent { code, message }) => {
                assert_eq!(code, "21211");
                assert!(message.contains("not valid"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(sim.send(&sms("+15555520429", "hi")).await, Err(SendError::Transient { .. })));
        assert!(matches!(
            sim.send(&sms("+12125550199", "")).await,
            Err(SendError::Permanent { ref code, .. }) if code == "21619"
        ));

        sim.send(&sms("+15555530003", "hi")).await.unwrap();
        let r = next_report(&mut feeds).await;
        assert_eq!(r.status, MessageStatus::Sent);
        let r = next_report(&mut feeds).await;
        assert_eq!((r.status, r.error_code.as_deref()), (MessageStatus::Undelivered, Some("30003")));

        sim.send(&sms("+15555530001", "hi")).await.unwrap();
        let r = next_report(&mut feeds).await;
        assert_eq!((r.status, r.error_code.as_deref()), (MessageStatus::Failed, Some("30001")));
    }

    #[tokio::test]
    async fn lookup_is_bounded_and_matches_exactly() {
        let (sim, _feeds) = fast();
        let first = sms("+12125550101", "one");
        sim.send(&first).await.unwrap();
        let since = Utc::now() - chrono::Duration::seconds(5);
        assert!(matches!(sim.lookup(&first, since).await.unwrap(), Lookup::Found(_)));
        assert_eq!(sim.lookup(&sms("+12125550101", "other body"), since).await.unwrap(), Lookup::NotFound);
        assert_eq!(sim.lookup(&sms("+12125550102", "one"), since).await.unwrap(), Lookup::NotFound);
        assert_eq!(sim.lookup(&first, Utc::now() + chrono::Duration::minutes(5)).await.unwrap(), Lookup::NotFound);
        for i in 0..3 {
            sim.send(&sms("+12125550103", &format!("n{i}"))).await.unwrap();
        }
        // remember = 3: the first message is forgotten.
        assert_eq!(sim.lookup(&first, since).await.unwrap(), Lookup::NotFound);
    }

    #[test]
    fn patient_text_is_a_simulator_inbound() {
        let (sim, _feeds) = fast();
        let m = sim.patient_text(
            E164::parse_strict("+12125550199").unwrap(),
            E164::parse_strict("+14155550100").unwrap(),
            "hello".into(),
            vec![],
        );
        assert_eq!(m.provider, ProviderKind::Simulator);
        assert!(m.provider_message_id.starts_with("SIM"));
        assert_eq!(demo_code(&E164::parse_strict("+12125550199").unwrap()), None);
    }
}
