//! Reports through the real app: inbound texts and replies (API and dashboard), then
//! `/api/v1/reports`, `/reports` and its CSV agree on the counts and first-response figures;
//! staff are refused; a bad period is a 400 naming the field.

use frontdesk_domain::model::{ProviderKind, Role};
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use frontdesk_services::reports::Period;
use serde_json::json;

use crate::authz::Site;
use crate::support::{PRACTICE, TestApp};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn api_report_counts_texts_and_first_responses() {
    let app = TestApp::start().await;
    assert_eq!(
        app.inbound("SM00000000000000000000000000000a01", "+12127365051", "Can I get a refill?").await.status(),
        200
    );
    assert_eq!(
        app.inbound("SM00000000000000000000000000000a02", "+12127365052", "What time do you open?").await.status(),
        200
    );
    let conversations = app.conversations().await;
    assert_eq!(conversations.len(), 2);
    let first = conversations
        .iter()
        .find(|c| c["contact"]["phone"] == "+12127365051")
        .expect("the first patient's conversation")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) =
        app.api_post(&format!("/api/v1/conversations/{first}/messages"), json!({"body": "Yes, it is ready."})).await;
    assert_eq!(status, 201);

    let (status, report) = app.api_get("/api/v1/reports?days=7").await;
    assert_eq!(status, 200, "{report}");
    let current = &report["current"];
    assert_eq!(current["messages_in"], 2);
    assert_eq!(current["messages_out"], 1);
    assert_eq!(current["started_total"], 2);
    assert_eq!(current["started"]["patient_text"], 2);
    assert_eq!(current["started"]["staff_outreach"], 0);
    assert_eq!(current["first_response"]["count"], 1);
    assert_eq!(current["first_response"]["buckets"][0], 1, "answered within 5 minutes");
    let median = current["first_response"]["median_secs"].as_i64().unwrap();
    assert!((0..=60).contains(&median), "{median}");
    assert_eq!(report["days"].as_array().unwrap().len(), 7);
    assert_eq!(report["days"][6]["messages_in"], 2, "today is the last day");
    assert_eq!(report["previous"]["messages_in"], 0);
    assert_eq!(current["contacts_texted"], 1);

    // The same with a cut by number: one row, the practice number.
    let (status, by_number) = app.api_get("/api/v1/reports?days=7&cut=number").await;
    assert_eq!(status, 200);
    assert_eq!(by_number["cuts"].as_array().unwrap().len(), 1);
    assert_eq!(by_number["cuts"][0]["label"], PRACTICE);
    assert_eq!(by_number["cuts"][0]["summary"]["messages_in"], 2);

    // Bad periods and cuts: 400 naming the field.
    for (query, field) in [
        ("from=2026-01-10&to=2026-01-01", "to"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=2026-01-01", "to"),
        ("days=8", "days"),
        ("days=7&cut=location", "cut"),
    ] {
        let (status, body) = app.api_get(&format!("/api/v1/reports?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    let (_, doc) = app.api_get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/reports"]["get"].is_object(), "the report is in the OpenAPI document");
    app.stop().await;
}

async fn get(site: &Site, cookie: &str, path: &str) -> (u16, String, String) {
    let r = site.http.get(site.url(path)).header("cookie", cookie).send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, kind, r.text().await.unwrap())
}

/// The CSV line whose first cell is `label` (quoted when it has a comma).
fn csv_line<'a>(csv: &'a str, label: &str) -> Vec<&'a str> {
    let quoted = format!("\"{label}\",");
    let plain = format!("{label},");
    let line = csv
        .lines()
        .find(|l| l.starts_with(&quoted) || l.starts_with(&plain))
        .unwrap_or_else(|| panic!("no line {label:?} in\n{csv}"));
    let rest = line.strip_prefix(&quoted).or_else(|| line.strip_prefix(&plain)).unwrap();
    rest.split(',').collect()
}

