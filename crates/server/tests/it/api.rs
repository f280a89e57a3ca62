use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_api_route_requires_a_valid_token() {
    let app = TestApp::start().await;
    for path in ["/api/v1/conversations", "/api/v1/patients", "/api/v1/events"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
        let r = app.http.get(app.url(path)).bearer_auth("fd_not-a-real-token").send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = app
        .http
        .post(app.url("/api/v1/messages"))
        .json(&json!({"to": "+12127365000", "body": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors_naming_the_problem() {
    let app = TestApp::start().await;
    let (status, body) = app.api_post("/api/v1/messages", json!({"to": "+12127365000", "body": "   "})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "body");
    let (status, body) = app.api_post("/api/v1/messages", json!({"to": "12", "body": "hi"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("to")));
    let (status, body) = app.api_post("/api/v1/messages", json!({"body": "hi"})).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("to"), "{body}");
    let (status, _) =
        app.api_post("/api/v1/messages", json!({"to": "+12127365000", "body": "hi", "colour": "red"})).await;
    assert_eq!(status, 422);
    let long = "a".repeat(1601);
    let (status, body) = app.api_post("/api/v1/messages", json!({"to": "+12127365000", "body": long})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("body")));
    let r = app
        .http
        .post(app.url("/api/v1/messages"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, body) = app.api_get("/api/v1/conversations/00000000-0000-0000-0000-000000000000").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app.api_get("/api/v1/conversations/not-a-uuid").await;
    assert_eq!(status, 404);
    let (status, body) = app.api_get("/api/v1/conversations?status=sleeping").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("status")));
    let (status, _) = app.api_get("/api/v1/conversations?limit=0").await;
    assert_eq!(status, 422);
    let (status, body) =
        app.api_post("/api/v1/conversations/00000000-0000-0000-0000-000000000000/messages", json!({"body": "x"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app.api_get("/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn patients_are_created_listed_and_read_back() {
    let app = TestApp::start().await;
    let (status, created) = app
        .api_post("/api/v1/patients", json!({"first_name": "Ana", "last_name": "Lima", "birth_date": "1984-07-31", "mrn": "MRN-001", "phone": "(212) 736-5020"}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["phone"], "+12127365020");
    assert_eq!(created["status"], "patient");
    let (status, got) = app.api_get(&format!("/api/v1/patients/{}", created["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(got, created);
    let (_, list) = app.api_get("/api/v1/patients").await;
    assert_eq!(list["patients"].as_array().unwrap().len(), 1);
    for (body, field) in [
        (json!({"first_name": "", "last_name": "X"}), "first_name"),
        (json!({"first_name": "A", "last_name": "X", "birth_date": "31/07/1984"}), "birth_date"),
        (json!({"first_name": "A", "last_name": "X", "birth_date": "2999-01-01"}), "birth_date"),
        (json!({"first_name": "A", "last_name": "X", "phone": "call me"}), "phone"),
        (json!({"first_name": "A", "last_name": "X", "status": "vip"}), "status"),
    ] {
        let (status, err) = app.api_post("/api/v1/patients", body).await;
        assert_eq!((status, err["error"]["field"].as_str()), (422, Some(field)), "{err}");
    }
    let (_, list) = app.api_get("/api/v1/patients").await;
    assert_eq!(list["patients"].as_array().unwrap().len(), 1, "rejected patients were not stored");
    app.stop().await;
}

#[tokio::test]
async fn conversations_page_newest_first() {
    let app = TestApp::start().await;
    for i in 0..5 {
        let sid = format!("SM3000000000000000000000000000000{i}");
        app.inbound(&sid, &format!("+1212736503{i}"), "hi").await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (_, first) = app.api_get("/api/v1/conversations?limit=3").await;
    let page = first["conversations"].as_array().unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[0]["contact"]["phone"], "+12127365034");
    let before = first["next_before"].as_str().unwrap();
    let (_, second) = app.api_get(&format!("/api/v1/conversations?limit=3&before={}", urlencode(before))).await;
    let page2 = second["conversations"].as_array().unwrap();
    assert_eq!(page2.len(), 2);
    assert_eq!(page2[1]["contact"]["phone"], "+12127365030");
    assert!(second["next_before"].is_null());
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn the_event_stream_announces_new_messages_without_patient_data() {
    let app = TestApp::start().await;
    let response = app.http.get(app.url("/api/v1/events")).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = response.bytes_stream();
    app.inbound("SM40000000000000000000000000000001", "+12127365040", "secret words").await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("message_received") {
        let chunk =
            tokio::time::timeout_at(deadline, stream.next()).await.expect("an event within 10 s").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message_received"));
    assert!(seen.contains("conversation_id"));
    assert!(!seen.contains("secret words") && !seen.contains("7365040"), "events carry ids only: {seen}");
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let app = TestApp::start().await;
    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/conversations",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/messages",
        "/api/v1/patients",
        "/api/v1/events",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    app.stop().await;
}
