//! Referrals end to end: imports (CSV with good and bad rows, FHIR ServiceRequest + Patient,
//! one by the API), the outreach text sent once by the scheduler's tick, deferred while it is
//! night for the patient, the patient's reply, the one follow-up after the delay.

use chrono::{DateTime, Duration, Utc};
use frontdesk_domain::front_door::ConversationSource;
use frontdesk_domain::referrals::{Referral, ReferralStatus};
use frontdesk_domain::{is_quiet_time, next_allowed_time, parse_time_zone};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::TestApp;

const ZONES: &[&str] = &[
    "Pacific/Kiritimati",
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/London",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Honolulu",
];

/// A zone where it is (and stays for the next half hour) night, or day, for the patient.
fn zone(night: bool) -> &'static str {
    let now = Utc::now();
    ZONES
        .iter()
        .copied()
        .find(|z| {
            let tz = parse_time_zone(z).unwrap();
            is_quiet_time(tz, now) == night && is_quiet_time(tz, now + Duration::minutes(30)) == night
        })
        .expect("some zone is in the wanted part of the day")
}

async fn import(app: &TestApp, query: &str, body: &str, content_type: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/referrals/import{query}")))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn referral(app: &TestApp, id: &str) -> Referral {
    app.services.store.referral_by_id(id.parse::<Uuid>().unwrap()).await.unwrap().expect("the referral is stored")
}

/// The outbound texts of the referral's conversation.
async fn outbound(app: &TestApp, r: &Referral) -> Vec<String> {
    let Some(c) = r.conversation_id else { return Vec::new() };
    let (status, body) = app.api_get(&format!("/api/v1/conversations/{c}")).await;
    assert_eq!(status, 200, "{body}");
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

fn line_id(report: &Value, line: u64) -> String {
    report["referrals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["line"] == line)
        .and_then(|o| o["referral_id"].as_str())
        .unwrap_or_else(|| panic!("line {line} was imported: {report}"))
        .to_owned()
}

#[tokio::test]
async fn csv_import_outreach_reply_quiet_hours_and_follow_up() {
    let app = TestApp::start().await;
    let (day, night) = (zone(false), zone(true));
    let csv = format!(
        "first_name,last_name,dob,phone,time_zone,source,reason\n\
         Ana,Lima,1980-02-03,+14155550111,{day},Valley Cardiology,Cardiology consult\n\
         Ben,,1990-01-01,+14155550122,{day},Valley Cardiology,Knee\n\
         Cleo,Park,1975-05-06,+14155550133,{night},,Dermatology\n\
         Dan,Ruiz,1970-07-08,+14155550144,{night},Hillside Clinic,Back pain\n"
    );

    // A dry run reports and writes nothing.
    let (status, report) = import(&app, "?dry_run=true", &csv, "text/csv").await;
    assert_eq!((status, report["created"].as_u64()), (200, Some(2)), "{report}");
    assert!(app.services.store.referrals().await.unwrap().is_empty());

    // Bad rows are named with their line and reason; good rows are kept.
    let (status, report) = import(&app, "", &csv, "text/csv").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["patients_created"], 2, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{report}");
    assert_eq!(rejected[0]["line"], 3);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("last_name"), "{report}");
    assert_eq!(rejected[1]["line"], 4);
    assert!(rejected[1]["reason"].as_str().unwrap().contains("source"), "{report}");
    let (ana, dan) = (line_id(&report, 2), line_id(&report, 5));
    let stored = referral(&app, &ana).await;
    assert_eq!(stored.details.source, "Valley Cardiology");
    assert_eq!(stored.details.reason, "Cardiology consult");

    // Daytime for Ana: the scheduler texts her within a tick, once.
    let contacted = app
        .eventually("Ana's outreach", || async {
            let r = referral(&app, &ana).await;
            (r.status == ReferralStatus::Contacted).then_some(r)
        })
        .await;
    assert!(contacted.first_contact_at.is_some());
    let texts = outbound(&app, &contacted).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("Hello Ana,") && texts[0].contains("STOP"), "{texts:?}");
    app.services.referral_tick(Utc::now()).await.unwrap();
    assert_eq!(outbound(&app, &contacted).await.len(), 1, "sent once");

    // Her reply moves the referral to replied.
    let r = app.inbound("SM00000000000000000000000000referral", "+14155550111", "Yes, Tuesday works").await;
    assert_eq!(r.status().as_u16(), 200);
    let replied = referral(&app, &ana).await;
    assert_eq!(replied.status, ReferralStatus::Replied);
    assert_eq!(replied.next_action_at, None, "no follow-up after a reply");
    let history: Vec<ReferralStatus> =
        app.services.store.referral_events(replied.id).await.unwrap().iter().map(|e| e.status).collect();
    assert_eq!(history, [ReferralStatus::New, ReferralStatus::Contacted, ReferralStatus::Replied]);

    // The funnel in reports: statuses reached today.
    let (status, report) = app.api_get("/api/v1/reports?days=7").await;
    assert_eq!(status, 200, "{report}");
    let funnel = &report["current"]["referral_funnel"];
    assert_eq!(
        (&funnel["new"], &funnel["contacted"], &funnel["replied"], &funnel["scheduled"], &funnel["closed"]),
        (&json!(2), &json!(1), &json!(1), &json!(0), &json!(0)),
        "{report}"
    );

    // Night for Dan: deferred to 08:00 his time, not dropped.
    let now = Utc::now();
    app.services.referral_tick(now).await.unwrap();
    let waiting = referral(&app, &dan).await;
    assert_eq!(waiting.status, ReferralStatus::New);
    let morning = next_allowed_time(parse_time_zone(night).unwrap(), now);
    assert_eq!(waiting.next_action_at, Some(morning));
    assert!(outbound(&app, &waiting).await.is_empty());

    // In his morning, one text; a second tick sends nothing more.
    let at: DateTime<Utc> = morning + Duration::hours(1);
    app.services.referral_tick(at).await.unwrap();
    app.services.referral_tick(at + Duration::minutes(1)).await.unwrap();
    let contacted = referral(&app, &dan).await;
    assert_eq!(contacted.status, ReferralStatus::Contacted);
    assert_eq!(contacted.first_contact_at, Some(at));
    assert_eq!(outbound(&app, &contacted).await.len(), 1);

    // No reply: one follow-up after 48 hours, never a second.
    app.services.referral_tick(at + Duration::hours(47)).await.unwrap();
    assert_eq!(outbound(&app, &contacted).await.len(), 1, "not before the delay");
    app.services.referral_tick(at + Duration::hours(49)).await.unwrap();
    app.services.referral_tick(at + Duration::hours(50)).await.unwrap();
    let followed = referral(&app, &dan).await;
    assert_eq!(followed.followups, 1);
    let texts = outbound(&app, &followed).await;
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].contains("again"), "{texts:?}");

    // The referral's conversation is recorded as begun by a referral.
    let origin = app.services.store.conversation_origin(followed.conversation_id.unwrap()).await.unwrap();
    assert_eq!(origin.map(|(s, _)| s), Some(ConversationSource::Referral));
}

