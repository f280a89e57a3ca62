//! The authorization matrix: every route of the app, for each kind of person (anonymous, an
//! auditor, a staff member limited to another department, staff, an admin), against the outcome
//! that person must get. Real ids throughout: a conversation created by a signed inbound
//! webhook, its message, a failed text, a template, a user, a department, a patient.
//!
//! Three passes over one table:
//! 1. every state-changing request of the session routes, sent by each signed-in person
//!    *without* a CSRF token, is refused (403) and changes nothing;
//! 2. every route, by each person (with the CSRF token on POSTs), gets its expected class;
//! 3. the table covers every route the routers declare: the router sources are read and any
//!    route missing here fails the test, so a new page cannot ship without a row.
//!
//! Webhooks refuse unsigned requests (403) whoever sends them; the API refuses session
//! cookies without a bearer token (401).

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::Utc;
use frontdesk_domain::model::{Department, DepartmentId, ProviderKind, Role, new_id};
use frontdesk_providers::twilio::signature::{Algorithm, compute};
use frontdesk_server::{App, Settings};
use frontdesk_services::Services;
use frontdesk_services::accounts::token_hash;
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use frontdesk_services::patients::NewPatient;
use frontdesk_services::sessions::totp_code_at;
use reqwest::header::LOCATION;
use reqwest::redirect::Policy;
use serde_json::json;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::support::{
    ACCOUNT_SID, AUTH_TOKEN, BANDWIDTH_ACCOUNT, BANDWIDTH_CALLBACK_PASSWORD, BANDWIDTH_CALLBACK_USER, FakeTwilio,
    PRACTICE, Reply, TELNYX_API_KEY, TELNYX_SECRET,
};

const PATIENT: &str = "+12127365050";
const PASSWORD: &str = "correct horse battery staple";
const PROBE_EMAIL: &str = "probe@clinic.test";

// ---- the people -----------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Anonymous,
    Auditor,
    /// Staff limited to a department the conversation is not in.
    Limited,
    Staff,
    Admin,
}

const EVERYONE: [Who; 5] = [Who::Anonymous, Who::Auditor, Who::Limited, Who::Staff, Who::Admin];

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Who::Anonymous => "anonymous",
            Who::Auditor => "auditor",
            Who::Limited => "staff limited to another department",
            Who::Staff => "staff",
            Who::Admin => "admin",
        })
    }
}

/// A signed-in browser: its cookie and the session's CSRF token.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

// ---- the outcomes ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// 2xx, or a redirect somewhere other than the sign-in page.
    Allowed,
    /// Reached the handler, which refused the (deliberately wrong) input: 4xx other than
    /// 401/403/404, or any allowed answer. Used where a valid input would be irreversible
    /// (a second factor code).
    Reached,
    /// A redirect to `/login` (GET pages for anonymous people).
    SignIn,
    Unauthorized,
    Forbidden,
    NotFound,
    /// Signed out: a redirect to `/login`, and the session no longer opens pages.
    SignedOut,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allowed => "allowed (2xx, or 3xx not to /login)",
            Expect::Reached => "reached the handler (not 401/403/404/5xx, not sent to /login)",
            Expect::SignIn => "a redirect to /login",
            Expect::Unauthorized => "401",
            Expect::Forbidden => "403",
            Expect::NotFound => "404",
            Expect::SignedOut => "signed out (a redirect to /login, the session ended)",
        })
    }
}

struct Got {
    status: u16,
    location: String,
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{} to {}", self.status, self.location)
        }
    }
}

impl Expect {
    fn matches(self, got: &Got) -> bool {
        let redirect = (300..400).contains(&got.status);
        let to_login = redirect && got.location.starts_with("/login");
        match self {
            Expect::Allowed => (200..300).contains(&got.status) || (redirect && !to_login),
            Expect::Reached => {
                !matches!(got.status, 401 | 403 | 404) && got.status < 500 && !to_login && got.status >= 200
            }
            Expect::SignIn | Expect::SignedOut => to_login,
            Expect::Unauthorized => got.status == 401,
            Expect::Forbidden => got.status == 403,
            Expect::NotFound => got.status == 404,
        }
    }
}

// ---- the table ------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method {
    Get,
    Post,
    Put,
}

/// How a request carries its body and its CSRF token.
#[derive(Clone, Debug)]
enum Body {
    None,
    /// A urlencoded form; the token goes in `_csrf`.
    Form(Vec<(String, String)>),
    /// JSON; the token goes in `X-CSRF-Token`.
    Json(serde_json::Value),
}

/// Which part of the app a route belongs to, which decides how it authenticates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Surface {
    /// Behind the session layer: cookie, CSRF on POST.
    Session,
    /// Public: health, metrics, assets, the OpenAPI document, the simulator.
    Public,
    /// `/api/v1`: bearer tokens only.
    Api,
    /// `/webhooks`: provider signatures only.
    Webhook,
}

#[derive(Clone, Debug)]
struct Case {
    method: Method,
    /// The route as the router declares it, e.g. `/c/{id}/reply`.
    route: &'static str,
    /// The concrete path requested.
    path: String,
    body: Body,
    surface: Surface,
    /// anonymous, auditor, limited, staff, admin.
    expect: [Expect; 5],
    /// Needs a session of its own (signing in again or out ends the session it is sent with).
    fresh_session: bool,
    /// Sent with `Accept: text/event-stream`, and the body is not read.
    stream: bool,
}

impl Case {
    fn new(
        method: Method,
        route: &'static str,
        path: impl Into<String>,
        surface: Surface,
        expect: [Expect; 5],
    ) -> Case {
        Case {
            method,
            route,
            path: path.into(),
            body: if method == Method::Get { Body::None } else { Body::Form(Vec::new()) },
            surface,
            expect,
            fresh_session: false,
            stream: false,
        }
    }