#[tokio::test]
async fn reports_page_and_csv_agree_and_staff_are_refused() {
    let site = Site::start().await;
    let services = site.services.clone();
    let number = NewNumber {
        e164: PRACTICE.into(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        rate_limit_per_sec: Some(200.0),
    };
    services.add_number(number, Actor::System).await.unwrap();
    services.create_user("sam@clinic.test", "Sam Staff", Role::Staff, PASSWORD, Actor::System).await.unwrap();
    services.create_user("audrey@clinic.test", "Audrey Auditor", Role::Auditor, PASSWORD, Actor::System).await.unwrap();
    let staff = site.session("sam@clinic.test").await;
    let auditor = site.session("audrey@clinic.test").await;
    let (admin, _) = site.enrolled_admin("ada@clinic.test").await;

    // A patient texts; staff answer from the dashboard.
    site.inbound_from("SM00000000000000000000000000000b01", "+12127365061", "Is my form ready?").await;
    let contact = services
        .store
        .contact_by_phone(&frontdesk_domain::E164::parse_strict("+12127365061").unwrap())
        .await
        .unwrap()
        .unwrap();
    let conversation = services.store.contact_conversations(contact.id).await.unwrap()[0].conversation.id;
    let form = [("_csrf", staff.csrf.as_str()), ("body", "Yes, you can pick it up today.")];
    let r = site
        .http
        .post(site.url(&format!("/c/{conversation}/reply")))
        .header("cookie", &staff.cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());

    // What the service says the page must show.
    let today = services.report_today();
    let expected = services.practice_report(Period::last(7, today), None).await.unwrap();
    assert_eq!((expected.current.messages_in, expected.current.messages_out), (1, 1));
    assert_eq!(expected.current.first_response.count, 1);
    let median = expected.current.first_response.median_secs.unwrap();

    let (status, _, html) = get(&site, &admin.cookie, "/reports?days=7&cut=staff").await;
    assert_eq!(status, 200, "{html}");
    for chart in ["chart-volume", "chart-first-response", "chart-heat"] {
        assert!(html.contains(&format!("id=\"{chart}\" role=\"img\"")), "{chart}");
    }
    assert!(html.contains("<title id=\"chart-volume-title\">Texts per day</title>"));
    assert!(html.contains("<th scope=\"row\">Texts received</th><td class=\"num\">1</td>"), "{html}");
    assert!(html.contains("<th scope=\"row\">Sam Staff</th>"), "the staff cut names the person");
    assert!(
        html.contains("href=\"/reports.csv?table=summary&#38;days=7&#38;cut=staff\""),
        "CSV links keep the filters"
    );
    assert!(html.contains("href=\"/reports\" aria-current=\"page\">Reports</a>"), "in the navigation");

    let (status, kind, csv) = get(&site, &admin.cookie, "/reports.csv?table=summary&days=7").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    assert_eq!(csv_line(&csv, "Texts received")[0], "1");
    assert_eq!(csv_line(&csv, "Texts sent")[0], "1");
    assert_eq!(csv_line(&csv, "Conversations started")[0], "1");
    assert_eq!(csv_line(&csv, "First response, median (seconds)")[0], median.to_string());
    let (_, _, buckets) = get(&site, &admin.cookie, "/reports.csv?table=response_times&days=7").await;
    assert_eq!(csv_line(&buckets, "0–5 min")[0], "1");
    let (_, _, by_staff) = get(&site, &admin.cookie, "/reports.csv?table=cut&days=7&cut=staff").await;
    assert_eq!(csv_line(&by_staff, "Sam Staff")[2], "1", "texts sent by Sam");

    // Auditors read; staff do not.
    assert_eq!(get(&site, &auditor.cookie, "/reports").await.0, 200);
    assert_eq!(get(&site, &staff.cookie, "/reports").await.0, 403);
    assert_eq!(get(&site, &staff.cookie, "/reports.csv?table=summary").await.0, 403);
    let (_, _, inbox) = get(&site, &staff.cookie, "/").await;
    assert!(!inbox.contains("href=\"/reports\""), "no Reports link for staff");

    // Bad input: 400 naming the field.
    let (status, _, page) = get(&site, &admin.cookie, "/reports?from=2026-02-30&to=2026-03-01").await;
    assert_eq!(status, 400);
    assert!(page.contains("from: "), "{page}");
    assert!(page.contains("aria-invalid=\"true\""));
    let (status, _, text) = get(&site, &admin.cookie, "/reports.csv?table=nope&days=7").await;
    assert_eq!(status, 400);
    assert!(text.starts_with("table: "), "{text}");

    // Past days are stored once computed; a second report reads them.
    let stored = services.store.report_days(today - chrono::Duration::days(13), today).await.unwrap();
    assert_eq!(stored.len(), 13, "every past day of both periods, not today");

    // The scheduler's hook stores yesterday once it has settled (an hour after midnight).
    let yesterday = today - chrono::Duration::days(1);
    frontdesk_store::write(&*services.store, move |tx| {
        Box::pin(async move { tx.delete_report_days(yesterday, yesterday).await })
    })
    .await
    .unwrap();
    let tz = services.settings().time_zone;
    let settled = frontdesk_domain::reports::day_bounds(yesterday, tz).1 + frontdesk_services::reports::GRACE;
    let computed = services.precompute_reports().await.unwrap();
    let now = chrono::Utc::now();
    if now >= settled + chrono::Duration::seconds(5) {
        assert!(computed, "yesterday has settled");
        assert_eq!(services.store.report_days(yesterday, yesterday).await.unwrap().len(), 1);
        assert!(!services.precompute_reports().await.unwrap(), "stored once");
    } else if now < settled {
        assert!(!computed, "inside the grace hour nothing is stored");
    }
    site.stop().await;
}
