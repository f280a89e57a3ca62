use std::time::Duration;

use serde_json::json;

use crate::support::*;

const PATIENT: &str = "+12127365010";

/// Bodies of what was sent to Twilio, in order.
fn sent_bodies(app: &TestApp) -> Vec<String> {
    app.twilio.requests().iter().filter_map(|r| r.field("Body").map(str::to_string)).collect()
}

async fn wait_for_sends(app: &TestApp, n: usize) {
    app.eventually(&format!("{n} sends"), || async { (app.twilio.requests().len() >= n).then_some(()) }).await;
}

#[tokio::test]
async fn stop_opts_out_with_one_confirmation_and_start_restores() {
    let app = TestApp::start().await;
    assert_eq!(app.inbound("SM20000000000000000000000000000001", PATIENT, "  Stop! ").await.status(), 200);
    wait_for_sends(&app, 1).await;
    let bodies = sent_bodies(&app);
    assert!(bodies[0].contains("unsubscribed"), "{bodies:?}");
    let conversation = app.conversations().await[0].clone();
    assert_eq!(conversation["contact"]["opted_out"], true);

    // Nobody can text an opted-out contact, whoever asks.
    let id = conversation["id"].as_str().unwrap();
    let (status, body) = app.api_post(&format!("/api/v1/conversations/{id}/messages"), json!({"body": "hi"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("opted_out")));
    let (status, _) = app.api_post("/api/v1/messages", json!({"to": PATIENT, "body": "hi"})).await;
    assert_eq!(status, 409);

    // A second STOP sends no second confirmation.
    app.inbound("SM20000000000000000000000000000002", PATIENT, "UNSUBSCRIBE").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.twilio.requests().len(), 1);

    app.inbound("SM20000000000000000000000000000003", PATIENT, "start").await;
    wait_for_sends(&app, 2).await;
    assert!(sent_bodies(&app)[1].contains("subscribed again"));
    assert_eq!(app.conversations().await[0]["contact"]["opted_out"], false);
    let (status, _) =
        app.api_post(&format!("/api/v1/conversations/{id}/messages"), json!({"body": "welcome back"})).await;
    assert_eq!(status, 201);
    app.stop().await;
}

#[tokio::test]
async fn help_answers_with_the_practice_help_text() {
    let app = TestApp::start().await;
    app.inbound("SM20000000000000000000000000000004", PATIENT, "help").await;
    wait_for_sends(&app, 1).await;
    let body = &sent_bodies(&app)[0];
    assert!(body.contains("Frontdesk Demo Clinic") && body.contains("STOP"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn twilio_advanced_opt_out_is_recorded_without_a_second_confirmation() {
    let app = TestApp::start().await;
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[
                ("MessageSid", "SM20000000000000000000000000000005"),
                ("From", PATIENT),
                ("To", PRACTICE),
                ("Body", "STOP"),
                ("OptOutType", "STOP"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.conversations().await[0]["contact"]["opted_out"], true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(app.twilio.requests().is_empty(), "Twilio already confirmed; we send nothing");
    app.stop().await;
}

#[tokio::test]
async fn a_clear_free_text_revocation_is_honoured() {
    let app = TestApp::start().await;
    app.inbound("SM20000000000000000000000000000006", PATIENT, "Please stop texting me").await;
    wait_for_sends(&app, 1).await;
    assert_eq!(app.conversations().await[0]["contact"]["opted_out"], true);
    app.stop().await;
}

#[tokio::test]
async fn an_ordinary_message_mentioning_stop_changes_nothing() {
    let app = TestApp::start().await;
    app.inbound("SM20000000000000000000000000000007", PATIENT, "I'll stop by the office tomorrow").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.conversations().await[0]["contact"]["opted_out"], false);
    assert!(app.twilio.requests().is_empty());
    app.stop().await;
}