#[tokio::test]
async fn fhir_bundle_and_one_by_api() {
    let app = TestApp::start().await;
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1",
                "name": [{"family": "Okafor", "given": ["Ify"]}], "birthDate": "1988-04-05",
                "telecom": [{"system": "phone", "value": "+14155550155", "use": "mobile"}]}},
            {"resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                "subject": {"reference": "urn:uuid:p1"}, "requester": {"display": "Bayview Pediatrics"},
                "reasonCode": [{"text": "Asthma review"}]}},
            {"resource": {"resourceType": "ServiceRequest", "subject": {"reference": "Patient/nope"},
                "requester": {"display": "Bayview Pediatrics"}}}
        ]
    });
    let (status, report) = import(&app, "", &bundle.to_string(), "application/fhir+json").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["format"].as_str(), report["created"].as_u64()), (Some("fhir"), Some(1)), "{report}");
    assert_eq!(report["rejected"][0]["line"], 3, "{report}");
    assert!(report["rejected"][0]["reason"].as_str().unwrap().contains("Patient/nope"), "{report}");
    let r = referral(&app, &line_id(&report, 2)).await;
    assert_eq!(r.details.source, "Bayview Pediatrics");
    assert_eq!(r.details.reason, "Asthma review");

    // Invalid FHIR: the whole file is refused, naming the file.
    let (status, body) = import(&app, "", r#"{"resourceType":"Observation"}"#, "application/json").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("file")), "{body}");

    // One referral: the same patient (matched by phone and first name) gets a second referral.
    let (status, body) = app
        .api_post(
            "/api/v1/referrals",
            json!({"first_name": "Ify", "last_name": "Okafor", "phone": "+14155550155", "source": "Eastside Ortho"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["patient_id"].as_str(), Some(r.patient_id.to_string().as_str()), "{body}");
    assert_eq!(body["status"], "new");
    let (status, body) = app
        .api_post("/api/v1/referrals", json!({"first_name": "Al", "last_name": "Bo", "phone": "12", "source": "X"}))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("phone")), "{body}");
    let (status, body) = app
        .api_post(
            "/api/v1/referrals",
            json!({"first_name": "Al", "last_name": "Bo", "phone": "+14155550166", "source": ""}),
        )
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("source")), "{body}");

    let (_, doc) = app.api_get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/referrals"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/referrals/import"]["post"].is_object());
}

