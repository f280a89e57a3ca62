//! A fake Twilio Messages API on a loopback port, in this process, for the `outbound`
//! scenario: Create Message (`POST .../Messages.json` → 201 with a Message resource) and List
//! Messages (`GET .../Messages.json`, used by the server to reconcile an interrupted hand-off).
//! Every answer waits `latency`; a share of Create requests is refused with 429 (sometimes
//! with `Retry-After: 0`) or 500/503. It records every request it saw, with its arrival time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::Rng as _;
use serde_json::json;

/// One Create Message request that was accepted (201).
#[derive(Clone)]
pub struct Accepted {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub date_created: String,
    /// Our message id, read from the StatusCallback URL (`...?m={id}`), when there was one.
    pub message_id: Option<String>,
    /// When the request arrived.
    pub arrived: Instant,
    /// When the 201 was sent.
    pub answered: Instant,
}

#[derive(Default)]
pub struct Record {
    /// Every accepted message, in the order the answers were sent.
    pub accepted: Vec<Accepted>,
    /// Arrival times of every Create request, by `From`.
    pub attempts_by_sender: HashMap<String, Vec<Instant>>,
    pub creates: u64,
    pub injected_429: u64,
    pub injected_429_retry_after_0: u64,
    pub injected_5xx: u64,
    pub lists: u64,
    pub bad_requests: u64,
    /// Create requests being answered right now, and the most ever at once.
    pub in_flight: u64,
    pub max_in_flight: u64,
    /// Slow answers (crash mode) in progress right now.
    pub slow_in_progress: u64,
}

struct Shared {
    latency: Duration,
    failure_share: f64,
    /// Crash mode: a Create is recorded as accepted the moment it arrives (Twilio has the
    /// message whether or not the answer reaches the caller), never refused, and every
    /// `slow_every`-th answer is held back for `slow`, so kills land mid hand-off.
    record_on_arrival: bool,
    slow_every: u64,
    slow: Duration,
    record: Mutex<Record>,
}

pub struct FakeTwilio {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTwilio {
    pub async fn start(latency: Duration, failure_share: f64) -> anyhow::Result<FakeTwilio> {
        FakeTwilio::start_with(Shared {
            latency,
            failure_share,
            record_on_arrival: false,
            slow_every: 0,
            slow: Duration::ZERO,
            record: Mutex::new(Record::default()),
        })
        .await
    }

    /// The crash scenario's provider: accepts everything, records on arrival, and answers
    /// every `slow_every`-th Create only after `slow`.
    pub async fn start_for_crash(slow_every: u64, slow: Duration) -> anyhow::Result<FakeTwilio> {
        FakeTwilio::start_with(Shared {
            latency: Duration::ZERO,
            failure_share: 0.0,
            record_on_arrival: true,
            slow_every,
            slow,
            record: Mutex::new(Record::default()),
        })
        .await
    }

    async fn start_with(shared: Shared) -> anyhow::Result<FakeTwilio> {
        let shared = Arc::new(shared);
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", get(list).post(create))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeTwilio { addr, shared, task })
    }

    /// Runs `f` on what was recorded so far.
    pub fn with_record<T>(&self, f: impl FnOnce(&Record) -> T) -> T {
        let guard = self.shared.record.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }
}

impl Drop for FakeTwilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Record> {
    shared.record.lock().unwrap_or_else(|e| e.into_inner())
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()});
    (status, axum::Json(body)).into_response()
}

