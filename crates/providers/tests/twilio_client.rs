//! TwilioClient against a fake Twilio on 127.0.0.1: the exact request, and how every kind of
//! answer is classified. No real SMS is ever sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use chrono::Utc;
use frontdesk_domain::{E164, MessageStatus};
use frontdesk_providers::twilio::{TwilioClient, TwilioConfig};
use frontdesk_providers::{Lookup, OutboundSms, SendAccepted, SendError, SmsProvider};
use uuid::Uuid;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "test-auth-token";

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    content_type: Option<String>,
    form: Vec<(String, String)>,
}

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

type Responder = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Responder,
}

async fn handle(State(fake): State<Fake>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        form: url::form_urlencoded::parse(&bytes).into_owned().collect(),
    };
    let n = {
        let mut all = fake.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    let r = (fake.respond)(&seen, n);
    tokio::time::sleep(r.delay).await;
    let mut resp = Response::new(Body::from(r.body));
    *resp.status_mut() = StatusCode::from_u16(r.status).unwrap();
    for (k, v) in r.headers {
        resp.headers_mut().insert(k, HeaderValue::from_str(&v).unwrap());
    }
    resp
}

/// Starts a fake Twilio; returns a client aimed at it and the requests it saw.
async fn fake_twilio(
    timeout: Duration,
    respond: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
) -> (TwilioClient, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake { seen: seen.clone(), respond: Arc::new(respond) };
    let app = Router::new().fallback(handle).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = TwilioConfig::new(SID, TOKEN);
    config.api_base = format!("http://{addr}");
    config.timeout = timeout;
    (TwilioClient::new(config).unwrap(), seen)
}

fn sms() -> OutboundSms {
    OutboundSms {
        message_id: Uuid::now_v7(),
        from: E164::parse_strict("+14155550100").unwrap(),
        to: E164::parse_strict("+12125550199").unwrap(),
        body: "Your appointment is tomorrow at 3pm. Reply STOP to opt out.".into(),
        media_urls: vec![],
        messaging_service_sid: None,
        status_callback: None,
    }
}

const CREATED: &str = r#"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","num_segments":"2","body":"x","to":"+12125550199","error_code":null}"#;

fn expected_auth() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}")))
}

async fn send_with(r: Reply) -> Result<SendAccepted, SendError> {
    let (client, _) = fake_twilio(Duration::from_secs(5), move |_, _| r.clone()).await;
    client.send(&sms()).await
}

