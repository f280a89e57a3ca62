//! Staff sign-in and the admin pages over real HTTP: cookies, CSRF, lockout, idle logoff,
//! two-factor enrolment and recovery codes, roles, and an admin disabling a user.
//!
//! These tests need the services behind the server (to create accounts and age sessions), so
//! they start the app themselves rather than through `TestApp`.

use chrono::{TimeDelta, Utc};
use frontdesk_domain::model::Role;
use frontdesk_server::{App, Settings};
use frontdesk_services::Services;
use frontdesk_services::accounts::token_hash;
use frontdesk_services::audit::Actor;
use frontdesk_services::sessions::totp_code_at;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use tempfile::TempDir;
use tokio::sync::oneshot;

const PASSWORD: &str = "correct horse battery staple";
const GENERIC: &str = "The email or password is not right.";

struct Site {
    base: String,
    http: reqwest::Client,
    services: Services,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn set_cookie(&self) -> String {
        self.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }

    /// The session secret the response set, if any.
    fn cookie(&self) -> Option<String> {
        let c = self.set_cookie();
        let value = c.strip_prefix("fd_session=")?.split(';').next()?.to_string();
        (!value.is_empty()).then_some(value)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Site {
    async fn start() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let settings =
            Settings { data_dir: dir.path().to_path_buf(), public_url: Some(base.clone()), ..Settings::default() };
        let app = App::build(settings).await.expect("app builds");
        let services = app.services.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .serve(listener, async move {
                    let _ = stopped.await;
                })
                .await;
        });
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Site { base, http, services, stop: Some(stop), _dir: dir }
    }

    async fn user(&self, email: &str, role: Role) -> frontdesk_domain::model::User {
        self.services.create_user(email, "Test Person", role, PASSWORD, Actor::System).await.unwrap()
    }

    async fn send(&self, request: reqwest::RequestBuilder, cookie: Option<&str>) -> Answer {
        let request = match cookie {
            Some(c) => request.header("cookie", format!("fd_session={c}")),
            None => request,
        };
        let r = request.send().await.unwrap();
        Answer { status: r.status().as_u16(), headers: r.headers().clone(), body: r.text().await.unwrap() }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)), cookie).await
    }

    /// Posts a form as the browser would, with the session's CSRF token when signed in.
    async fn post(&self, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(c) = cookie
            && let Some(token) = self.csrf(c).await
        {
            fields.push(("_csrf".into(), token));
        }
        self.post_raw(path, cookie, &fields, None).await
    }

    async fn post_raw(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(String, String)],
        origin: Option<&str>,
    ) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap());
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        self.send(request, cookie).await
    }

    async fn csrf(&self, cookie: &str) -> Option<String> {
        self.services.store.session_by_hash(&token_hash(cookie)).await.unwrap().map(|s| s.csrf_token)
    }

    async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.post("/login", None, &[("email", email), ("password", password)]).await
    }

    /// Signs in someone who needs no second factor; returns the cookie.
    async fn signed_in(&self, email: &str) -> String {
        let a = self.sign_in(email, PASSWORD).await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(a.location(), "/");
        a.cookie().expect("a session cookie")
    }

    /// Signs in an admin, enrols TOTP through the pages; returns (cookie, secret, recovery codes).
    async fn enrolled_admin(&self, email: &str) -> (String, String, Vec<String>) {
        self.user(email, Role::Admin).await;
        let a = self.sign_in(email, PASSWORD).await;
        assert_eq!(a.status, 303);
        assert_eq!(a.location(), "/account/two-factor");
        let cookie = a.cookie().unwrap();
        // Nothing else is reachable before enrolment.
        let blocked = self.get("/admin", Some(&cookie)).await;
        assert_eq!((blocked.status, blocked.location()), (303, "/account/two-factor"));
        let page = self.get("/account/two-factor", Some(&cookie)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<svg"), "the QR code is inline");
        let secret = text_of(&page.body, "id=\"totp-secret\"").expect("the secret is shown");
        let wrong = self.post("/account/two-factor", Some(&cookie), &[("code", "000000")]).await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.body.contains("that code is not right") || wrong.body.contains("That code is not right"));
        // The same secret is shown again, so the app need not be set up twice.
        assert_eq!(text_of(&wrong.body, "id=\"totp-secret\"").as_deref(), Some(secret.as_str()));
        let code = totp_code_at(&secret, Utc::now()).unwrap();
        let done = self.post("/account/two-factor", Some(&cookie), &[("code", &code)]).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("id=\"recovery-codes\""));
        assert!(done.body.contains("Continue to the inbox"));
        let codes = recovery_codes(&done.body);
        assert_eq!(codes.len(), 10);
        // The verified session is a new one; the pre-enrolment cookie is worth nothing now.
        let verified = done.cookie().expect("a new session cookie once verified");
        assert_ne!(verified, cookie);
        assert_eq!(self.get("/admin", Some(&cookie)).await.status, 303);
        (verified, secret, codes)
    }
}

