//! `/admin/departments` over HTTP: an admin adds and renames departments; names are trimmed,
//! 1 to 60 characters and unique regardless of case; nobody else may change them.

use frontdesk_domain::model::Role;
use frontdesk_services::ServiceError;
use frontdesk_services::audit::Actor;

use crate::authz::{Browser, Site};

const PASSWORD: &str = "correct horse battery staple";

async fn get(site: &Site, b: &Browser, path: &str) -> (u16, String) {
    let r = site.http.get(site.url(path)).header("cookie", &b.cookie).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a form with the session's CSRF token: (status, Location, body).
async fn post(site: &Site, b: &Browser, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let mut form: Vec<(&str, &str)> = vec![("_csrf", &b.csrf)];
    form.extend_from_slice(fields);
    let r = site.http.post(site.url(path)).header("cookie", &b.cookie).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    (status, location, r.text().await.unwrap())
}

async fn names(site: &Site) -> Vec<String> {
    let mut names: Vec<String> =
        site.services.store.list_departments().await.unwrap().into_iter().map(|d| d.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn an_admin_adds_and_renames_departments_and_no_one_else_can() {
    let site = Site::start().await;
    let (admin, _) = site.enrolled_admin("admin@clinic.test").await;
    for (email, role) in [("staff@clinic.test", Role::Staff), ("auditor@clinic.test", Role::Auditor)] {
        site.services.create_user(email, "Pat Person", role, PASSWORD, Actor::System).await.unwrap();
    }
    let staff = site.session("staff@clinic.test").await;
    let auditor = site.session("auditor@clinic.test").await;

    // Linked from /admin; empty at first.
    let (status, index) = get(&site, &admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(index.contains("href=\"/admin/departments\""), "{index}");
    let (status, page) = get(&site, &admin, "/admin/departments").await;
    assert_eq!(status, 200);
    assert!(page.contains("No departments yet"));
    assert!(page.contains("<label for=\"new-department\">Name</label>"));

    // Add: trimmed, then listed.
    let (status, location, _) = post(&site, &admin, "/admin/departments", &[("name", "  Front desk  ")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/departments?done=added"));
    let (_, page) = get(&site, &admin, "/admin/departments?done=added").await;
    assert!(page.contains("role=\"status\">Added.</p>"), "{page}");
    assert!(page.contains("value=\"Front desk\""), "{page}");
    assert_eq!(names(&site).await, vec!["Front desk"]);
    post(&site, &admin, "/admin/departments", &[("name", "Billing")]).await;

    // The same name in other capitals: refused on the form, naming the existing department.
    let (status, _, page) = post(&site, &admin, "/admin/departments", &[("name", "FRONT DESK")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("there is already a department named &#34;Front desk&#34;"), "{page}");
    assert!(page.contains("aria-invalid=\"true\""));
    assert!(page.contains("value=\"FRONT DESK\""), "the refused name is kept in the field");
    // Empty and too long.
    for name in ["   ", &"x".repeat(61)] {
        let (status, _, page) = post(&site, &admin, "/admin/departments", &[("name", name)]).await;
        assert_eq!(status, 422, "{name:?}");
        assert!(page.contains("1 to 60 characters"), "{page}");
    }
    assert_eq!(names(&site).await, vec!["Billing", "Front desk"]);

    // Rename.
    let front =
        site.services.store.list_departments().await.unwrap().into_iter().find(|d| d.name == "Front desk").unwrap();
    let path = format!("/admin/departments/{}", front.id);
    let (status, location, _) = post(&site, &admin, &path, &[("name", "Reception")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/departments?done=renamed"));
    assert_eq!(names(&site).await, vec!["Billing", "Reception"]);
    // Its own name in other capitals is fine; another department's is not.
    let (status, _, _) = post(&site, &admin, &path, &[("name", "RECEPTION")]).await;
    assert_eq!(status, 303);
    let (status, _, page) = post(&site, &admin, &path, &[("name", "billing")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("Department name: there is already a department named &#34;Billing&#34;"), "{page}");
    assert!(page.contains(&format!("id=\"department-{}\" name=\"name\"", front.id)));
    assert_eq!(names(&site).await, vec!["Billing", "RECEPTION"]);
    // No such department.
    let (status, _, _) =
        post(&site, &admin, &format!("/admin/departments/{}", uuid::Uuid::now_v7()), &[("name", "X")]).await;
    assert_eq!(status, 404);
    let (status, _, _) = post(&site, &admin, "/admin/departments/not-an-id", &[("name", "X")]).await;
    assert_eq!(status, 404);
    // Names are text, never markup.
    post(&site, &admin, "/admin/departments", &[("name", "<b>Lab</b>")]).await;
    let (_, page) = get(&site, &admin, "/admin/departments").await;
    assert!(page.contains("&#60;b&#62;Lab&#60;/b&#62;") && !page.contains("<b>Lab</b>"), "{page}");

    // Audited.
    let audit = site.services.store.list_audit(100).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "department.add").count(), 3);
    assert_eq!(audit.iter().filter(|e| e.action == "department.rename").count(), 2);

    // Staff and auditors: refused, nothing changes.
    for who in [&staff, &auditor] {
        assert_eq!(get(&site, who, "/admin/departments").await.0, 403);
        assert_eq!(post(&site, who, "/admin/departments", &[("name", "Imaging")]).await.0, 403);
        assert_eq!(post(&site, who, &path, &[("name", "Imaging")]).await.0, 403);
    }
    let staff_user = site.services.store.user_by_email("staff@clinic.test").await.unwrap().unwrap();
    let ctx = site.services.staff_context(staff_user).await.unwrap();
    assert!(matches!(site.services.add_department(&ctx, "Imaging", None).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(
        site.services.rename_department(&ctx, front.id, "Imaging", None).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert_eq!(names(&site).await, vec!["<b>Lab</b>", "Billing", "RECEPTION"]);
    site.stop().await;
}
