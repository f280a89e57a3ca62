//! Triage and assignment over HTTP: routing rules set by an admin route signed inbound texts
//! (first match wins, the reason shown in the conversation), bad rules are refused naming the
//! rule with nothing saved, the text menu is sent once and routes by digit, and conversations
//! are assigned round-robin or least-busy among available members with room.

use frontdesk_domain::Direction;
use frontdesk_domain::E164;
use frontdesk_domain::model::{Conversation, Department, ProviderKind, Role, UserId};
use frontdesk_services::audit::Actor;
use frontdesk_services::numbers::NewNumber;
use serde_json::{Value, json};

use crate::authz::{Browser, Site};
use crate::support::PRACTICE;

const PASSWORD: &str = "correct horse battery staple";

async fn setup() -> (Site, Browser, Department, Department) {
    let site = Site::start().await;
    let number = NewNumber {
        e164: PRACTICE.into(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        rate_limit_per_sec: Some(200.0),
    };
    site.services.add_number_in(number, None, Actor::System).await.unwrap();
    let billing = site.services.add_department_as("Billing", Actor::System, None).await.unwrap();
    let appointments = site.services.add_department_as("Appointments", Actor::System, None).await.unwrap();
    let (admin, _) = site.enrolled_admin("admin@clinic.test").await;
    (site, admin, billing, appointments)
}

/// A patient's text, signed as Twilio signs it; answered 200.
async fn text(site: &Site, sid: &str, from: &str, body: &str) {
    site.inbound_from(sid, from, body).await
}

/// The patient's current conversation.
async fn conversation_of(site: &Site, from: &str) -> Conversation {
    let contact = site.services.store.contact_by_phone(&E164::parse_strict(from).unwrap()).await.unwrap().unwrap();
    site.services.store.contact_conversations(contact.id).await.unwrap().remove(0).conversation
}

async fn routing_notes(site: &Site, c: &Conversation) -> Vec<String> {
    let notes = site.services.store.thread_notes(c.thread_id).await.unwrap();
    notes.into_iter().filter(|n| n.author_id.is_none()).map(|n| n.body).collect()
}

async fn outbound_bodies(site: &Site, c: &Conversation) -> Vec<String> {
    let messages = site.services.store.thread_messages(c.thread_id).await.unwrap();
    messages.into_iter().filter(|m| m.direction == Direction::Outbound).map(|m| m.body).collect()
}

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

async fn api(site: &Site, token: &str, method: reqwest::Method, body: Option<Value>) -> (u16, Value) {
    let mut r = site.http.request(method, site.url("/api/v1/routing-rules")).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn rules_route_inbound_texts_in_order_with_the_reason_in_the_conversation() {
    let (site, admin, billing, appointments) = setup().await;
    let (status, page) = get(&site, &admin, "/admin/departments").await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/admin/routing\""), "linked from the departments page");

    // The admin adds two rules on the page.
    let billing_id = billing.id.to_string();
    let appointments_id = appointments.id.to_string();
    let (status, location, body) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[("index", ""), ("name", "Billing words"), ("keywords", "invoice, bill"), ("department_id", &billing_id)],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/admin/routing?done=saved"), "{body}");
    let (status, _, _) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[
            ("name", "Scheduling"),
            ("keywords", "appointment, reschedule"),
            ("department_id", &appointments_id),
            ("priority", "high"),
            ("tags", "scheduling"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, page) = get(&site, &admin, "/admin/routing").await;
    let first = page.find("1. Billing words").expect("rule 1 listed");
    let second = page.find("2. Scheduling").expect("rule 2 listed");
    assert!(first < second);

    // Both rules match: the first wins.
    text(&site, "SM10000000000000000000000000000001", "+12127365001", "Question about my invoice and my appointment")
        .await;
    let c = conversation_of(&site, "+12127365001").await;
    assert_eq!(c.department_id, Some(billing.id));
    let notes = routing_notes(&site, &c).await;
    assert_eq!(notes, vec!["Routing: routed to Billing: rule 'Billing words' matched 'invoice'".to_string()]);
    // The reason is visible, set apart from staff notes, on the conversation page.
    let (status, page) = get(&site, &admin, &format!("/c/{}", c.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains("class=\"entry routing\""), "{page}");
    assert!(page.contains("routed to Billing: rule &#39;Billing words&#39; matched &#39;invoice&#39;"), "{page}");

    // Only the second matches: priority and tags are set.
    text(&site, "SM10000000000000000000000000000002", "+12127365002", "Can I reschedule please?").await;
    let c2 = conversation_of(&site, "+12127365002").await;
    assert_eq!(c2.department_id, Some(appointments.id));
    let badges = site.services.routing_badges(c2.id).await.unwrap();
    assert!(badges.high_priority);
    assert_eq!(badges.tags, vec!["scheduling".to_string()]);
    assert!(routing_notes(&site, &c2).await[0].ends_with("matched 'reschedule'; priority high; tagged scheduling"));
    let (_, page) = get(&site, &admin, &format!("/c/{}", c2.id)).await;
    assert!(
        page.contains("<span class=\"flag priority-flag\">High priority</span> <span class=\"tag\">scheduling</span>"),
        "{page}"
    );

    // Move the second rule up: the same kind of text now goes to Appointments.
    let (status, location, _) = post(&site, &admin, "/admin/routing/rules/1/move", &[("direction", "up")]).await;
    assert_eq!((status, location.as_str()), (303, "/admin/routing?done=moved"));
    text(&site, "SM10000000000000000000000000000003", "+12127365003", "invoice for my appointment").await;
    assert_eq!(conversation_of(&site, "+12127365003").await.department_id, Some(appointments.id));

    // Nothing matches: unrouted, and said so. Keyword texts are not triaged.
    text(&site, "SM10000000000000000000000000000004", "+12127365004", "Hello there").await;
    let c4 = conversation_of(&site, "+12127365004").await;
    assert_eq!(c4.department_id, None);
    assert_eq!(
        routing_notes(&site, &c4).await,
        vec!["Routing: no rule matched, so the conversation waits in the unrouted queue".to_string()]
    );
    text(&site, "SM10000000000000000000000000000005", "+12127365005", "HELP").await;
    let c5 = conversation_of(&site, "+12127365005").await;
    assert!(routing_notes(&site, &c5).await.is_empty());

    // A later text in a routed conversation does not re-route it.
    text(&site, "SM10000000000000000000000000000006", "+12127365001", "reschedule").await;
    assert_eq!(conversation_of(&site, "+12127365001").await.department_id, Some(billing.id));

    // Edit the second rule (Billing words) in place: the form comes filled in.
    let (_, page) = get(&site, &admin, "/admin/routing?edit=1").await;
    assert!(page.contains("Edit rule Billing words"), "{page}");
    assert!(page.contains("value=\"invoice, bill\""), "{page}");
    let (status, _, _) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[
            ("index", "1"),
            ("name", "Billing words"),
            ("keywords", "invoice, bill, payment"),
            ("department_id", &billing_id),
        ],
    )
    .await;
    assert_eq!(status, 303);
    // An edit that makes a later rule unreachable is refused, naming both; nothing changes.
    let (status, _, page) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[
            ("index", "0"),
            ("name", "Scheduling"),
            ("keywords", "bill, invoice, payment"),
            ("department_id", &appointments_id),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("rule &#39;Billing words&#39; can never match: rule &#39;Scheduling&#39;"), "{page}");
    let config = site.services.routing_config().await.unwrap();
    assert_eq!(config.rules[0].keywords, vec!["appointment".to_string(), "reschedule".to_string()]);
    assert_eq!(config.rules[1].keywords, vec!["invoice".to_string(), "bill".to_string(), "payment".to_string()]);

    // Delete the first rule (now Scheduling).
    let (status, _, _) = post(&site, &admin, "/admin/routing/rules/0/delete", &[]).await;
    assert_eq!(status, 303);
    let config = site.services.routing_config().await.unwrap();
    assert_eq!(config.rules.len(), 1);
    assert_eq!(config.rules[0].name, "Billing words");
    site.stop().await;
}

#[tokio::test]
async fn invalid_rules_are_refused_naming_the_rule_and_nothing_is_saved() {
    let (site, admin, billing, appointments) = setup().await;
    let (_, token) = site.services.create_api_token("triage", None, Actor::System).await.unwrap();
    let good = json!({
        "rules": [
            {"name": "Billing words", "keywords": ["invoice", "bill"], "department_id": billing.id},
            {"name": "Labs", "pattern": "lab\\s+results?", "department_id": appointments.id, "priority": "high"}
        ],
        "menu": {"enabled": false, "options": []}
    });
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(good.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rules"][1]["pattern"], "lab\\s+results?");

    // A pattern that does not compile: 422 naming the rule and field.
    let mut bad = good.clone();
    bad["rules"][1]["pattern"] = json!("lab(results");
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(bad)).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "rules[1].pattern");
    assert!(body["error"]["message"].as_str().unwrap().contains("rule 'Labs'"), "{body}");

    // A rule an earlier one makes unreachable: both named.
    let mut unreachable = good.clone();
    unreachable["rules"][1] = json!({"name": "Invoices", "keywords": ["my invoice"], "department_id": appointments.id});
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(unreachable)).await;
    assert_eq!(status, 422, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("'Invoices'") && message.contains("'Billing words'"), "{message}");

    // Unknown department, duplicate names, bad priority.
    let mut unknown = good.clone();
    unknown["rules"][0]["department_id"] = json!(uuid::Uuid::nil());
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(unknown)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("rules[0].department_id")), "{body}");
    let mut duplicate = good.clone();
    duplicate["rules"][1]["name"] = json!("billing WORDS");
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(duplicate)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("rules[1].name")), "{body}");
    let mut priority = good.clone();
    priority["rules"][0]["priority"] = json!("urgent");
    let (status, body) = api(&site, &token, reqwest::Method::PUT, Some(priority)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("rules[0].priority")), "{body}");

    // Nothing of that was saved.
    let (status, body) = api(&site, &token, reqwest::Method::GET, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["rules"].as_array().unwrap().len(), 2);
    assert_eq!(body["rules"][1]["name"], "Labs");

    // The page refuses the same way, with the field marked and the input kept.
    let (status, _, page) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[("name", "Broken"), ("pattern", "(unclosed"), ("department_id", &billing.id.to_string())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("rule &#39;Broken&#39;: the pattern is not a valid regular expression"), "{page}");
    assert!(page.contains("name=\"pattern\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" value=\"(unclosed\" aria-invalid=\"true\""), "{page}");
    let (status, _, page) = post(
        &site,
        &admin,
        "/admin/routing/rules",
        &[("name", "Bills again"), ("keywords", "bill"), ("department_id", &appointments.id.to_string())],
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("rule &#39;Bills again&#39; can never match: rule &#39;Billing words&#39;"), "{page}");
    assert_eq!(site.services.routing_config().await.unwrap().rules.len(), 2);

    // A pattern's match quotes the patient in the conversation (sealed), never in the audit log.
    text(&site, "SM10000000000000000000000000000009", "+12127365009", "Are my LAB RESULTS in yet?").await;
    let c = conversation_of(&site, "+12127365009").await;
    assert_eq!(c.department_id, Some(appointments.id));
    assert_eq!(
        routing_notes(&site, &c).await,
        vec![
            "Routing: routed to Appointments: rule 'Labs' matched pattern /lab\\s+results?/ on 'LAB RESULTS'; priority high"
                .to_string()
        ]
    );
    let audit = site.services.store.list_audit(100).await.unwrap();
    let entry = audit.iter().find(|a| a.action == "routing.rule").expect("the routing decision is audited");
    assert_eq!(
        entry.detail.as_deref(),
        Some("routed to Appointments: rule 'Labs' matched pattern /lab\\s+results?/; priority high")
    );

    // The API is in the OpenAPI document.
    let doc: Value = site.http.get(site.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/api/v1/routing-rules"]["put"].is_object(), "{}", doc["paths"]);
    site.stop().await;
}

