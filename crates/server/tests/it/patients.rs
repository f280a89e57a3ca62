//! The patient directory: import through the API (CSV and FHIR), re-import updates.

use serde_json::Value;

use crate::support::TestApp;

async fn import(app: &TestApp, query: &str, body: &str, content_type: &str) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(&format!("/api/v1/patients/import{query}")))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn patients(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.api_get("/api/v1/patients?limit=200").await;
    assert_eq!(status, 200, "{body}");
    body["patients"].as_array().cloned().unwrap()
}

const CSV: &str = "Given,Family,DOB,MRN,Mobile,Favourite colour\n\
Ana,Lopez,1984-07-31,A-1,(415) 555-0101,red\n\
Bo,,1990-01-01,A-2,,blue\n\
Cy,Diaz,1990-13-01,A-3,,\n\
Di,Eve,2001-02-03,A-4,555,\n\
Ana,Lopez,1984-07-31,A-1,,\n\
Fay,Gold,07/04/1970,,+14155550106,\n";

#[tokio::test]
async fn csv_import_reports_bad_rows_stores_good_ones_and_reimport_updates() {
    let app = TestApp::start().await;

    // A dry run reports everything and writes nothing.
    let (status, dry) = import(&app, "?dry_run=true", CSV, "text/csv").await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!((dry["created"].as_u64(), dry["rows"].as_u64()), (Some(2), Some(6)), "{dry}");
    assert!(patients(&app).await.is_empty(), "a dry run writes nothing");

    let (status, report) = import(&app, "", CSV, "text/csv").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["format"], "csv");
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(report["ignored_columns"], serde_json::json!(["Favourite colour"]));
    let rejected: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rejected.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3, 4, 5, 6], "{rejected:?}");
    assert!(rejected[0].1.contains("last_name"), "{rejected:?}");
    assert!(rejected[1].1.contains("birth_date"), "{rejected:?}");
    assert!(rejected[2].1.contains("phone"), "{rejected:?}");
    assert!(rejected[3].1.contains("duplicate of line 2"), "{rejected:?}");

    let stored = patients(&app).await;
    assert_eq!(stored.len(), 2);
    let ana = stored.iter().find(|p| p["first_name"] == "Ana").unwrap();
    assert_eq!(ana["mrn"], "A-1");
    assert_eq!(ana["birth_date"], "1984-07-31");

    // The same people again, with new facts and a blank: updated, never duplicated, blanks
    // never erase, disagreements reported.
    let again = "first_name,last_name,birth_date,mrn,phone,language\n\
                 Ana,Lopez,,A-1,,es\n\
                 Fay,Gold,1970-07-04,F-9,,\n\
                 Gil,Hart,,,,\n";
    let (status, report) = import(&app, "", again, "text/csv").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1), Some(2)), "{report}");
    let outcomes = report["outcomes"].as_array().unwrap();
    assert_eq!(outcomes[0]["matched_by"], "mrn");
    assert_eq!(outcomes[1]["matched_by"], "name_and_birth_date");
    let stored = patients(&app).await;
    assert_eq!(stored.len(), 3, "re-import updates instead of duplicating");
    let ana = stored.iter().find(|p| p["first_name"] == "Ana").unwrap();
    assert_eq!(ana["birth_date"], "1984-07-31", "a blank never overwrites");
    let fay = stored.iter().find(|p| p["first_name"] == "Fay").unwrap();
    assert_eq!(fay["mrn"], "F-9", "an empty field is filled");

    let conflict = "first_name,last_name,birth_date,mrn\nAna,Lopez,1985-01-01,A-1\n";
    let (_, report) = import(&app, "", conflict, "text/csv").await;
    assert_eq!(report["unchanged"], 1, "{report}");
    let conflicts = report["outcomes"][0]["conflicts"].as_array().unwrap();
    assert!(conflicts[0].as_str().unwrap().starts_with("birth_date"), "{report}");
}

#[tokio::test]
async fn fhir_bundles_import_and_unusable_files_name_the_problem() {
    let app = TestApp::start().await;
    let bundle = serde_json::json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "identifier": [{"value": "Z-1"}],
                "name": [{"family": "Ng", "given": ["Kim"]}], "birthDate": "1977-03-04",
                "telecom": [{"system": "phone", "value": "+14155550177"}]}},
            {"resource": {"resourceType": "Patient", "name": [{"given": ["Nofamily"]}]}}
        ]
    });
    let (status, report) = import(&app, "", &bundle.to_string(), "application/fhir+json").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["format"].as_str(), report["created"].as_u64()), (Some("fhir"), Some(1)));
    assert_eq!(report["rejected"][0]["line"], 2);
    let stored = patients(&app).await;
    assert_eq!(stored[0]["phone"], "+14155550177");

    let (status, body) = import(&app, "", "{\"resourceType\": \"Observation\"}", "application/json").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("file")), "{body}");
    let (status, body) = import(&app, "?map=x%3Dshoe", "a,b\n1,2\n", "text/csv").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("map")), "{body}");
    let (status, body) = import(&app, "?map=a%3Dfirst_name,b%3Dlast_name", "a,b\nJo,Ko\n", "text/csv").await;
    assert_eq!((status, body["created"].as_u64()), (200, Some(1)), "{body}");
    let r = app.http.post(app.url("/api/v1/patients/import")).body("a,b\n").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (_, doc) = app.api_get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/patients/import"]["post"].is_object());
}

