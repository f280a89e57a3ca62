use std::time::Duration;

use serde_json::json;

use crate::support::*;

const PATIENT: &str = "+12127365001";

async fn conversation_with_patient(app: &TestApp) -> String {
    let r = app.inbound("SM10000000000000000000000000000001", PATIENT, "hello").await;
    assert_eq!(r.status(), 200);
    app.conversations().await[0]["id"].as_str().unwrap().to_string()
}

async fn reply(app: &TestApp, conversation: &str, body: &str) -> serde_json::Value {
    let (status, message) =
        app.api_post(&format!("/api/v1/conversations/{conversation}/messages"), json!({ "body": body })).await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(message["status"], "queued");
    message
}

#[tokio::test]
async fn a_reply_goes_to_twilio_with_a_status_callback_and_statuses_only_move_forward() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let message = reply(&app, &conversation, "Your appointment is at 3 PM.").await;
    let id = message["id"].as_str().unwrap();
    let sent = app.wait_status(id, "sent").await;
    let sid = sent["provider_message_id"].as_str().unwrap().to_string();
    assert!(sid.starts_with("SM"));

    let requests = app.twilio.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.path, format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"));
    assert_eq!(req.field("To"), Some(PATIENT));
    assert_eq!(req.field("From"), Some(PRACTICE));
    assert_eq!(req.field("Body"), Some("Your appointment is at 3 PM."));
    let callback = req.field("StatusCallback").unwrap();
    assert_eq!(callback, format!("{}/webhooks/twilio/status?m={id}", app.base));
    assert!(req.authorization.as_deref().unwrap().starts_with("Basic "));

    let status_path = format!("/webhooks/twilio/status?m={id}");
    let delivered = [("MessageSid", sid.as_str()), ("MessageStatus", "delivered"), ("AccountSid", ACCOUNT_SID)];
    assert_eq!(app.twilio_post(&status_path, &delivered).await.status(), 200);
    app.wait_status(id, "delivered").await;
    // Late and repeated callbacks change nothing.
    let late = [("MessageSid", sid.as_str()), ("MessageStatus", "sent"), ("AccountSid", ACCOUNT_SID)];
    assert_eq!(app.twilio_post(&status_path, &late).await.status(), 200);
    assert_eq!(app.twilio_post(&status_path, &delivered).await.status(), 200);
    let undelivered = [("MessageSid", sid.as_str()), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")];
    assert_eq!(app.twilio_post(&status_path, &undelivered).await.status(), 200);
    let m = app.message(id).await;
    assert_eq!(m["status"], "delivered");
    assert!(m["error_code"].is_null());
    // A forged status callback is refused.
    let forged = app
        .http
        .post(app.url(&status_path))
        .header("X-Twilio-Signature", "AAAA")
        .form(&[("MessageSid", sid.as_str()), ("MessageStatus", "failed")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn an_undelivered_callback_records_the_code_and_a_plain_explanation() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    let id = reply(&app, &conversation, "Hello").await["id"].as_str().unwrap().to_string();
    let sid = app.wait_status(&id, "sent").await["provider_message_id"].as_str().unwrap().to_string();
    // Without our id in the URL, the provider id alone finds the message.
    let r = app
        .twilio_post(
            "/webhooks/twilio/status",
            &[("MessageSid", &sid), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let m = app.wait_status(&id, "undelivered").await;
    assert_eq!(m["error_code"], "30003");
    assert!(m["error_message"].as_str().unwrap().len() > 20, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn rate_limited_and_server_errors_are_retried_until_sent_once() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    app.twilio.push(Reply::TooManyRequests { retry_after_secs: 0 });
    app.twilio.push(Reply::Status(503, json!({"code": 20500, "message": "Service Unavailable", "status": 503})));
    app.twilio.push(Reply::Status(500, json!({"status": 500, "title": "Internal", "detail": "boom", "code": 20500, "type": "https://www.twilio.com/docs/errors/20500"})));
    let id = reply(&app, &conversation, "Retry me").await["id"].as_str().unwrap().to_string();
    app.wait_status(&id, "sent").await;
    assert_eq!(app.twilio.requests().len(), 4);
    assert_eq!(app.twilio.accepted_count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_21610_answer_fails_the_message_opts_the_contact_out_and_is_not_retried() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    app.twilio.push(Reply::Status(400, json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400})));
    let id = reply(&app, &conversation, "Are you there?").await["id"].as_str().unwrap().to_string();
    let m = app.wait_status(&id, "failed").await;
    assert_eq!(m["error_code"], "21610");
    assert!(
        m["error_message"].as_str().unwrap().to_lowercase().contains("opted out")
            || m["error_message"].as_str().unwrap().to_lowercase().contains("start"),
        "{m}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.twilio.requests().len(), 1, "21610 is never retried");
    let (status, body) =
        app.api_post(&format!("/api/v1/conversations/{conversation}/messages"), json!({ "body": "again" })).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "opted_out");
    app.stop().await;
}

#[tokio::test]
async fn a_permanent_error_fails_once_with_the_reason() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    app.twilio.push(Reply::Status(400, json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})));
    let id = reply(&app, &conversation, "x").await["id"].as_str().unwrap().to_string();
    let m = app.wait_status(&id, "failed").await;
    assert_eq!(m["error_code"], "21211");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.twilio.requests().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_with_twilio_instead_of_sent_twice() {
    let app = TestApp::start_with(Options { twilio_timeout_secs: 1, ..Options::default() }).await;
    let conversation = conversation_with_patient(&app).await;
    app.twilio.push(Reply::SlowAccept(Duration::from_secs(3)));
    let id = reply(&app, &conversation, "Only once, please").await["id"].as_str().unwrap().to_string();
    let m = app.wait_status(&id, "sent").await;
    assert_eq!(app.twilio.accepted_count(), 1, "the message was accepted exactly once");
    assert_eq!(app.twilio.requests().len(), 1, "no second Create Message call");
    assert!(app.twilio.lookups() >= 1);
    let accepted_sid = app.twilio.state.accepted.lock().unwrap()[0].0.clone();
    assert_eq!(m["provider_message_id"], accepted_sid);
    app.stop().await;
}

#[tokio::test]
async fn endless_server_errors_end_as_a_failure_after_the_last_attempt() {
    let app = TestApp::start().await;
    let conversation = conversation_with_patient(&app).await;
    for _ in 0..4 {
        app.twilio.push(Reply::Status(502, json!({"message": "bad gateway"})));
    }
    let id = reply(&app, &conversation, "x").await["id"].as_str().unwrap().to_string();
    let m = app.wait_status(&id, "failed").await;
    assert_eq!(m["error_code"], "retries_exhausted");
    assert_eq!(app.twilio.requests().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn starting_a_conversation_texts_a_new_number() {
    let app = TestApp::start().await;
    let (status, message) =
        app.api_post("/api/v1/messages", json!({"to": "(212) 736-5002", "body": "Hello from the clinic", "consent_basis": "verbal", "consent_note": "by phone"})).await;
    assert_eq!(status, 201, "{message}");
    let id = message["id"].as_str().unwrap();
    app.wait_status(id, "sent").await;
    assert_eq!(app.twilio.requests()[0].field("To"), Some("+12127365002"));
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["contact"]["phone"], "+12127365002");
    app.stop().await;
}
