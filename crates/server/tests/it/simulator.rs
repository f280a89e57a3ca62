use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_simulated_patient_texts_help_and_sees_the_reply_arrive_live() {
    let app = TestApp::start_with(Options { simulator: true, ..Options::default() }).await;
    let page = app.http.get(app.url("/simulator")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("+15550100100") && html.contains("/static/simulator.js"));

    let phone = "+12127365060";
    let events =
        app.http.get(app.url(&format!("/simulator/events?phone={}", phone.replace('+', "%2B")))).send().await.unwrap();
    assert_eq!(events.status(), 200);
    let mut stream = events.bytes_stream();

    let r =
        app.http.post(app.url("/simulator/send")).json(&json!({"from": phone, "body": "HELP"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let sent: serde_json::Value = r.json().await.unwrap();
    assert_eq!(sent["from"], phone);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("message_to_phone") && seen.contains("Reply STOP")) {
        let chunk =
            tokio::time::timeout_at(deadline, stream.next()).await.expect("the reply within 10 s").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // The conversation exists for staff, with the reply delivered.
    let conversation = app.conversations().await.into_iter().find(|c| c["contact"]["phone"] == phone).unwrap();
    let (_, detail) = app.api_get(&format!("/api/v1/conversations/{}", conversation["id"].as_str().unwrap())).await;
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let reply_id = messages[1]["id"].as_str().unwrap();
    app.wait_status(reply_id, "delivered").await;
    app.stop().await;
}

#[tokio::test]
async fn the_simulator_rejects_bad_input_and_cross_site_posts() {
    let app = TestApp::start_with(Options { simulator: true, ..Options::default() }).await;
    let r =
        app.http.post(app.url("/simulator/send")).json(&json!({"from": "nope", "body": "hi"})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .http
        .post(app.url("/simulator/send"))
        .json(&json!({"from": "+12127365061", "body": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .http
        .post(app.url("/simulator/send"))
        .header("Origin", "https://evil.example")
        .json(&json!({"from": "+12127365061", "body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app.conversations().await.is_empty());
    app.stop().await;
}
