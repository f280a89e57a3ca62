//! Urgent messages (issue 5, item 5), called from `record_inbound` in its transaction: a
//! patient's text that matches the practice's urgent phrases (defaults in
//! `frontdesk_domain::urgency`, or the list saved under the `urgency.phrases` setting) gets,
//! at any hour:
//!
//! - an immediate reply with the category's emergency instruction (911, or 988 for suicidal
//!   thoughts), at most once per category per conversation per clock hour, and never to a
//!   contact who opted out;
//! - the conversation's urgent flag;
//! - a live [`EventKind::UrgentMessage`] so on-call staff get an in-app alert;
//! - when the department has an on-call phone, a text to it through the normal outbox with
//!   no patient data (only a link to the conversation), at most once per conversation per
//!   clock hour.
//!
//! Every step is audited in the same transaction.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use frontdesk_domain::E164;
use frontdesk_domain::keywords::classify_keyword;
use frontdesk_domain::model::*;
use frontdesk_domain::urgency::{UrgencyRules, UrgentPhrase};
use frontdesk_providers::InboundSms;
use frontdesk_store::{StoreResult, WriteTx};

use crate::after_hours::{department_for, hours_in_tx};
use crate::audit::{self, Actor};
use crate::events::EventKind;
use crate::inbound::{ConsentChange, InboundOutcome};
use crate::inbox::StaffContext;
use crate::{PracticeSettings, ServiceError, Services};

/// The `settings` key holding a custom phrase list (JSON array of `UrgentPhrase`).
pub const PHRASES_KEY: &str = "urgency.phrases";