#[tokio::test]
async fn created_201_sends_the_exact_request() {
    let (client, seen) = fake_twilio(Duration::from_secs(5), |_, _| reply(201, CREATED)).await;
    let mut out = sms();
    out.media_urls = vec!["https://clinic.example/a.png".into(), "https://clinic.example/b.jpg".into()];
    out.status_callback = Some("https://clinic.example/webhooks/twilio/status?m=1".into());
    let accepted = client.send(&out).await.unwrap();
    assert_eq!(
        accepted,
        SendAccepted {
            provider_message_id: "SM0123456789abcdef0123456789abcdef".into(),
            status: MessageStatus::Queued,
            segments: Some(2)
        }
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert!(r.query.is_empty());
    assert_eq!(r.authorization.as_deref(), Some(expected_auth().as_str()));
    assert_eq!(r.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        r.form,
        vec![
            f("To", "+12125550199"),
            f("From", "+14155550100"),
            f("Body", &out.body),
            f("MediaUrl", "https://clinic.example/a.png"),
            f("MediaUrl", "https://clinic.example/b.jpg"),
            f("StatusCallback", "https://clinic.example/webhooks/twilio/status?m=1"),
        ]
    );
}

#[tokio::test]
async fn messaging_service_replaces_from() {
    let (client, seen) = fake_twilio(Duration::from_secs(5), |_, _| reply(201, CREATED)).await;
    let mut out = sms();
    out.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".into());
    client.send(&out).await.unwrap();
    let form = seen.lock().unwrap()[0].form.clone();
    assert!(form.contains(&("MessagingServiceSid".into(), "MG0123456789abcdef0123456789abcdef".into())));
    assert!(!form.iter().any(|(k, _)| k == "From"));
}

#[tokio::test]
async fn too_many_requests_is_transient_with_retry_after() {
    let mut r = reply(
        429,
        r#"{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#,
    );
    r.headers.push(("retry-after", "7".into()));
    match send_with(r).await {
        Err(SendError::Transient { code, retry_after, message }) => {
            assert_eq!(code.as_deref(), Some("20429"));
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
            assert!(message.contains("busy"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A bare 429 without a body or Retry-After.
    match send_with(reply(429, "")).await {
        Err(SendError::Transient { code, retry_after, .. }) => {
            assert_eq!(code.as_deref(), Some("http-429"));
            assert_eq!(retry_after, None);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_transient() {
    for status in [500, 502, 503] {
        match send_with(reply(status, "<html>oops</html>")).await {
            Err(SendError::Transient { code, .. }) => {
                assert_eq!(code, Some(format!("http-{status}")))
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn opted_out_in_both_error_shapes() {
    let legacy = r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient +12125550199","more_info":"https://www.twilio.com/docs/errors/21610","status":400}"#;
    let rfc = r#"{"type":"https://www.twilio.com/docs/errors/21610","title":"Unsubscribed recipient","status":400,"code":21610,"detail":"Attempt to send to unsubscribed recipient +12125550199","instance":"/2010-04-01/Accounts/AC/Messages.json"}"#;
    for body in [legacy, rfc] {
        match send_with(reply(400, body)).await {
            Err(SendError::OptedOut { code, message }) => {
                assert_eq!(code, "21610");
                assert!(message.contains("opted out"), "{message}");
                assert!(!message.contains("2125550199"), "Twilio's text (with the number) must not leak");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn invalid_number_is_permanent_in_both_error_shapes() {
    let legacy = r#"{"code":21211,"message":"The 'To' number +12125550199 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
    let rfc = r#"{"type":"https://www.twilio.com/docs/errors/21211","title":"Invalid 'To' Phone Number","status":400,"code":21211,"detail":"The 'To' number +12125550199 is not a valid phone number.","instance":"/x"}"#;
    for body in [legacy, rfc] {
        match send_with(reply(400, body)).await {
            Err(SendError::Permanent { code, message }) => {
                assert_eq!(code, "21211");
                assert!(message.contains("not valid"), "{message}");
                assert!(!message.contains("2125550199"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_credentials_and_odd_answers() {
    match send_with(reply(401, r#"{"code":20003,"message":"Authenticate","status":401}"#)).await {
        Err(SendError::Permanent { code, message }) => {
            assert_eq!(code, "20003");
            assert!(message.contains("FRONTDESK_TWILIO__AUTH_TOKEN"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Success status without a SID: Twilio may have the message, so reconcile.
    assert!(matches!(send_with(reply(201, "not json")).await, Err(SendError::Unknown { .. })));
    // A redirect is not followed and is not a refusal.
    let mut r = reply(302, "");
    r.headers.push(("location", "http://127.0.0.1:1/".into()));
    assert!(matches!(send_with(r).await, Err(SendError::Unknown { .. })));
}

#[tokio::test]
async fn slow_answer_beyond_timeout_is_unknown() {
    let (client, seen) = fake_twilio(Duration::from_millis(300), |_, _| {
        let mut r = reply(201, CREATED);
        r.delay = Duration::from_secs(3);
        r
    })
    .await;
    let started = std::time::Instant::now();
    match client.send(&sms()).await {
        Err(SendError::Unknown { message }) => assert!(message.contains("in time"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(seen.lock().unwrap().len(), 1, "the request did reach the server");
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = TwilioConfig::new(SID, TOKEN);
    config.api_base = format!("http://127.0.0.1:{port}");
    config.timeout = Duration::from_secs(2);
    let client = TwilioClient::new(config).unwrap();
    match client.send(&sms()).await {
        Err(SendError::Transient { code, message, .. }) => {
            assert_eq!(code, None);
            assert!(message.contains("could not connect"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

fn page(messages: &[serde_json::Value], next: Option<&str>) -> String {
    serde_json::json!({
        "messages": messages, "next_page_uri": next, "page": 0, "page_size": 50,
        "first_page_uri": "/x", "previous_page_uri": null, "uri": "/x", "start": 0, "end": messages.len()
    })
    .to_string()
}

fn listed(sid: &str, body: &str, created: chrono::DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "sid": sid, "body": body, "to": "+12125550199", "from": "+14155550100", "status": "delivered",
        "num_segments": "1", "date_created": created.to_rfc2822(),
    })
}

#[tokio::test]
async fn lookup_finds_our_message_across_pages() {
    let out = sms();
    let since = Utc::now() - chrono::Duration::minutes(10);
    let body = out.body.clone();
    let (client, seen) = fake_twilio(Duration::from_secs(5), move |_, n| {
        if n == 0 {
            let older = listed("SMold", &body, since - chrono::Duration::hours(3));
            let other = listed("SMother", "something else", since);
            reply(
                200,
                &page(
                    &[other, older],
                    Some(&format!("/2010-04-01/Accounts/{SID}/Messages.json?PageSize=50&Page=1&PageToken=PA1")),
                ),
            )
        } else {
            reply(200, &page(&[listed("SMours", &body, since + chrono::Duration::seconds(2))], None))
        }
    })
    .await;
    match client.lookup(&out, since).await.unwrap() {
        Lookup::Found(a) => {
            assert_eq!(a.provider_message_id, "SMours");
            assert_eq!(a.status, MessageStatus::Delivered);
            assert_eq!(a.segments, Some(1));
        }
        other => panic!("{other:?}"),
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let first = &seen[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(first.authorization.as_deref(), Some(expected_auth().as_str()));
    let q = |k: &str| first.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(q("To").as_deref(), Some("+12125550199"));
    assert_eq!(q("From").as_deref(), Some("+14155550100"));
    assert_eq!(q("PageSize").as_deref(), Some("50"));
    let after = (since - chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(q("DateSent>"), Some(after));
    assert_eq!(seen[1].query.iter().find(|(k, _)| k == "PageToken").map(|(_, v)| v.as_str()), Some("PA1"));
}

#[tokio::test]
async fn lookup_not_found_and_errors() {
    let out = sms();
    let since = Utc::now();
    let (client, _) = fake_twilio(Duration::from_secs(5), move |_, _| {
        reply(200, &page(&[listed("SMx", "another text", since), listed("SMy", "Your appointment", since)], None))
    })
    .await;
    assert_eq!(client.lookup(&out, since).await.unwrap(), Lookup::NotFound);

    // Through a Messaging Service the pool picks the sender: no From filter.
    let (client, seen) = fake_twilio(Duration::from_secs(5), |_, _| reply(200, &page(&[], None))).await;
    let mut via_service = sms();
    via_service.messaging_service_sid = Some("MG0123456789abcdef0123456789abcdef".into());
    assert_eq!(client.lookup(&via_service, since).await.unwrap(), Lookup::NotFound);
    assert!(!seen.lock().unwrap()[0].query.iter().any(|(k, _)| k == "From"));

    let (client, _) = fake_twilio(Duration::from_secs(5), |_, _| reply(503, "")).await;
    assert!(matches!(client.lookup(&out, since).await, Err(SendError::Transient { .. })));
    // A next page on another host is never followed (our credentials would go with it).
    let (client, seen) =
        fake_twilio(Duration::from_secs(5), |_, _| reply(200, &page(&[], Some("//evil.example/x")))).await;
    assert_eq!(client.lookup(&out, since).await.unwrap(), Lookup::NotFound);
    assert_eq!(seen.lock().unwrap().len(), 1);
}
