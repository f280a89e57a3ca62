use crate::support::*;

const PATIENT: &str = "+12127365000";

#[tokio::test]
async fn a_signed_inbound_text_becomes_a_conversation_and_is_acknowledged_with_twiml() {
    let app = TestApp::start().await;
    let r = app
        .inbound("SM00000000000000000000000000000001", PATIENT, "Hi, can I move my appointment? <script>x</script>")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    assert_eq!(r.text().await.unwrap(), r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#);

    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1);
    let c = &conversations[0];
    assert_eq!(c["contact"]["phone"], PATIENT);
    assert_eq!(c["status"], "open");
    assert_eq!(c["unread_count"], 1);
    assert!(c["waiting_since"].is_string());
    let (status, detail) = app.api_get(&format!("/api/v1/conversations/{}", c["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], "Hi, can I move my appointment? <script>x</script>");
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["status"], "received");
    assert_eq!(messages[0]["provider_message_id"], "SM00000000000000000000000000000001");
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_webhook_is_acknowledged_and_stored_once() {
    let app = TestApp::start().await;
    for _ in 0..3 {
        let r = app.inbound("SM00000000000000000000000000000002", PATIENT, "same message").await;
        assert_eq!(r.status(), 200);
    }
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1);
    let (_, detail) = app.api_get(&format!("/api/v1/conversations/{}", conversations[0]["id"].as_str().unwrap())).await;
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1);
    assert_eq!(conversations[0]["unread_count"], 1);
    app.stop().await;
}

#[tokio::test]
async fn later_texts_join_the_open_conversation_with_media_kept() {
    let app = TestApp::start().await;
    app.inbound("SM00000000000000000000000000000003", PATIENT, "first").await;
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[
                ("MessageSid", "MM00000000000000000000000000000004"),
                ("From", PATIENT),
                ("To", PRACTICE),
                ("Body", ""),
                ("NumMedia", "2"),
                ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"),
                ("MediaContentType0", "image/jpeg"),
                ("MediaUrl1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2"),
                ("MediaContentType1", "image/png"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 1);
    let (_, detail) = app.api_get(&format!("/api/v1/conversations/{}", conversations[0]["id"].as_str().unwrap())).await;
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["body"], "first");
    let media = messages[1]["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["content_type"], "image/jpeg");
    assert_eq!(conversations[0]["unread_count"], 2);
    app.stop().await;
}

#[tokio::test]
async fn forged_unsigned_and_wrong_url_webhooks_get_403_and_store_nothing() {
    let app = TestApp::start().await;
    let body = "MessageSid=SM1&From=%2B12127365000&To=%2B12125550100&Body=hi".to_string();
    let unsigned = app
        .http
        .post(app.url("/webhooks/twilio/messages"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    let forged = app
        .http
        .post(app.url("/webhooks/twilio/messages"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Signed for another path: a replay against the wrong endpoint.
    let params = vec![
        ("MessageSid".to_string(), "SM5".to_string()),
        ("From".into(), PATIENT.into()),
        ("To".into(), PRACTICE.into()),
        ("Body".into(), "hi".into()),
    ];
    let sig = frontdesk_providers::twilio::signature::compute(
        AUTH_TOKEN,
        &app.url("/elsewhere"),
        &params,
        frontdesk_providers::twilio::signature::Algorithm::HmacSha1,
    );
    let replayed = app
        .http
        .post(app.url("/webhooks/twilio/messages"))
        .header("X-Twilio-Signature", sig)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&params).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), 403);
    assert!(app.conversations().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_hmac_sha256_variant_is_accepted() {
    let app = TestApp::start().await;
    let params: Vec<(String, String)> =
        [("MessageSid", "SM00000000000000000000000000000009"), ("From", PATIENT), ("To", PRACTICE), ("Body", "sha256")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let url = app.url("/webhooks/twilio/messages");
    let sig = frontdesk_providers::twilio::signature::compute(
        AUTH_TOKEN,
        &url,
        &params,
        frontdesk_providers::twilio::signature::Algorithm::HmacSha256,
    );
    let r = app
        .http
        .post(url)
        .header("X-Twilio-Signature", sig)
        .header("X-Twilio-Webhooks-Signature-Settings", "key=k1,algorithm=HMAC_SHA256")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&params).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.conversations().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn malformed_webhooks_get_400_naming_the_field_and_unknown_numbers_404() {
    let app = TestApp::start().await;
    let r =
        app.twilio_post("/webhooks/twilio/messages", &[("From", PATIENT), ("To", PRACTICE), ("Body", "no sid")]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("MessageSid"));
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[("MessageSid", "SM7"), ("From", "not a number"), ("To", PRACTICE), ("Body", "x")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("From"));
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[("MessageSid", "SM8"), ("From", PATIENT), ("To", "+13125550199"), ("Body", "x")],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(app.conversations().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_webhook_gets_413() {
    let app = TestApp::start().await;
    let huge = "x".repeat(70 * 1024);
    let r = app
        .twilio_post(
            "/webhooks/twilio/messages",
            &[("MessageSid", "SM9"), ("From", PATIENT), ("To", PRACTICE), ("Body", &huge)],
        )
        .await;
    assert_eq!(r.status(), 413);
    assert!(app.conversations().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn message_text_never_reaches_the_data_directory_in_plaintext() {
    let app = TestApp::start().await;
    let marker = "Zebra-quartz-7731 my insurance id";
    app.inbound("SM00000000000000000000000000000010", PATIENT, marker).await;
    let data_dir = app.stop().await;
    let mut files = 0;
    for entry in std::fs::read_dir(data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        // The -wal and -shm files may vanish as the last connection closes.
        let Ok(bytes) = std::fs::read(&path) else { continue };
        files += 1;
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{} holds the message text",
            path.display()
        );
    }
    assert!(files >= 2, "the database and the master key are in the data dir");
}