/// The rules for a stored list (or the defaults), built once per distinct list: this runs
/// for every inbound text, on the SQLite writer thread.
fn rules_from(json: Option<&str>) -> Arc<UrgencyRules> {
    static CACHE: Mutex<Option<(Option<String>, Arc<UrgencyRules>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((key, rules)) = cache.as_ref()
        && key.as_deref() == json
    {
        return rules.clone();
    }
    let rules = Arc::new(match json.and_then(|j| serde_json::from_str::<Vec<UrgentPhrase>>(j).ok()) {
        Some(list) if !list.is_empty() => UrgencyRules::new(list),
        _ => UrgencyRules::default(),
    });
    *cache = Some((json.map(str::to_owned), rules.clone()));
    rules
}

/// The text sent to the on-call phone: no patient data, only where to look.
pub fn on_call_text(practice: &PracticeSettings, conversation: ConversationId) -> String {
    match &practice.links_base_url {
        Some(base) => format!("Frontdesk: urgent message waiting, open {base}/c/{conversation}"),
        None => format!("Frontdesk: urgent message waiting in conversation {conversation}"),
    }
}

fn hour_bucket(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(3600)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn on_inbound(
    tx: &mut dyn WriteTx,
    practice: &PracticeSettings,
    number: &PracticeNumber,
    contact: &Contact,
    conversation: &mut Conversation,
    sms: &InboundSms,
    outcome: &mut InboundOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if sms.provider_opt_out.is_some() || classify_keyword(&sms.body).is_some() {
        return Ok(());
    }
    let rules = rules_from(tx.setting_in_tx(PHRASES_KEY).await?.as_deref());
    let matches = rules.detect(&sms.body);
    let Some(first) = matches.first() else { return Ok(()) };
    let category = first.category;
    let target = outcome.message_id.map(|id| format!("message:{id}"));

    conversation.urgent = true;
    outcome.alerts.push(EventKind::UrgentMessage);
    let mut entry = audit::entry(&Actor::System, "urgent.detected", target.clone(), None, now);
    let categories: Vec<&str> = matches.iter().map(|m| m.category.as_str()).collect();
    entry.detail = Some(format!("conversation:{} categories={}", conversation.id, categories.join(",")));
    tx.insert_audit(&entry).await?;

    let revoked = outcome.consent == Some(ConsentChange::Revoked);
    let reply_key = format!("urgent_reply:{}:{}:{}", conversation.id, category.as_str(), hour_bucket(now));
    if !contact.opted_out && !revoked && tx.claim_automation_mark(&reply_key, now).await? {
        let body = category.instruction();
        let reply = crate::inbound::queue_reply(tx, conversation, number, body, now).await?;
        outcome.replies.push(reply);
        let mut entry = audit::entry(&Actor::System, "urgent.reply", Some(format!("message:{reply}")), None, now);
        entry.detail = Some(format!("category={} call {}", category.as_str(), category.emergency_number()));
        tx.insert_audit(&entry).await?;
    }

    let effective = hours_in_tx(tx, practice, department_for(conversation, number.default_department_id)).await?;
    let Some(phone) = effective.settings.on_call_phone.as_deref().and_then(|p| E164::parse_strict(p).ok()) else {
        return Ok(());
    };
    if phone == contact.phone {
        return Ok(());
    }
    let sms_key = format!("on_call_sms:{}:{}", conversation.id, hour_bucket(now));
    if !tx.claim_automation_mark(&sms_key, now).await? {
        return Ok(());
    }
    let on_call = tx.upsert_contact(&phone, now).await?;
    if on_call.opted_out {
        let mut entry = audit::entry(&Actor::System, "urgent.on_call_sms_refused", target, None, now);
        entry.detail = Some(format!("on-call phone {} opted out", phone.masked()));
        return tx.insert_audit(&entry).await;
    }
    let thread = tx.upsert_thread_for_update(number.id, on_call.id, now).await?;
    let mut alert_conversation = match tx.current_conversation(thread.id).await? {
        Some(existing) => existing,
        None => {
            let fresh = Conversation::open(thread.id, effective.department_id, now);
            tx.insert_conversation(&fresh).await?;
            fresh
        }
    };
    let body = on_call_text(practice, conversation.id);
    let message = crate::inbound::queue_reply(tx, &alert_conversation, number, &body, now).await?;
    alert_conversation.last_message_at = now;
    if alert_conversation.status == ConversationStatus::Closed {
        alert_conversation.status = ConversationStatus::Open;
        alert_conversation.closed_at = None;
    }
    tx.update_conversation(&alert_conversation).await?;
    tx.touch_thread(thread.id, now).await?;
    outcome.replies.push(message);
    let mut entry = audit::entry(&Actor::System, "urgent.on_call_sms", Some(format!("message:{message}")), None, now);
    entry.detail = Some(format!("conversation:{} to {}", conversation.id, phone.masked()));
    tx.insert_audit(&entry).await
}

impl Services {
    /// The urgent phrases in force, as "category: phrase" lines (admins only).
    pub async fn urgent_phrases(&self, ctx: &StaffContext) -> Result<String, ServiceError> {
        ctx.require_admin()?;
        let json = self.store.setting(PHRASES_KEY).await?;
        let list: Vec<UrgentPhrase> = json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_else(|| {
            frontdesk_domain::urgency::DEFAULT_PHRASES
                .iter()
                .map(|(c, p)| UrgentPhrase { category: *c, phrase: (*p).to_owned() })
                .collect()
        });
        Ok(list.iter().map(|p| format!("{}: {}", p.category.as_str(), p.phrase)).collect::<Vec<_>>().join("\n"))
    }

    /// Replaces the urgent phrases with "category: phrase" lines (admins only, audited).
    /// An empty list restores the defaults.
    pub async fn set_urgent_phrases(
        &self,
        ctx: &StaffContext,
        lines: &str,
        ip: Option<String>,
    ) -> Result<usize, ServiceError> {
        ctx.require_admin()?;
        let list = UrgencyRules::parse_lines(lines).map_err(|e| ServiceError::invalid("phrases", e))?;
        let count = list.len();
        let json = serde_json::to_string(&list).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let entry = audit::entry(&Actor::User(ctx.user.id), "urgency.phrases", None, ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_setting(PHRASES_KEY, &json, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(count)
    }
}