    fn form(mut self, fields: &[(&str, &str)]) -> Case {
        self.body = Body::Form(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        self
    }

    fn json(mut self, value: serde_json::Value) -> Case {
        self.body = Body::Json(value);
        self
    }

    fn fresh(mut self) -> Case {
        self.fresh_session = true;
        self
    }

    fn stream(mut self) -> Case {
        self.stream = true;
        self
    }

    fn expected(&self, who: Who) -> Expect {
        self.expect[EVERYONE.iter().position(|w| *w == who).unwrap()]
    }
}

use Expect::{Allowed, Forbidden, NotFound, Reached, SignIn, SignedOut, Unauthorized};
use Method::{Get, Post, Put};

/// Everyone signed in may; anonymous people are sent to sign in.
const SIGNED_IN: [Expect; 5] = [SignIn, Allowed, Allowed, Allowed, Allowed];
/// Reading a conversation: not for someone limited to another department.
const READ_CONVERSATION: [Expect; 5] = [SignIn, Allowed, NotFound, Allowed, Allowed];
/// Acting on a conversation: not for auditors, not for someone who cannot see it; anonymous
/// POSTs have no session, so the session layer refuses them.
const ACT_ON_CONVERSATION: [Expect; 5] = [Forbidden, Forbidden, NotFound, Allowed, Allowed];
const ADMIN_PAGE: [Expect; 5] = [SignIn, Forbidden, Forbidden, Forbidden, Allowed];
const ADMIN_POST: [Expect; 5] = [Forbidden, Forbidden, Forbidden, Forbidden, Allowed];
/// The audit log and patients' records: admins and auditors only.
const RECORDS_PAGE: [Expect; 5] = [SignIn, Allowed, Forbidden, Forbidden, Allowed];
/// Broadcasts reach the whole directory: admins and staff without department limits.
const BROADCAST_PAGE: [Expect; 5] = [SignIn, Forbidden, Forbidden, Allowed, Allowed];
const BROADCAST_POST: [Expect; 5] = [Forbidden, Forbidden, Forbidden, Allowed, Allowed];
const PUBLIC: [Expect; 5] = [Allowed; 5];
const API: [Expect; 5] = [Unauthorized; 5];
const WEBHOOK: [Expect; 5] = [Forbidden; 5];

/// The real ids the table points at.
struct Ids {
    conversation: Uuid,
    inbound_message: Uuid,
    failed_message: Uuid,
    template: Uuid,
    doomed_template: Uuid,
    /// A message scheduled for later in `conversation` (cancelled by the matrix).
    scheduled: Uuid,
    /// A broadcast to a patient without a phone (skipped, so nothing is sent).
    broadcast: Uuid,
    user: Uuid,
    department: DepartmentId,
    patient: Uuid,
    referral: Uuid,
}

fn table(ids: &Ids) -> Vec<Case> {
    use Surface::{Api, Public, Session, Webhook};
    let c = ids.conversation;
    let dept = ids.department.to_string();
    let mut t =
        vec![
        // ---- the inbox (web/dashboard) ----
        Case::new(Get, "/", "/", Session, SIGNED_IN),
        Case::new(Get, "/inbox/rows", "/inbox/rows", Session, SIGNED_IN),
        // An EventSource is told 401, not sent to a sign-in page it cannot follow.
        Case::new(Get, "/events", "/events", Session, [Unauthorized, Allowed, Allowed, Allowed, Allowed]).stream(),
        Case::new(Get, "/c/{id}", format!("/c/{c}"), Session, READ_CONVERSATION),
        Case::new(Get, "/c/{id}/thread", format!("/c/{c}/thread"), Session, READ_CONVERSATION),
        Case::new(
            Get,
            "/c/{id}/template/{template_id}",
            format!("/c/{c}/template/{}", ids.template),
            Session,
            READ_CONVERSATION,
        ),
        Case::new(Post, "/c/{id}/reply", format!("/c/{c}/reply"), Session, ACT_ON_CONVERSATION)
            .form(&[("body", "Thanks, we will call you today.")]),
        Case::new(Post, "/c/{id}/notes", format!("/c/{c}/notes"), Session, ACT_ON_CONVERSATION)
            .form(&[("body", "Called back, left a voicemail.")]),
        Case::new(Get, "/broadcasts", "/broadcasts", Session, BROADCAST_PAGE),
        Case::new(Post, "/broadcasts/preview", "/broadcasts/preview", Session, BROADCAST_POST)
            .form(&[("body", "Hi {patient.first_name}"), ("recipients", "MRN-2")]),
        Case::new(Post, "/broadcasts", "/broadcasts", Session, BROADCAST_POST)
            .form(&[("body", "Hi {patient.first_name}"), ("recipients", "MRN-2")]),
        Case::new(Get, "/broadcasts/{id}", format!("/broadcasts/{}", ids.broadcast), Session, BROADCAST_PAGE),
        Case::new(
            Post,
            "/c/{id}/scheduled/{scheduled}/cancel",
            format!("/c/{c}/scheduled/{}/cancel", ids.scheduled),
            Session,
            ACT_ON_CONVERSATION,
        ),
        Case::new(Post, "/c/{id}/assign", format!("/c/{c}/assign"), Session, ACT_ON_CONVERSATION).form(&[("me", "1")]),
        Case::new(Post, "/c/{id}/department", format!("/c/{c}/department"), Session, ACT_ON_CONVERSATION)
            .form(&[("department", &dept)]),
        Case::new(Post, "/c/{id}/status", format!("/c/{c}/status"), Session, ACT_ON_CONVERSATION)
            .form(&[("status", "open")]),
        Case::new(Post, "/c/{id}/patient", format!("/c/{c}/patient"), Session, ACT_ON_CONVERSATION)
            .form(&[("patient", &ids.patient.to_string())]),
        Case::new(Post, "/c/{id}/urgent", format!("/c/{c}/urgent"), Session, ACT_ON_CONVERSATION)
            .form(&[("urgent", "1")]),
        // Saving to the chart: downloads for whoever may read the conversation; the button
        // reaches its handler (which answers that [chart] is not configured here).
        Case::new(Get, "/c/{id}/export", format!("/c/{c}/export?format=text"), Session, READ_CONVERSATION),
        Case::new(
            Post,
            "/c/{id}/chart",
            format!("/c/{c}/chart"),
            Session,
            [Forbidden, Forbidden, NotFound, Reached, Reached],
        ),
        Case::new(
            Post,
            "/messages/{id}/retry",
            format!("/messages/{}/retry", ids.failed_message),
            Session,
            ACT_ON_CONVERSATION,
        ),
        Case::new(Post, "/compose/check", "/compose/check", Session, [Forbidden, Allowed, Allowed, Allowed, Allowed])
            .json(json!({"body": "See you at 3pm"})),
        // Auditors see the page (its form is refused when sent, below).
        Case::new(Get, "/new", "/new", Session, SIGNED_IN),
        Case::new(Post, "/new", "/new", Session, [Forbidden, Forbidden, Allowed, Allowed, Allowed])
            .form(&[
                ("to", "+12127365099"),
                ("body", "Hello from the practice."),
                ("consent_basis", "verbal"),
                ("consent_note", "Agreed by phone today."),
            ]),
        Case::new(Get, "/search", "/search?q=hello", Session, SIGNED_IN),
        // ---- reports: admins and auditors (web/reports) ----
        Case::new(Get, "/reports", "/reports?days=7", Session, [SignIn, Allowed, Forbidden, Forbidden, Allowed]),
        Case::new(
            Get,
            "/reports.csv",
            "/reports.csv?table=summary&days=7",
            Session,
            [SignIn, Allowed, Forbidden, Forbidden, Allowed],
        ),
        // ---- the patient directory (web/dashboard/patients): auditors read, never change ----
        Case::new(Get, "/patients", "/patients?q=Lopez", Session, SIGNED_IN),
        Case::new(Get, "/patients/new", "/patients/new", Session, SIGNED_IN),
        Case::new(Post, "/patients/new", "/patients/new", Session, [Forbidden, Forbidden, Allowed, Allowed, Allowed])
            .form(&[("first_name", "Nia"), ("last_name", "Park"), ("status", "prospective")]),
        Case::new(Get, "/patients/{id}", format!("/patients/{}", ids.patient), Session, SIGNED_IN),
        Case::new(
            Post,
            "/patients/{id}",
            format!("/patients/{}", ids.patient),
            Session,
            [Forbidden, Forbidden, Allowed, Allowed, Allowed],
        )
        .form(&[
            ("first_name", "Maria"),
            ("last_name", "Lopez"),
            ("birth_date", "1984-02-29"),
            ("phones", PATIENT),
        ]),
        // ---- referrals (web/referrals): everyone reads, auditors never change; a second move
        // to scheduled is refused as invalid (the handler was reached) ----
        Case::new(Get, "/referrals", "/referrals?status=new", Session, SIGNED_IN),
        Case::new(Get, "/referrals/{id}", format!("/referrals/{}", ids.referral), Session, SIGNED_IN),
        Case::new(
            Post,
            "/referrals/{id}/status",
            format!("/referrals/{}/status", ids.referral),
            Session,
            [Forbidden, Forbidden, Reached, Reached, Reached],
        )
        .form(&[("status", "scheduled")]),
        Case::new(Get, "/referrals/settings", "/referrals/settings", Session, ADMIN_PAGE),
        Case::new(Post, "/referrals/settings", "/referrals/settings", Session, ADMIN_POST).form(&[
            ("outreach_template", "Hello {patient.first_name}, {practice.name} here. Reply STOP to opt out."),
            ("followup_template", "Hello again from {practice.name}."),
            ("followup_hours", "24"),
        ]),
        // ---- signing in (web/auth) ----
        Case::new(Get, "/login", "/login", Session, PUBLIC),
        Case::new(Post, "/login", "/login", Session, PUBLIC)
            .form(&[("email", PROBE_EMAIL), ("password", PASSWORD)])
            .fresh(),
        Case::new(Get, "/login/code", "/login/code", Session, SIGNED_IN),
        Case::new(Post, "/login/code", "/login/code", Session, [Forbidden, Reached, Reached, Reached, Reached])
            .form(&[("code", "000000")]),
        Case::new(Get, "/account/two-factor", "/account/two-factor", Session, SIGNED_IN),
        Case::new(
            Post,
            "/account/two-factor",
            "/account/two-factor",
            Session,
            [Forbidden, Reached, Reached, Reached, Reached],
        )
        .form(&[("code", "000000")]),
        Case::new(Post, "/logout", "/logout", Session, [Forbidden, SignedOut, SignedOut, SignedOut, SignedOut]).fresh(),
        // ---- admin (web/admin) ----
        Case::new(Get, "/admin", "/admin", Session, ADMIN_PAGE),
        Case::new(Get, "/admin/users", "/admin/users", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/users", "/admin/users", Session, ADMIN_POST).form(&[
            ("email", "new.person@clinic.test"),
            ("name", "New Person"),
            ("role", "staff"),
            ("password", PASSWORD),
        ]),
        Case::new(Get, "/admin/users/{id}", format!("/admin/users/{}", ids.user), Session, ADMIN_PAGE),
        Case::new(Post, "/admin/users/{id}", format!("/admin/users/{}", ids.user), Session, ADMIN_POST)
            .form(&[("name", "Target Person"), ("role", "staff")]),
        Case::new(Get, "/admin/departments", "/admin/departments", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/departments", "/admin/departments", Session, ADMIN_POST).form(&[("name", "Imaging")]),
        Case::new(Post, "/admin/departments/{id}", format!("/admin/departments/{dept}"), Session, ADMIN_POST)
            .form(&[("name", "Front Desk")]),
        // ---- department hours and urgent phrases (web/admin_departments) ----
        Case::new(
            Get,
            "/admin/departments/{id}/settings",
            format!("/admin/departments/{dept}/settings"),
            Session,
            ADMIN_PAGE,
        ),
        Case::new(
            Post,
            "/admin/departments/{id}/settings",
            format!("/admin/departments/{dept}/settings"),
            Session,
            ADMIN_POST,
        )
        .form(&[
            ("hours_mon", "08:00-17:00"),
            ("response_target_minutes", "30"),
            ("staff_reply_quiet_minutes", "10"),
            ("after_hours_text", "We are closed and will reply {eta}. Emergencies: call 911."),
        ]),
        Case::new(Get, "/admin/urgent-phrases", "/admin/urgent-phrases", Session, ADMIN_PAGE),
        Case::new(Post, "/c/{id}/consent-review", format!("/c/{c}/consent-review"), Session, ACT_ON_CONVERSATION)
            .form(&[("decision", "keep")]),
        Case::new(Post, "/admin/urgent-phrases", "/admin/urgent-phrases", Session, ADMIN_POST)
            .form(&[("phrases", "chest_pain: chest pain\nsuicidal: kill myself")]),
        Case::new(Get, "/admin/numbers", "/admin/numbers", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/numbers", "/admin/numbers", Session, ADMIN_POST).form(&[
            ("number", "+12125550177"),
            ("provider", "twilio"),
            ("department", ""),
        ]),
        Case::new(Get, "/admin/templates", "/admin/templates", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/templates", "/admin/templates", Session, ADMIN_POST)
            .form(&[("name", "Running late"), ("body", "We are running about 15 minutes late.")]),
        Case::new(
            Post,
            "/admin/templates/{id}/delete",
            format!("/admin/templates/{}/delete", ids.doomed_template),
            Session,
            ADMIN_POST,
        ),
        Case::new(Get, "/admin/forms", "/admin/forms", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/forms", "/admin/forms", Session, ADMIN_POST).form(&[
            (
                "definition",
                r#"{"key": "authz-check", "title": "Check", "fields": [{"id": "a", "label": "A", "type": "text"}]}"#,
            ),
            ("action", "save"),
        ]),
        Case::new(Get, "/admin/settings", "/admin/settings", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/settings", "/admin/settings", Session, ADMIN_POST).form(&[
            ("name", "Maple Family Practice"),
            ("help_text", "Maple Family Practice: reply STOP to opt out. Call 212-555-0100 for help."),
            ("phi_guard", "warn"),
            ("time_zone", "America/New_York"),
        ]),
        // ---- triage and assignment (web/routing) ----
        Case::new(Get, "/admin/routing", "/admin/routing", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/routing/rules", "/admin/routing/rules", Session, ADMIN_POST).form(&[
            ("index", ""),
            ("name", "Billing words"),
            ("keywords", "invoice, bill"),
            ("department_id", &dept),
            ("priority", "normal"),
        ]),
        // One rule cannot move down: the handler is reached and refuses (422).
        Case::new(
            Post,
            "/admin/routing/rules/{n}/move",
            "/admin/routing/rules/0/move",
            Session,
            [Forbidden, Forbidden, Forbidden, Forbidden, Reached],
        )
        .form(&[("direction", "down")]),
        Case::new(Post, "/admin/routing/rules/{n}/delete", "/admin/routing/rules/0/delete", Session, ADMIN_POST),
        Case::new(Post, "/admin/routing/menu", "/admin/routing/menu", Session, ADMIN_POST)
            .form(&[("label_1", "appointments"), ("department_1", &dept)]),
        Case::new(
            Get,
            "/admin/departments/{id}/assignment",
            format!("/admin/departments/{dept}/assignment"),
            Session,
            ADMIN_PAGE,
        ),
        Case::new(
            Post,
            "/admin/departments/{id}/assignment/strategy",
            format!("/admin/departments/{dept}/assignment/strategy"),
            Session,
            ADMIN_POST,
        )
        .form(&[("strategy", "least_busy")]),
        Case::new(
            Post,
            "/admin/departments/{id}/members",
            format!("/admin/departments/{dept}/members"),
            Session,
            ADMIN_POST,
        )
        .form(&[("user_id", &ids.user.to_string()), ("capacity", "5")]),
        Case::new(
            Post,
            "/admin/departments/{id}/members/{user}/remove",
            format!("/admin/departments/{dept}/members/{}/remove", ids.user),
            Session,
            ADMIN_POST,
        ),
        Case::new(Get, "/availability", "/availability", Session, SIGNED_IN),
        // Auditors are never assigned: they cannot change availability.
        Case::new(Post, "/availability", "/availability", Session, [Forbidden, Forbidden, Allowed, Allowed, Allowed])
            .form(&[("available", "true")]),
        Case::new(Get, "/routing-rules", "/api/v1/routing-rules", Api, API),
        Case::new(Put, "/routing-rules", "/api/v1/routing-rules", Api, API).json(json!({"rules": []})),
        // ---- the front door: public form and policy (no session), admin settings ----
        // Without a form token the post reaches the handler and is refused (400).
        Case::new(Get, "/start", "/start", Public, PUBLIC),
        Case::new(Post, "/start", "/start", Public, [Reached; 5])
            .form(&[("first_name", "Ana"), ("phone", "+12127365098"), ("reason", "billing"), ("consent", "yes")]),
        Case::new(Get, "/sms-policy", "/sms-policy", Public, PUBLIC),
        Case::new(Get, "/admin/front-door", "/admin/front-door", Session, ADMIN_PAGE),
        Case::new(Post, "/admin/front-door", "/admin/front-door", Session, ADMIN_POST).form(&[
            ("enabled", "yes"),
            ("reasons", "billing | Billing\nappointments | Appointments"),
            ("countries", "US, CA"),
            ("origins", "https://www.maple.example"),
            ("per_ip", "10"),
            ("per_number", "3"),
        ]),
        Case::new(Post, "/admin/front-door/policy", "/admin/front-door/policy", Session, ADMIN_POST).form(&[
            ("purpose", "Appointments and billing."),
            ("frequency", "A few texts per request."),
            ("privacy", "We never sell your number."),
        ]),
        // ---- the audit log and patients' records (web/audit) ----
        Case::new(Get, "/audit", "/audit?action=conversation.view", Session, RECORDS_PAGE),
        Case::new(Get, "/audit.csv", "/audit.csv", Session, RECORDS_PAGE),
        Case::new(Get, "/patients/{id}/records", format!("/patients/{}/records", ids.patient), Session, RECORDS_PAGE),
        Case::new(Get, "/patients/{id}/export", format!("/patients/{}/export", ids.patient), Session, RECORDS_PAGE),
        Case::new(Post, "/patients/{id}/hold", format!("/patients/{}/hold", ids.patient), Session, ADMIN_POST)
            .form(&[("op", "set"), ("reason", "Records request pending")]),
        // ---- operations, assets, documentation ----
        Case::new(Get, "/healthz", "/healthz", Public, PUBLIC),
        Case::new(Get, "/readyz", "/readyz", Public, PUBLIC),
        Case::new(Get, "/metrics", "/metrics", Public, PUBLIC),
        Case::new(Get, "/static/{file}", "/static/app.css", Public, PUBLIC),
        Case::new(Get, "/openapi.json", "/api/v1/openapi.json", Public, PUBLIC),
        // ---- the simulator (public when enabled: a fake phone, origin-checked) ----
        Case::new(Get, "/simulator", "/simulator", Public, PUBLIC),
        Case::new(Post, "/simulator/send", "/simulator/send", Public, PUBLIC)
            .json(json!({"from": "+12127365077", "body": "Hello from the simulator"})),
        Case::new(Get, "/simulator/events", "/simulator/events?phone=%2B12127365077", Public, PUBLIC).stream(),
        // ---- the API: bearer tokens only, a session cookie is not enough ----
        Case::new(Get, "/conversations", "/api/v1/conversations", Api, API),
        Case::new(Get, "/conversations/{id}", format!("/api/v1/conversations/{c}"), Api, API),
        Case::new(Post, "/conversations/{id}/messages", format!("/api/v1/conversations/{c}/messages"), Api, API)
            .json(json!({"body": "hello"})),
        Case::new(Get, "/conversations/{id}/export", format!("/api/v1/conversations/{c}/export?format=fhir"), Api, API),
        Case::new(Post, "/messages", "/api/v1/messages", Api, API).json(json!({"to": PATIENT, "body": "hello"})),
        Case::new(Get, "/messages/{id}", format!("/api/v1/messages/{}", ids.inbound_message), Api, API),
        Case::new(Get, "/patients", "/api/v1/patients", Api, API),
        Case::new(Post, "/patients", "/api/v1/patients", Api, API).json(json!({"first_name": "A", "last_name": "B"})),
        Case::new(Get, "/patients/{id}", format!("/api/v1/patients/{}", ids.patient), Api, API),
        Case::new(Post, "/patients/import", "/api/v1/patients/import", Api, API),
        Case::new(Post, "/referrals", "/api/v1/referrals", Api, API).json(json!({"first_name": "A"})),
        Case::new(Post, "/referrals/import", "/api/v1/referrals/import", Api, API),
        Case::new(Get, "/events", "/api/v1/events", Api, API).stream(),
        Case::new(Get, "/front-door", "/api/v1/front-door", Api, API),
        Case::new(Put, "/front-door", "/api/v1/front-door", Api, API).json(json!({"enabled": true})),
        Case::new(Get, "/sms-policy", "/api/v1/sms-policy", Api, API),
        Case::new(Put, "/sms-policy", "/api/v1/sms-policy", Api, API)
            .json(json!({"purpose": "Reminders.", "frequency": "Rarely.", "privacy": "Private."})),
        Case::new(Get, "/departments", "/api/v1/departments", Api, API),
        Case::new(Get, "/departments/{id}/settings", format!("/api/v1/departments/{dept}/settings"), Api, API),
        Case::new(Put, "/departments/{id}/settings", format!("/api/v1/departments/{dept}/settings"), Api, API)
            .json(json!({"response_target_minutes": 30, "after_hours_text": "Closed; we reply {eta}. Call 911."})),
        Case::new(Get, "/audit", "/api/v1/audit", Api, API),
        Case::new(Get, "/patients/{id}/export", format!("/api/v1/patients/{}/export", ids.patient), Api, API),
        Case::new(Get, "/reports", "/api/v1/reports?days=7", Api, API),
        // ---- webhooks: a provider signature, nothing else, lets a request in ----
        Case::new(Post, "/twilio/messages", "/webhooks/twilio/messages", Webhook, WEBHOOK).form(&[
            ("MessageSid", "SM99999999999999999999999999999999"),
            ("AccountSid", ACCOUNT_SID),
            ("From", PATIENT),
            ("To", PRACTICE),
            ("Body", "forged"),
            ("NumMedia", "0"),
        ]),
        Case::new(Post, "/twilio/status", "/webhooks/twilio/status", Webhook, WEBHOOK).form(&[
            ("MessageSid", "SM99999999999999999999999999999999"),
            ("AccountSid", ACCOUNT_SID),
            ("MessageStatus", "delivered"),
        ]),
        Case::new(Post, "/telnyx", "/webhooks/telnyx", Webhook, WEBHOOK)
            .json(json!({"data": {"event_type": "message.received", "payload": {}}})),
        Case::new(Post, "/bandwidth", "/webhooks/bandwidth", Webhook, WEBHOOK)
            .json(json!([{"type": "message-received", "message": {}}])),
    ];
    // Signing in again and signing out end the session they are sent with: last.
    t.sort_by_key(|c| c.fresh_session);
    t
}