/// The text inside the element whose opening tag contains `marker`.
fn text_of(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)?;
    let rest = &html[start..];
    let open_end = rest.find('>')? + 1;
    let close = rest[open_end..].find('<')?;
    Some(rest[open_end..open_end + close].trim().to_string())
}

fn recovery_codes(html: &str) -> Vec<String> {
    let start = html.find("id=\"recovery-codes\"").unwrap();
    let end = start + html[start..].find("</ul>").unwrap();
    html[start..end].split("<code>").skip(1).filter_map(|s| s.split("</code>").next()).map(str::to_string).collect()
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_that_opens_staff_pages() {
    let site = Site::start().await;
    site.user("ana@clinic.test", Role::Staff).await;

    let form = site.get("/login?next=%2Fadmin%2Fusers", None).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<label for=\"email\">Email</label>") && form.body.contains("for=\"password\""));
    assert!(form.body.contains("name=\"next\" value=\"/admin/users\""));

    let a = site.sign_in("Ana@Clinic.test", PASSWORD).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location(), "/");
    let set = a.set_cookie();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
    let cookie = a.cookie().unwrap();

    // Signed in: a staff page is answered (here: refused by role, not sent to sign in).
    let page = site.get("/admin", Some(&cookie)).await;
    assert_eq!(page.status, 403);
    let anonymous = site.get("/admin", None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location(), "/login?next=%2Fadmin");
    // Someone signed in who opens /login goes to the inbox.
    let again = site.get("/login", Some(&cookie)).await;
    assert_eq!((again.status, again.location()), (303, "/"));

    // `next` is followed only to paths on this site.
    let to = site
        .post("/login", None, &[("email", "ana@clinic.test"), ("password", PASSWORD), ("next", "/admin/users")])
        .await;
    assert_eq!(to.location(), "/admin/users");
    for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
        let a =
            site.post("/login", None, &[("email", "ana@clinic.test"), ("password", PASSWORD), ("next", evil)]).await;
        assert_eq!(a.location(), "/", "{evil}");
    }
    // The idle notice.
    let expired = site.get("/login?expired=1", None).await;
    assert!(expired.body.contains("You were signed out after 15 minutes without activity"), "{}", expired.body);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_gets_one_generic_message() {
    let site = Site::start().await;
    site.user("ben@clinic.test", Role::Staff).await;
    let wrong = site.sign_in("ben@clinic.test", "not the password at all").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains(GENERIC), "{}", wrong.body);
    assert!(wrong.cookie().is_none());
    assert!(wrong.body.contains("value=\"ben@clinic.test\""), "the email is kept");
    let unknown = site.sign_in("nobody@clinic.test", "not the password at all").await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains(GENERIC));
    // The email is escaped when shown again.
    let xss = site.sign_in("\"><script>alert(1)</script>", "x").await;
    assert_eq!(xss.status, 422);
    assert!(!xss.body.contains("<script>alert(1)"));
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let site = Site::start().await;
    site.user("cat@clinic.test", Role::Staff).await;
    for i in 0..4 {
        let a = site.sign_in("cat@clinic.test", "wrong password here").await;
        assert_eq!(a.status, 422, "attempt {i}");
        assert!(a.body.contains(GENERIC));
    }
    let fifth = site.sign_in("cat@clinic.test", "wrong password here").await;
    assert_eq!(fifth.status, 422);
    assert!(fifth.body.contains("locked"), "{}", fifth.body);
    let right = site.sign_in("cat@clinic.test", PASSWORD).await;
    assert_eq!(right.status, 422);
    assert!(right.body.contains("locked"));
    assert!(right.cookie().is_none());
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_per_client_address() {
    let site = Site::start().await;
    let fields = vec![("email".to_string(), "x@clinic.test".to_string()), ("password".to_string(), "nope".to_string())];
    let attempt = |ip: &'static str| {
        let request = site
            .http
            .post(format!("{}/login", site.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", ip)
            .body(serde_urlencoded::to_string(&fields).unwrap());
        site.send(request, None)
    };
    for _ in 0..10 {
        assert_eq!(attempt("198.51.100.7").await.status, 422);
    }
    let throttled = attempt("198.51.100.7").await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.body.contains("Too many attempts"));
    // Another address is not affected.
    assert_eq!(attempt("198.51.100.8").await.status, 422);
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_a_same_origin() {
    let site = Site::start().await;
    site.user("dan@clinic.test", Role::Staff).await;
    let cookie = site.signed_in("dan@clinic.test").await;
    let token = site.csrf(&cookie).await.unwrap();

    let none = site.post_raw("/logout", Some(&cookie), &[], None).await;
    assert_eq!(none.status, 403);
    let wrong = site.post_raw("/logout", Some(&cookie), &[("_csrf".into(), "forged".into())], None).await;
    assert_eq!(wrong.status, 403);
    let foreign =
        site.post_raw("/logout", Some(&cookie), &[("_csrf".into(), token.clone())], Some("https://evil.example")).await;
    assert_eq!(foreign.status, 403);
    let foreign_login = site
        .post_raw(
            "/login",
            None,
            &[("email".into(), "dan@clinic.test".into()), ("password".into(), PASSWORD.into())],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(foreign_login.status, 403);
    // Still signed in after all that.
    assert_eq!(site.get("/admin", Some(&cookie)).await.status, 403);
    let ok = site.post_raw("/logout", Some(&cookie), &[("_csrf".into(), token)], Some(&site.base.clone())).await;
    assert_eq!(ok.status, 303);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let site = Site::start().await;
    site.user("eve@clinic.test", Role::Staff).await;
    let cookie = site.signed_in("eve@clinic.test").await;
    let out = site.post("/logout", Some(&cookie), &[]).await;
    assert_eq!((out.status, out.location()), (303, "/login"));
    assert!(out.set_cookie().contains("Max-Age=0"));
    let after = site.get("/admin", Some(&cookie)).await;
    assert_eq!(after.status, 303);
    assert!(after.location().starts_with("/login"));
    assert!(site.csrf(&cookie).await.is_none(), "the session is gone from the store");
}

#[tokio::test]
async fn an_idle_session_ends() {
    let site = Site::start().await;
    site.user("fay@clinic.test", Role::Staff).await;
    let cookie = site.signed_in("fay@clinic.test").await;
    assert_eq!(site.get("/admin", Some(&cookie)).await.status, 403);

    // Sixteen minutes without a request (the policy is 15).
    let mut session = site.services.store.session_by_hash(&token_hash(&cookie)).await.unwrap().unwrap();
    session.last_seen_at = Utc::now() - TimeDelta::minutes(16);
    let stored = session.clone();
    frontdesk_store::write(&*site.services.store, move |tx| Box::pin(async move { tx.update_session(&stored).await }))
        .await
        .unwrap();
    let idle = site.get("/admin", Some(&cookie)).await;
    assert_eq!(idle.status, 303);
    assert!(idle.location().starts_with("/login"));
}

#[tokio::test]
async fn an_admin_enrols_totp_then_signs_in_with_a_code_or_a_recovery_code_once() {
    let site = Site::start().await;
    let (cookie, secret, codes) = site.enrolled_admin("gil@clinic.test").await;
    let admin = site.get("/admin", Some(&cookie)).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    assert!(admin.body.contains("/admin/users"));
    let out = site.post("/logout", Some(&cookie), &[]).await;
    assert_eq!(out.status, 303);

    // With a TOTP code.
    let a = site.sign_in("gil@clinic.test", PASSWORD).await;
    assert_eq!((a.status, a.location()), (303, "/login/code"));
    let cookie = a.cookie().unwrap();
    assert_eq!(site.get("/admin", Some(&cookie)).await.location(), "/login/code");
    let page = site.get("/login/code", Some(&cookie)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<label for=\"code\">Code</label>"));
    let bad = site.post("/login/code", Some(&cookie), &[("code", "123 456")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("That code is not right"), "{}", bad.body);
    // The code enrolment used is spent; the next one (still within the accepted skew) works.
    let spent = totp_code_at(&secret, Utc::now()).unwrap();
    let replay = site.post("/login/code", Some(&cookie), &[("code", &spent)]).await;
    assert_eq!(replay.status, 422, "a TOTP code is accepted once");
    let code = totp_code_at(&secret, Utc::now() + TimeDelta::seconds(30)).unwrap();
    let ok = site.post("/login/code", Some(&cookie), &[("code", &code)]).await;
    assert_eq!((ok.status, ok.location()), (303, "/"));
    let old = cookie;
    let cookie = ok.cookie().expect("a new session once the second factor is verified");
    assert_ne!(cookie, old, "the session id changes at the second factor");
    assert_eq!(site.get("/admin/users", Some(&old)).await.status, 303);
    assert_eq!(site.get("/admin/users", Some(&cookie)).await.status, 200);
    // The same code again, in another sign-in: refused.
    let b = site.sign_in("gil@clinic.test", PASSWORD).await;
    let again_code = site.post("/login/code", Some(&b.cookie().unwrap()), &[("code", &code)]).await;
    assert_eq!(again_code.status, 422, "a TOTP code is accepted once");
    // Enrolling again is refused: it is on.
    let again = site.get("/account/two-factor", Some(&cookie)).await;
    assert!(again.body.contains("already on"));
    site.post("/logout", Some(&cookie), &[]).await;

    // With a recovery code, which works once.
    for (round, expect) in [(0, 303), (1, 422)] {
        let a = site.sign_in("gil@clinic.test", PASSWORD).await;
        let cookie = a.cookie().unwrap();
        let r = site.post("/login/code", Some(&cookie), &[("code", &codes[0].to_uppercase())]).await;
        assert_eq!(r.status, expect, "round {round}: {}", r.body);
    }
}

#[tokio::test]
async fn staff_and_auditors_are_refused_every_admin_page() {
    let site = Site::start().await;
    site.user("hal@clinic.test", Role::Staff).await;
    site.user("ida@clinic.test", Role::Auditor).await;
    let (admin, _, _) = site.enrolled_admin("boss@clinic.test").await;
    let paths = ["/admin", "/admin/users", "/admin/numbers", "/admin/templates", "/admin/settings"];
    for email in ["hal@clinic.test", "ida@clinic.test"] {
        let cookie = site.signed_in(email).await;
        for path in paths {
            assert_eq!(site.get(path, Some(&cookie)).await.status, 403, "{email} GET {path}");
        }
        let me = site.services.store.user_by_email(email).await.unwrap().unwrap();
        let posts: [(String, Vec<(&str, &str)>); 4] = [
            (
                "/admin/users".into(),
                vec![("email", "new@clinic.test"), ("name", "N"), ("role", "admin"), ("password", PASSWORD)],
            ),
            (format!("/admin/users/{}", me.id), vec![("name", "Me"), ("role", "admin")]),
            ("/admin/templates".into(), vec![("name", "T"), ("body", "Hi")]),
            (
                "/admin/settings".into(),
                vec![("name", "Evil"), ("help_text", "x"), ("phi_guard", "warn"), ("time_zone", "UTC")],
            ),
        ];
        for (path, form) in &posts {
            assert_eq!(site.post(path, Some(&cookie), form).await.status, 403, "{email} POST {path}");
        }
        assert_eq!(site.services.store.user_by_email(email).await.unwrap().unwrap().role, me.role);
    }
    assert_eq!(site.get("/admin/users", Some(&admin)).await.status, 200);
}

#[tokio::test]
async fn an_admin_manages_users_and_a_disabled_user_is_signed_out() {
    let site = Site::start().await;
    let (admin, _, _) = site.enrolled_admin("root@clinic.test").await;
    let staff = site.user("jo@clinic.test", Role::Staff).await;
    let jo = site.signed_in("jo@clinic.test").await;

    let list = site.get("/admin/users", Some(&admin)).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("jo@clinic.test") && list.body.contains(&format!("/admin/users/{}", staff.id)));

    // Adding: a short password is refused naming the field; the form keeps the rest.
    let short = site
        .post(
            "/admin/users",
            Some(&admin),
            &[("email", "kim@clinic.test"), ("name", "<b>Kim</b>"), ("role", "staff"), ("password", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("Password: use at least 12 characters"), "{}", short.body);
    assert!(short.body.contains("&#60;b&#62;Kim&#60;/b&#62;") && !short.body.contains("<b>Kim</b>"));
    let added = site
        .post(
            "/admin/users",
            Some(&admin),
            &[("email", "kim@clinic.test"), ("name", "<b>Kim</b>"), ("role", "auditor"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!((added.status, added.location()), (303, "/admin/users?done=added"));
    let duplicate = site
        .post(
            "/admin/users",
            Some(&admin),
            &[("email", "kim@clinic.test"), ("name", "Kim"), ("role", "staff"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert!(duplicate.body.contains("Email: a user with this email already exists"));

    // Unknown and malformed ids.
    assert_eq!(site.get("/admin/users/not-an-id", Some(&admin)).await.status, 404);
    assert_eq!(site.get(&format!("/admin/users/{}", uuid::Uuid::new_v4()), Some(&admin)).await.status, 404);

    // Disabling signs the person out and keeps them out.
    let path = format!("/admin/users/{}", staff.id);
    let edit = site.get(&path, Some(&admin)).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains("<label for=\"name\">Name</label>"));
    let saved = site.post(&path, Some(&admin), &[("name", "Jo Renamed"), ("role", "staff"), ("disabled", "on")]).await;
    assert_eq!((saved.status, saved.location()), (303, format!("{path}?done=saved").as_str()));
    let out = site.get("/admin", Some(&jo)).await;
    assert_eq!(out.status, 303);
    assert!(out.location().starts_with("/login"));
    assert_eq!(site.sign_in("jo@clinic.test", PASSWORD).await.status, 422);

    // Re-enabled with a new password: the old one no longer works.
    let new_password = "a brand new password";
    let saved =
        site.post(&path, Some(&admin), &[("name", "Jo"), ("role", "staff"), ("new_password", new_password)]).await;
    assert_eq!(saved.status, 303);
    assert_eq!(site.sign_in("jo@clinic.test", PASSWORD).await.status, 422);
    assert_eq!(site.sign_in("jo@clinic.test", new_password).await.status, 303);

    // An admin cannot demote themselves.
    let root = site.services.store.user_by_email("root@clinic.test").await.unwrap().unwrap();
    let demote =
        site.post(&format!("/admin/users/{}", root.id), Some(&admin), &[("name", "Root"), ("role", "staff")]).await;
    assert_eq!(demote.status, 422);
    assert!(demote.body.contains("Role: you cannot remove your own admin role"));
}

#[tokio::test]
async fn an_admin_keeps_templates_and_practice_settings() {
    let site = Site::start().await;
    let (admin, _, _) = site.enrolled_admin("tess@clinic.test").await;

    let page = site.get("/admin/templates", Some(&admin)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("{patient.first_name}"), "the known variables are listed");
    let bad = site.post("/admin/templates", Some(&admin), &[("name", "Oops"), ("body", "Hi {nope}")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Text: "), "{}", bad.body);
    let saved = site
        .post(
            "/admin/templates",
            Some(&admin),
            &[("name", "<i>Reminder</i>"), ("body", "Hi {patient.first_name}, see you soon.")],
        )
        .await;
    assert_eq!((saved.status, saved.location()), (303, "/admin/templates?done=saved"));
    let list = site.get("/admin/templates?done=saved", Some(&admin)).await;
    assert!(list.body.contains("Saved.") && list.body.contains("&#60;i&#62;Reminder&#60;/i&#62;"));
    let t = site.services.list_templates().await.unwrap().pop().unwrap();
    let edit = site.get(&format!("/admin/templates?edit={}", t.id), Some(&admin)).await;
    assert!(edit.body.contains(&format!("name=\"id\" value=\"{}\"", t.id)));
    assert_eq!(site.get("/admin/templates?edit=nope", Some(&admin)).await.status, 404);
    let deleted = site.post(&format!("/admin/templates/{}/delete", t.id), Some(&admin), &[]).await;
    assert_eq!((deleted.status, deleted.location()), (303, "/admin/templates?done=deleted"));
    assert!(site.services.list_templates().await.unwrap().is_empty());
    let gone = site.post(&format!("/admin/templates/{}/delete", t.id), Some(&admin), &[]).await;
    assert_eq!(gone.status, 404);

    let settings = site.get("/admin/settings", Some(&admin)).await;
    assert_eq!(settings.status, 200);
    let bad_zone = site
        .post(
            "/admin/settings",
            Some(&admin),
            &[
                ("name", "Elm Clinic"),
                ("help_text", "Elm Clinic: call 555."),
                ("phi_guard", "block"),
                ("time_zone", "Mars/Olympus"),
            ],
        )
        .await;
    assert_eq!(bad_zone.status, 422);
    assert!(bad_zone.body.contains("Time zone: "), "{}", bad_zone.body);
    let ok = site
        .post(
            "/admin/settings",
            Some(&admin),
            &[
                ("name", "Elm Clinic"),
                ("help_text", "Elm Clinic: call 555."),
                ("phi_guard", "block"),
                ("time_zone", "America/Chicago"),
            ],
        )
        .await;
    assert_eq!((ok.status, ok.location()), (303, "/admin/settings?done=saved"));
    let p = site.services.editable_practice();
    assert_eq!(
        (p.name.as_str(), p.phi_guard.as_str(), p.time_zone.as_str()),
        ("Elm Clinic", "block", "America/Chicago")
    );

    let numbers = site.get("/admin/numbers", Some(&admin)).await;
    assert_eq!(numbers.status, 200);
    // Only configured providers are offered and accepted (this app runs the simulator only).
    assert!(numbers.body.contains("<option value=\"simulator\"") && !numbers.body.contains("<option value=\"twilio\""));
    let refused =
        site.post("/admin/numbers", Some(&admin), &[("number", "+12125550199"), ("provider", "twilio")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Provider: "));
    let bad = site.post("/admin/numbers", Some(&admin), &[("number", "12"), ("provider", "simulator")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Number: "), "{}", bad.body);
    let added =
        site.post("/admin/numbers", Some(&admin), &[("number", "(212) 555-0199"), ("provider", "simulator")]).await;
    assert_eq!((added.status, added.location()), (303, "/admin/numbers?done=added"));
    let all = site.services.store.list_numbers().await.unwrap();
    assert!(all.iter().any(|n| n.e164.as_str() == "+12125550199"));
}