// ---- the dashboard's directory ---------------------------------------------------------------

mod dashboard {
    use frontdesk_domain::model::Role;
    use frontdesk_services::audit::Actor;

    use crate::authz::{Browser, Site};

    const PASSWORD: &str = "correct horse battery staple";

    async fn get(site: &Site, b: &Browser, path: &str) -> (u16, String) {
        let r = site.http.get(site.url(path)).header("cookie", &b.cookie).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(site: &Site, b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &b.csrf)];
        form.extend_from_slice(fields);
        let r = site.http.post(site.url(path)).header("cookie", &b.cookie).form(&form).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        (status, location, r.text().await.unwrap())
    }

    async fn audits(site: &Site, action: &str) -> usize {
        site.services.store.list_audit(500).await.unwrap().iter().filter(|a| a.action == action).count()
    }

    #[tokio::test]
    async fn staff_create_view_edit_and_see_families_auditors_only_read() {
        let site = Site::start().await;
        for (email, role) in [("front@clinic.test", Role::Staff), ("audit@clinic.test", Role::Auditor)] {
            site.services.create_user(email, "Pat Person", role, PASSWORD, Actor::System).await.unwrap();
        }
        let staff = site.session("front@clinic.test").await;
        let auditor = site.session("audit@clinic.test").await;

        // Errors name the field and keep what was typed.
        let (status, _, page) = post(
            &site,
            &staff,
            "/patients/new",
            &[("first_name", "Ana"), ("last_name", "Lopez"), ("phones", "+1 212 736 5050\nnot a phone")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("phones: &#34;not a phone&#34;") || page.contains("phones: \"not a phone\""), "{page}");
        assert!(page.contains(r#"id="phones" name="phones" rows="3" aria-invalid="true""#), "{page}");
        assert!(page.contains("value=\"Ana\""));
        let (status, _, page) = post(
            &site,
            &staff,
            "/patients/new",
            &[("first_name", "Ana"), ("last_name", "Lopez"), ("time_zone", "Mars/Olympus")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("time_zone: unknown time zone"), "{page}");

        let (status, ana, _) = post(
            &site,
            &staff,
            "/patients/new",
            &[
                ("first_name", "Ana"),
                ("last_name", "Lopez"),
                ("birth_date", "1984-07-31"),
                ("mrn", "A-1"),
                ("phones", "+1 212 736 5050"),
                ("language", "es"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert!(ana.starts_with("/patients/"), "{ana}");
        let (_, ben, _) = post(
            &site,
            &staff,
            "/patients/new",
            &[("first_name", "Ben"), ("last_name", "Lopez"), ("phones", "2127365050")],
        )
        .await;

        // A view is audited and shows the family sharing the number.
        let before = audits(&site, "patient.view").await;
        let (status, page) = get(&site, &staff, &ana).await;
        assert_eq!(status, 200);
        assert_eq!(audits(&site, "patient.view").await, before + 1);
        assert!(page.contains("Shared phone") && page.contains("Ben Lopez"), "{page}");
        assert!(page.contains("value=\"America/Chicago\"") && page.contains("value=\"es\""));
        let (_, page) = get(&site, &staff, &ben).await;
        assert!(page.contains("Ana Lopez"), "the family is shown on each member's page");

        // Edit: a second phone, a new MRN; audited.
        let (status, _, _) = post(
            &site,
            &staff,
            &ana,
            &[
                ("first_name", "Ana"),
                ("last_name", "López"),
                ("birth_date", "1984-07-31"),
                ("mrn", "A-2"),
                ("phones", "+12127365050\n+12127365051"),
                ("status", "patient"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(audits(&site, "patient.update").await, 1);
        let (_, page) = get(&site, &staff, &ana).await;
        assert!(page.contains("López") && page.contains("+12127365051"), "{page}");
        let (_, page) = get(&site, &staff, &format!("{ana}?x")).await;
        assert!(page.contains("value=\"A-2\""));
        let (status, _, page) = post(&site, &staff, &ana, &[("first_name", "Ana"), ("last_name", "")]).await;
        assert_eq!(status, 422);
        assert!(page.contains("last_name: is required"), "{page}");

        // Search by name, phone and MRN.
        for q in ["lopez", "212-736-5051", "A-2"] {
            let (status, page) = get(&site, &staff, &format!("/patients?q={q}")).await;
            assert_eq!(status, 200);
            assert!(page.contains("Ana López"), "{q}: {page}");
        }

        // Auditors read but cannot change.
        let (status, page) = get(&site, &auditor, &ana).await;
        assert_eq!(status, 200);
        assert!(page.contains("<fieldset disabled>"), "{page}");
        let (status, _, _) = post(&site, &auditor, &ana, &[("first_name", "X"), ("last_name", "Y")]).await;
        assert_eq!(status, 403);
        site.stop().await;
    }
}