// ---- the app --------------------------------------------------------------------------------

pub(crate) struct Site {
    base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) services: Services,
    twilio: FakeTwilio,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Site {
    pub(crate) async fn start() -> Site {
        let twilio = FakeTwilio::start().await;
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut settings =
            Settings { data_dir: dir.path().to_path_buf(), public_url: Some(base.clone()), ..Settings::default() };
        settings.twilio.account_sid = Some(ACCOUNT_SID.into());
        settings.twilio.auth_token = Some(AUTH_TOKEN.into());
        settings.twilio.api_base = Some(twilio.base.clone());
        settings.twilio.timeout_secs = Some(2);
        // Telnyx and Bandwidth configured, so their webhooks check real signatures and
        // credentials (nothing is ever sent to them here).
        settings.telnyx.api_key = Some(TELNYX_API_KEY.into());
        settings.telnyx.public_key =
            Some(frontdesk_providers::telnyx::PublicKey::from_secret(&TELNYX_SECRET).to_base64());
        settings.telnyx.api_base = Some("http://127.0.0.1:9".into());
        let b = &mut settings.bandwidth;
        b.account_id = Some(BANDWIDTH_ACCOUNT.into());
        b.username = Some("bw-api-user".into());
        b.password = Some("bw-api-password".into());
        b.application_id = Some("bw-app".into());
        b.callback_username = Some(BANDWIDTH_CALLBACK_USER.into());
        b.callback_password = Some(BANDWIDTH_CALLBACK_PASSWORD.into());
        b.api_base = Some("http://127.0.0.1:9".into());
        settings.simulator.enabled = Some(true);
        settings.simulator.sent_after_ms = Some(10);
        settings.simulator.delivered_after_ms = Some(20);
        settings.dispatcher.retry_base_ms = 20;
        settings.dispatcher.retry_cap_secs = 1;
        settings.dispatcher.max_attempts = 2;
        let app = App::build(settings).await.expect("app builds");
        let services = app.services.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        let http = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Site { base, http, services, twilio, stop: Some(stop), handle: Some(handle), _dir: dir }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn department(&self, name: &str) -> Department {
        let d = Department { id: new_id(), name: name.into(), created_at: Utc::now() };
        let stored = d.clone();
        frontdesk_store::write(&*self.services.store, move |tx| {
            Box::pin(async move { tx.insert_department(&stored).await })
        })
        .await
        .unwrap();
        d
    }

    /// A session for someone who needs no second factor.
    pub(crate) async fn session(&self, email: &str) -> Browser {
        let signed = self.services.sign_in(email, PASSWORD, None).await.unwrap();
        Browser { cookie: format!("fd_session={}", signed.cookie_secret), csrf: signed.session.csrf_token }
    }

    /// An admin with two-factor on; returns the recovery codes (one per later session).
    pub(crate) async fn enrolled_admin(&self, email: &str) -> (Browser, Vec<String>) {
        self.services.create_user(email, "Ada Admin", Role::Admin, PASSWORD, Actor::System).await.unwrap();
        let signed = self.services.sign_in(email, PASSWORD, None).await.unwrap();
        let current = self.services.current_session(&signed.cookie_secret).await.unwrap().unwrap();
        let enrolment = self.services.begin_totp_enrolment(&current.user).await.unwrap();
        let code = totp_code_at(&enrolment.secret_base32, Utc::now()).unwrap();
        let enrolled = self.services.confirm_totp_enrolment(&current, &code, None).await.unwrap();
        (self.browser(&enrolled.cookie_secret).await, enrolled.recovery_codes)
    }

    /// A further admin session, its second factor a recovery code.
    async fn admin_session(&self, email: &str, recovery_code: &str) -> Browser {
        let signed = self.services.sign_in(email, PASSWORD, None).await.unwrap();
        let current = self.services.current_session(&signed.cookie_secret).await.unwrap().unwrap();
        let verified = self.services.verify_second_factor(&current, recovery_code, None).await.unwrap();
        self.browser(&verified).await
    }

    async fn browser(&self, secret: &str) -> Browser {
        let session = self.services.store.session_by_hash(&token_hash(secret)).await.unwrap().unwrap();
        Browser { cookie: format!("fd_session={secret}"), csrf: session.csrf_token }
    }

    /// A patient's text, signed as Twilio signs it.
    async fn inbound(&self, sid: &str, body: &str) {
        self.inbound_from(sid, PATIENT, body).await
    }

    /// A text from `from`, signed as Twilio signs it.
    pub(crate) async fn inbound_from(&self, sid: &str, from: &str, body: &str) {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", from),
            ("To", PRACTICE),
            ("Body", body),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = self.url("/webhooks/twilio/messages");
        let signature = compute(AUTH_TOKEN, &url, &params, Algorithm::HmacSha1);
        let r = self
            .http
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "a signed inbound text is accepted");
    }

    /// Sends one case; `csrf` decides whether the session's token goes with it.
    async fn send(&self, case: &Case, browser: Option<&Browser>, csrf: bool) -> Got {
        let mut request = match case.method {
            Get => self.http.get(self.url(&case.path)),
            Post => self.http.post(self.url(&case.path)),
            Put => self.http.put(self.url(&case.path)),
        };
        if let Some(b) = browser {
            request = request.header("cookie", &b.cookie);
        }
        let token = browser.filter(|_| csrf).map(|b| b.csrf.clone());
        request = match &case.body {
            Body::None => request,
            Body::Form(fields) => {
                let mut fields = fields.clone();
                if let Some(t) = token {
                    fields.push(("_csrf".into(), t));
                }
                request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(serde_urlencoded::to_string(&fields).unwrap())
            }
            Body::Json(value) => {
                let request = request.header("content-type", "application/json").body(value.to_string());
                match token {
                    Some(t) => request.header("x-csrf-token", t),
                    None => request,
                }
            }
        };
        if case.stream {
            request = request.header("accept", "text/event-stream");
        }
        let r = tokio::time::timeout(Duration::from_secs(20), request.send())
            .await
            .unwrap_or_else(|_| panic!("{:?} {} timed out", case.method, case.path))
            .unwrap();
        let status = r.status().as_u16();
        let location = r.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        if !case.stream {
            let _ = r.bytes().await;
        }
        Got { status, location }
    }
}