mod dashboard {
    use frontdesk_domain::model::Role;
    use frontdesk_services::audit::Actor;
    use frontdesk_services::referrals::NewReferral;

    use crate::authz::{Browser, Site};

    const PASSWORD: &str = "correct horse battery staple";

    async fn get(site: &Site, b: &Browser, path: &str) -> (u16, String) {
        let r = site.http.get(site.url(path)).header("cookie", &b.cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(site: &Site, b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &b.csrf)];
        form.extend_from_slice(fields);
        let r = site.http.post(site.url(path)).header("cookie", &b.cookie).form(&form).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    #[tokio::test]
    async fn staff_see_the_pipeline_schedule_and_close_auditors_only_read() {
        let site = Site::start().await;
        for (email, role) in [("front@clinic.test", Role::Staff), ("audit@clinic.test", Role::Auditor)] {
            site.services.create_user(email, "Pat Person", role, PASSWORD, Actor::System).await.unwrap();
        }
        let staff = site.session("front@clinic.test").await;
        let auditor = site.session("audit@clinic.test").await;
        let mut ids = Vec::new();
        for (first, source) in [("Uma", "Valley Cardiology"), ("Vic", "Hillside Clinic")] {
            let v = site
                .services
                .create_referral(
                    &NewReferral {
                        first_name: first.into(),
                        last_name: "Stone".into(),
                        phone: if first == "Uma" { "+14155550188".into() } else { "+14155550199".into() },
                        source: source.into(),
                        reason: Some("Consult".into()),
                        ..Default::default()
                    },
                    Actor::System,
                    None,
                )
                .await
                .unwrap();
            ids.push(v.referral.id);
        }

        let (status, page) = get(&site, &staff, "/referrals?source=Hillside+Clinic").await;
        assert_eq!(status, 200);
        assert!(page.contains("Vic Stone") && !page.contains("Uma Stone"), "filtered by source: {page}");
        assert!(page.contains("New: <strong>2</strong>"), "{page}");
        assert!(page.contains(r#"href="/referrals""#), "nav link");

        // Scheduling is audited and shown; closing needs a reason.
        let path = format!("/referrals/{}/status", ids[0]);
        let (status, _) = post(&site, &staff, &path, &[("status", "scheduled")]).await;
        assert_eq!(status, 303);
        let (_, page) = get(&site, &staff, &format!("/referrals/{}", ids[0])).await;
        assert!(page.contains(r#"<dd id="referral-status">Scheduled</dd>"#), "{page}");
        let (status, page) =
            post(&site, &staff, &format!("/referrals/{}/status", ids[1]), &[("status", "closed")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("close_reason"), "{page}");
        let (status, _) = post(
            &site,
            &staff,
            &format!("/referrals/{}/status", ids[1]),
            &[("status", "closed"), ("close_reason", "other"), ("note", "Moved out of state")],
        )
        .await;
        assert_eq!(status, 303);
        let audits = site.services.store.list_audit(500).await.unwrap();
        assert_eq!(audits.iter().filter(|a| a.action == "referral.status").count(), 2);

        // Conversion per source: Valley 1 of 1 scheduled.
        let (_, page) = get(&site, &staff, "/referrals").await;
        assert!(page.contains("<td>Valley Cardiology</td><td>1</td><td>1</td><td>100%</td>"), "{page}");

        // Auditors read, never change.
        let (status, page) = get(&site, &auditor, &format!("/referrals/{}", ids[0])).await;
        assert_eq!(status, 200);
        assert!(!page.contains("Close the referral"), "{page}");
        let (status, _) =
            post(&site, &auditor, &format!("/referrals/{}/status", ids[0]), &[("status", "closed")]).await;
        assert_eq!(status, 403);
    }
}