#[tokio::test]
async fn the_menu_is_sent_once_and_routes_by_digit_else_falls_back() {
    let (site, admin, billing, appointments) = setup().await;
    let (status, _, body) = post(
        &site,
        &admin,
        "/admin/routing/menu",
        &[
            ("enabled", "on"),
            ("label_1", "appointments"),
            ("department_1", &appointments.id.to_string()),
            ("label_2", "billing"),
            ("department_2", &billing.id.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 303, "{body}");

    // A first text that no rule routes gets the menu, once.
    let ana = "+12127365011";
    text(&site, "SM20000000000000000000000000000001", ana, "Hi, I have a question").await;
    let c = conversation_of(&site, ana).await;
    assert_eq!(outbound_bodies(&site, &c).await, vec!["Reply 1 for appointments, 2 for billing.".to_string()]);
    text(&site, "SM20000000000000000000000000000002", ana, "2").await;
    let c = conversation_of(&site, ana).await;
    assert_eq!(c.department_id, Some(billing.id));
    assert_eq!(outbound_bodies(&site, &c).await.len(), 1, "the menu is not repeated");
    let notes = routing_notes(&site, &c).await;
    assert_eq!(notes.last().unwrap(), "Routing: routed to Billing: the patient chose 2 (billing) from the text menu");

    // Any other answer: the unrouted queue, and no second menu.
    let ben = "+12127365012";
    text(&site, "SM20000000000000000000000000000003", ben, "hello").await;
    text(&site, "SM20000000000000000000000000000004", ben, "I just want to talk to someone").await;
    text(&site, "SM20000000000000000000000000000005", ben, "1").await;
    let c = conversation_of(&site, ben).await;
    assert_eq!(c.department_id, None);
    assert_eq!(outbound_bodies(&site, &c).await.len(), 1);
    assert!(
        routing_notes(&site, &c).await.iter().any(|n| n.contains("did not choose a menu option")),
        "{:?}",
        routing_notes(&site, &c).await
    );

    // Menu off: nothing is sent.
    let (status, _, _) = post(
        &site,
        &admin,
        "/admin/routing/menu",
        &[("label_1", "appointments"), ("department_1", &appointments.id.to_string())],
    )
    .await;
    assert_eq!(status, 303);
    let cy = "+12127365013";
    text(&site, "SM20000000000000000000000000000006", cy, "hello").await;
    assert!(outbound_bodies(&site, &conversation_of(&site, cy).await).await.is_empty());
    site.stop().await;
}

/// A new patient texts about their bill; their conversation.
async fn billing_text(site: &Site, n: &mut u32) -> Conversation {
    *n += 1;
    let from = format!("+1212736{:04}", 5100 + *n);
    text(site, &format!("SM3000000000000000000000000000{:04}", *n), &from, "a question about my bill").await;
    conversation_of(site, &from).await
}

async fn staff(site: &Site, email: &str, name: &str) -> UserId {
    site.services.create_user(email, name, Role::Staff, PASSWORD, Actor::System).await.unwrap().id
}

#[tokio::test]
async fn assignment_takes_turns_skips_unavailable_and_full_members_and_least_busy_picks_the_emptiest() {
    let (site, admin, billing, _) = setup().await;
    let (_, token) = site.services.create_api_token("triage", None, Actor::System).await.unwrap();
    let rules = json!({"rules": [{"name": "Bills", "keywords": ["bill"], "department_id": billing.id}]});
    assert_eq!(api(&site, &token, reqwest::Method::PUT, Some(rules)).await.0, 200);
    // Created in this order, so round-robin order is Ann, Bob, Cat.
    let ann = staff(&site, "ann@clinic.test", "Ann Archer").await;
    let bob = staff(&site, "bob@clinic.test", "Bob Baker").await;
    let cat = staff(&site, "cat@clinic.test", "Cat Cole").await;
    let members = format!("/admin/departments/{}/members", billing.id);
    for (user, capacity) in [(ann, "5"), (bob, "5"), (cat, "1")] {
        let (status, _, body) =
            post(&site, &admin, &members, &[("user_id", &user.to_string()), ("capacity", capacity)]).await;
        assert_eq!(status, 303, "{body}");
    }
    let (status, _, page) = post(&site, &admin, &members, &[("user_id", &ann.to_string()), ("capacity", "0")]).await;
    assert_eq!(status, 422);
    assert!(page.contains("give a capacity from 1 to 500"), "{page}");
    let (status, page) = get(&site, &admin, &format!("/admin/departments/{}/assignment", billing.id)).await;
    assert_eq!(status, 200);
    assert!(page.contains("Ann Archer") && page.contains("Cat Cole"), "{page}");

    let mut n = 0;

    // Round-robin: Ann, Bob, Cat, then Ann again (Cat is full at 1).
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(billing_text(&site, &mut n).await);
    }
    let who: Vec<_> = got.iter().map(|c| c.assignee_id).collect();
    assert_eq!(who, vec![Some(ann), Some(bob), Some(cat), Some(ann)]);
    let notes = routing_notes(&site, &got[0]).await;
    assert_eq!(notes[1], "Routing: assigned to Ann Archer by round-robin in Billing (0 of 5 open)");
    assert!(routing_notes(&site, &got[3]).await[1].contains("skipped Cat Cole (at capacity 1/1)"));

    // Bob turns himself unavailable: skipped.
    let bob_browser = site.session("bob@clinic.test").await;
    let (status, location, _) = post(&site, &bob_browser, "/availability", &[("available", "false")]).await;
    assert_eq!((status, location.as_str()), (303, "/availability?done=saved"));
    let (_, page) = get(&site, &bob_browser, "/availability").await;
    assert!(page.contains("You are <strong>unavailable</strong>"), "{page}");
    let c = billing_text(&site, &mut n).await;
    assert_eq!(c.assignee_id, Some(ann));
    let note = &routing_notes(&site, &c).await[1];
    assert!(note.contains("Bob Baker (unavailable)") && note.contains("Cat Cole (at capacity 1/1)"), "{note}");

    // Least busy: Ann has 3 open, Bob 1 (available again), Cat is full: Bob.
    post(&site, &bob_browser, "/availability", &[("available", "true")]).await;
    let strategy = format!("/admin/departments/{}/assignment/strategy", billing.id);
    let (status, _, _) = post(&site, &admin, &strategy, &[("strategy", "least_busy")]).await;
    assert_eq!(status, 303);
    let (status, _, _) = post(&site, &admin, &strategy, &[("strategy", "fastest")]).await;
    assert_eq!(status, 422);
    let c = billing_text(&site, &mut n).await;
    assert_eq!(c.assignee_id, Some(bob));
    assert!(routing_notes(&site, &c).await[1].contains("as the least busy member of Billing (1 of 5 open)"));
    let c = billing_text(&site, &mut n).await;
    assert_eq!(c.assignee_id, Some(bob), "still the emptiest (2 against Ann's 3)");

    // Nobody available with room: unassigned, and said so.
    for user in [ann, bob] {
        let (status, _, _) =
            post(&site, &admin, &format!("/admin/departments/{}/members/{user}/remove", billing.id), &[]).await;
        assert_eq!(status, 303);
    }
    let c = billing_text(&site, &mut n).await;
    assert_eq!(c.assignee_id, None);
    assert!(routing_notes(&site, &c).await[1].starts_with("Routing: no member of Billing is available with room"));
    // Every decision is audited.
    let audit = site.services.store.list_audit(500).await.unwrap();
    assert!(audit.iter().filter(|a| a.action == "assignment.auto").count() >= 7);
    assert!(audit.iter().any(|a| a.action == "assignment.none"));
    assert!(audit.iter().any(|a| a.action == "routing.rule"));
    site.stop().await;
}