// ---- the router sources: what the table must cover --------------------------------------------

/// (method, route) for every route the routers declare, `/api/v1` and `/webhooks` included.
fn declared_routes() -> BTreeSet<(String, String)> {
    let sources: [(&str, &str); 10] = [
        ("mod.rs", include_str!("../../src/web/mod.rs")),
        ("auth.rs", include_str!("../../src/web/auth.rs")),
        ("admin.rs", include_str!("../../src/web/admin.rs")),
        ("admin_departments.rs", include_str!("../../src/web/admin_departments.rs")),
        ("dashboard/mod.rs", include_str!("../../src/web/dashboard/mod.rs")),
        ("simulator.rs", include_str!("../../src/web/simulator.rs")),
        ("routing.rs", include_str!("../../src/web/routing.rs")),
        ("front_door.rs", include_str!("../../src/web/front_door.rs")),
        ("audit.rs", include_str!("../../src/web/audit.rs")),
        ("referrals.rs", include_str!("../../src/web/referrals.rs")),
    ];
    let mut out = BTreeSet::new();
    for (file, text) in sources {
        let mut prefix = "";
        // `.route(` calls may be wrapped by rustfmt: join the source into one line per call.
        let flat: String = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        for (i, piece) in flat.split(".route(\"").enumerate() {
            // The prefix in force is decided by the `let` that precedes this call in mod.rs.
            if i == 0 {
                prefix = prefix_after(file, piece, prefix);
                continue;
            }
            let Some((route, rest)) = piece.split_once('"') else { continue };
            // Methods: `get(`, `post(` ... up to the call's closing `)` (approximated by the
            // next `.route(` or `;`, whichever comes first).
            let call = rest.split(';').next().unwrap_or(rest);
            for (method, token) in
                [("GET", "get("), ("POST", "post("), ("PUT", "put("), ("PATCH", "patch("), ("DELETE", "delete(")]
            {
                // `get(handler)` or `.post(handler)`, not `target(` or `delete_template(`.
                let declared = call
                    .match_indices(token)
                    .any(|(at, _)| call[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')));
                if declared {
                    out.insert((method.to_string(), format!("{prefix}{route}")));
                }
            }
            prefix = prefix_after(file, rest, prefix);
        }
    }
    out
}

/// In `web/mod.rs`, routes after `let api` are under `/api/v1`, after `let webhooks` under
/// `/webhooks`, after `let staff` or `let mut app` at the root.
fn prefix_after<'a>(file: &str, text: &str, current: &'a str) -> &'a str {
    if file != "mod.rs" {
        return current;
    }
    let marks = [("let api", "/api/v1"), ("let webhooks", "/webhooks"), ("let staff", ""), ("let mut app", "")];
    let mut best: Option<(usize, &'static str)> = None;
    for (mark, prefix) in marks {
        if let Some(at) = text.rfind(mark)
            && best.is_none_or(|(b, _)| at > b)
        {
            best = Some((at, prefix));
        }
    }
    match best {
        Some((_, p)) => p,
        None => current,
    }
}

fn full_route(case: &Case) -> String {
    match case.surface {
        Surface::Api => format!("/api/v1{}", case.route),
        Surface::Webhook => format!("/webhooks{}", case.route),
        Surface::Public if case.route == "/openapi.json" => "/api/v1/openapi.json".into(),
        _ => case.route.to_string(),
    }
}

// ---- the test -------------------------------------------------------------------------------

#[tokio::test]
async fn every_route_answers_each_kind_of_person_as_expected() {
    let site = Site::start().await;
    let services = &site.services;

    // Two departments; the practice number routes to the first.
    let front = site.department("Front desk").await;
    let billing = site.department("Billing").await;
    let number = NewNumber {
        e164: PRACTICE.into(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        rate_limit_per_sec: Some(200.0),
    };
    services.add_number_in(number, Some(front.id), Actor::System).await.unwrap();

    // The people.
    for (email, role) in [
        ("auditor@clinic.test", Role::Auditor),
        ("limited@clinic.test", Role::Staff),
        ("staff@clinic.test", Role::Staff),
        ("target@clinic.test", Role::Staff),
        (PROBE_EMAIL, Role::Staff),
    ] {
        services.create_user(email, "Pat Person", role, PASSWORD, Actor::System).await.unwrap();
    }
    let limited = services.store.user_by_email("limited@clinic.test").await.unwrap().unwrap();
    let only = billing.id;
    frontdesk_store::write(&*services.store, move |tx| {
        Box::pin(async move { tx.set_user_departments(limited.id, &[only]).await })
    })
    .await
    .unwrap();
    let target = services.store.user_by_email("target@clinic.test").await.unwrap().unwrap();
    let (admin, mut recovery) = site.enrolled_admin("admin@clinic.test").await;
    let auditor = site.session("auditor@clinic.test").await;
    let limited = site.session("limited@clinic.test").await;
    let staff = site.session("staff@clinic.test").await;

    // A conversation (in Front desk) from a signed inbound text, a failed reply in it, two
    // templates, a patient.
    site.inbound("SM00000000000000000000000000000001", "Hello, can I move my appointment?").await;
    let contact = services
        .store
        .contact_by_phone(&frontdesk_domain::E164::parse_strict(PATIENT).unwrap())
        .await
        .unwrap()
        .unwrap();
    let summary = services.store.contact_conversations(contact.id).await.unwrap().remove(0);
    let conversation = summary.conversation.id;
    assert_eq!(summary.conversation.department_id, Some(front.id));
    let messages = services.store.thread_messages(summary.thread.id).await.unwrap();
    let inbound_message = messages[0].id;
    site.twilio.push(Reply::Status(400, json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})));
    let fail = Case::new(Post, "/c/{id}/reply", format!("/c/{conversation}/reply"), Surface::Session, PUBLIC)
        .form(&[("body", "We will call you at noon.")]);
    let got = site.send(&fail, Some(&staff), true).await;
    assert_eq!(got.status, 303, "the reply that will fail is queued");
    let mut failed_message = None;
    for _ in 0..200 {
        failed_message = services
            .store
            .thread_messages(summary.thread.id)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.status == frontdesk_domain::MessageStatus::Failed)
            .map(|m| m.id);
        if failed_message.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed_message = failed_message.expect("the reply fails at the provider");
    let admin_ctx = services
        .staff_context(services.store.user_by_email("admin@clinic.test").await.unwrap().unwrap())
        .await
        .unwrap();
    let template =
        services.save_template(&admin_ctx, None, "Welcome", "Hello, this is the practice.", None).await.unwrap();
    let doomed = services.save_template(&admin_ctx, None, "Old", "An old template.", None).await.unwrap();
    let scheduled = services
        .schedule_message(frontdesk_services::outreach::ScheduleRequest {
            conversation_id: conversation,
            body: "Reminder: your visit is tomorrow.".into(),
            send_at: frontdesk_services::now() + chrono::TimeDelta::days(2),
            sender: frontdesk_domain::model::SenderKind::Staff,
            sender_user_id: None,
            actor: Actor::System,
            ip: None,
            phi_confirmed: false,
            automated: false,
        })
        .await
        .unwrap();
    let patient = services
        .create_patient(
            NewPatient {
                first_name: "Maria".into(),
                last_name: "Lopez".into(),
                birth_date: Some("1984-02-29".into()),
                mrn: Some("MRN-1".into()),
                phone: Some(PATIENT.into()),
                status: None,
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    services
        .create_patient(
            NewPatient {
                first_name: "Ana".into(),
                last_name: "Ruiz".into(),
                birth_date: None,
                mrn: Some("MRN-2".into()),
                phone: None,
                status: None,
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    let broadcast = services.send_broadcast(&admin_ctx, "Hi {patient.first_name}", "MRN-2", None).await.unwrap();

    let referral = services
        .create_referral(
            &frontdesk_services::referrals::NewReferral {
                first_name: "Rae".into(),
                last_name: "Quinn".into(),
                phone: "+14155550177".into(),
                source: "Valley Cardiology".into(),
                ..Default::default()
            },
            Actor::System,
            None,
        )
        .await
        .unwrap();
    let ids = Ids {
        conversation,
        inbound_message,
        failed_message,
        template: template.id,
        doomed_template: doomed.id,
        scheduled: scheduled.id,
        broadcast,
        user: target.id,
        department: front.id,
        patient: patient.id,
        referral: referral.referral.id,
    };
    let cases = table(&ids);

    // 3. The table covers every declared route.
    let covered: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| {
            let method = match c.method {
                Get => "GET",
                Post => "POST",
                Put => "PUT",
            };
            (method.to_string(), full_route(c))
        })
        .collect();
    let declared = declared_routes();
    assert!(declared.len() >= 50, "the router sources were read: {declared:?}");
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(missing.is_empty(), "routes with no row in the authorization table: {missing:?}");
    let stale: Vec<_> = covered.difference(&declared).collect();
    assert!(stale.is_empty(), "rows for routes the routers no longer declare: {stale:?}");

    let browser_of = |who: Who| -> Option<Browser> {
        match who {
            Who::Anonymous => None,
            Who::Auditor => Some(auditor.clone()),
            Who::Limited => Some(limited.clone()),
            Who::Staff => Some(staff.clone()),
            Who::Admin => Some(admin.clone()),
        }
    };

    let mut failures = Vec::new();

    // 1. No CSRF token: every POST of the session routes is refused for everyone signed in.
    for case in cases.iter().filter(|c| c.method == Post && c.surface == Surface::Session) {
        for who in EVERYONE.into_iter().filter(|w| *w != Who::Anonymous) {
            let got = site.send(case, browser_of(who).as_ref(), false).await;
            if got.status != 403 {
                failures.push(format!(
                    "POST {} ({}) as {who} without a CSRF token: expected 403, got {got}",
                    case.route, case.path
                ));
            }
        }
    }

    // 2. The matrix.
    let mut summary_rows = Vec::new();
    for case in &cases {
        let mut row = Vec::new();
        for who in EVERYONE {
            let expected = case.expected(who);
            let browser = match who {
                Who::Anonymous => None,
                _ if case.fresh_session => Some(match who {
                    Who::Auditor => site.session("auditor@clinic.test").await,
                    Who::Limited => site.session("limited@clinic.test").await,
                    Who::Staff => site.session("staff@clinic.test").await,
                    _ => site.admin_session("admin@clinic.test", &recovery.pop().unwrap()).await,
                }),
                _ => browser_of(who),
            };
            let got = site.send(case, browser.as_ref(), true).await;
            if expected == SignedOut
                && let Some(b) = &browser
            {
                let home = Case::new(Get, "/", "/", Surface::Session, SIGNED_IN);
                let after = site.send(&home, Some(b), false).await;
                if !SignIn.matches(&after) {
                    failures.push(format!("GET / after signing out as {who}: expected {SignIn}, got {after}"));
                }
            }
            if !expected.matches(&got) {
                failures.push(format!(
                    "{:?} {} ({}) as {who}: expected {expected}, got {got}",
                    case.method, case.route, case.path
                ));
            }
            row.push(got.status.to_string());
        }
        summary_rows.push(format!("{:<5} {:<40} {}", format!("{:?}", case.method), full_route(case), row.join(" ")));
    }
    eprintln!("method route                                    anon aud lim staff admin\n{}", summary_rows.join("\n"));

    // The API with its bearer token works (the 401s above are about the missing token).
    let (_, token) = services.create_api_token("authz", None, Actor::System).await.unwrap();
    for path in ["/api/v1/conversations", &format!("/api/v1/conversations/{conversation}")] {
        let r = site.http.get(site.url(path)).bearer_auth(&token).send().await.unwrap();
        if r.status() != 200 {
            failures.push(format!("GET {path} with a bearer token: expected 200, got {}", r.status()));
        }
    }

    assert!(failures.is_empty(), "{} authorization failures:\n{}", failures.len(), failures.join("\n"));
    site.stop().await;
}