async fn create(State(shared): State<Arc<Shared>>, Path(_sid): Path<String>, body: Bytes) -> Response {
    let arrived = Instant::now();
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(from), Some(text)) = (field("To"), field("From"), field("Body")) else {
        lock(&shared).bad_requests += 1;
        tokio::time::sleep(shared.latency).await;
        return error(StatusCode::BAD_REQUEST, 21604, "A 'To', 'From' and 'Body' are required");
    };
    let message_id = field("StatusCallback").and_then(|u| u.split_once("?m=").map(|(_, id)| id.to_string()));
    if shared.record_on_arrival {
        let sid = format!("SM{:032x}", rand::random::<u128>());
        let date_created = rfc2822(SystemTime::now());
        let slow = {
            let mut rec = lock(&shared);
            rec.creates += 1;
            rec.attempts_by_sender.entry(from.clone()).or_default().push(arrived);
            rec.accepted.push(Accepted {
                sid: sid.clone(),
                to: to.clone(),
                from: from.clone(),
                body: text.clone(),
                date_created: date_created.clone(),
                message_id,
                arrived,
                answered: arrived,
            });
            shared.slow_every > 0 && rec.creates.is_multiple_of(shared.slow_every)
        };
        if slow {
            lock(&shared).slow_in_progress += 1;
            // Decremented also when the caller hangs up and this future is dropped.
            struct Guard(Arc<Shared>);
            impl Drop for Guard {
                fn drop(&mut self) {
                    lock(&self.0).slow_in_progress -= 1;
                }
            }
            let _guard = Guard(shared.clone());
            tokio::time::sleep(shared.slow).await;
        }
        let view = json!({"sid": sid, "status": "queued", "to": to, "from": from, "body": text,
            "num_segments": "1", "date_created": date_created, "date_updated": date_created,
            "direction": "outbound-api", "api_version": "2010-04-01"});
        return (StatusCode::CREATED, axum::Json(view)).into_response();
    }
    // Decide the answer up front; the randomness is per request.
    let (roll, retry_after_0, which_5xx) = {
        let mut rng = rand::rng();
        (rng.random::<f64>(), rng.random_bool(0.5), rng.random_bool(0.5))
    };
    {
        let mut rec = lock(&shared);
        rec.creates += 1;
        rec.attempts_by_sender.entry(from.clone()).or_default().push(arrived);
        rec.in_flight += 1;
        rec.max_in_flight = rec.max_in_flight.max(rec.in_flight);
    }
    tokio::time::sleep(shared.latency).await;
    lock(&shared).in_flight -= 1;
    if roll < shared.failure_share / 2.0 {
        let mut rec = lock(&shared);
        rec.injected_429 += 1;
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
        if retry_after_0 {
            rec.injected_429_retry_after_0 += 1;
            response.headers_mut().insert("retry-after", HeaderValue::from_static("0"));
        }
        return response;
    }
    if roll < shared.failure_share {
        lock(&shared).injected_5xx += 1;
        return if which_5xx {
            error(StatusCode::INTERNAL_SERVER_ERROR, 20500, "Internal Server Error")
        } else {
            error(StatusCode::SERVICE_UNAVAILABLE, 20503, "Service Unavailable")
        };
    }
    let sid = format!("SM{:032x}", rand::random::<u128>());
    let date_created = rfc2822(SystemTime::now());
    let view = json!({
        "sid": sid,
        "status": "queued",
        "to": to,
        "from": from,
        "body": text,
        "num_segments": "1",
        "date_created": date_created,
        "date_updated": date_created,
        "direction": "outbound-api",
        "api_version": "2010-04-01",
    });
    let answered = Instant::now();
    lock(&shared).accepted.push(Accepted { sid, to, from, body: text, date_created, message_id, arrived, answered });
    (StatusCode::CREATED, axum::Json(view)).into_response()
}

/// List Messages: the accepted messages matching `To` (and `From` when given), newest first,
/// all on one page. No failures are injected here.
async fn list(
    State(shared): State<Arc<Shared>>,
    Path(_sid): Path<String>,
    RawQuery(query): RawQuery,
    _headers: HeaderMap,
) -> Response {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (to, from) = (param("To"), param("From"));
    let messages: Vec<serde_json::Value> = {
        let mut rec = lock(&shared);
        rec.lists += 1;
        rec.accepted
            .iter()
            .rev()
            .filter(|m| to.as_deref().is_none_or(|t| t == m.to) && from.as_deref().is_none_or(|f| f == m.from))
            .map(|m| {
                json!({"sid": m.sid, "status": "queued", "to": m.to, "from": m.from, "body": m.body,
                    "num_segments": "1", "date_created": m.date_created})
            })
            .collect()
    };
    tokio::time::sleep(shared.latency).await;
    axum::Json(json!({"messages": messages, "next_page_uri": null, "page": 0, "page_size": 50})).into_response()
}

/// `Thu, 24 Aug 2023 05:01:45 +0000`.
pub fn rfc2822(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2822_dates() {
        assert_eq!(rfc2822(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(UNIX_EPOCH + Duration::from_secs(1_692_853_305)), "Thu, 24 Aug 2023 05:01:45 +0000");
        assert_eq!(rfc2822(UNIX_EPOCH + Duration::from_secs(1_709_164_800)), "Thu, 29 Feb 2024 00:00:00 +0000");
    }
}
