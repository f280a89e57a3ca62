//! Conformance scenarios for triage and assignment: the routing document, conversation routing
//! state, department members with availability and open-conversation counts, the assignment
//! setting and its cursor. SQLite always; PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use frontdesk_domain::E164;
use frontdesk_domain::model::*;
use frontdesk_store::triage::{AssignmentSetting, ConversationRouting};

use support::{Harness, t, w};

conformance!(routing_document_and_conversation_state_round_trip, members_pool_availability_and_cursor);

fn user(email: &str, name: &str, disabled: bool) -> User {
    User {
        id: new_id(),
        email: email.into(),
        name: name.into(),
        role: Role::Staff,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$abc$def".into(),
        disabled,
        created_at: t(10),
    }
}

async fn routing_document_and_conversation_state_round_trip(h: Harness) {
    let s = h.store.clone();
    assert_eq!(s.routing_document().await.unwrap(), None);
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550001").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    let (conversation, contact) = w(&s, move |tx| {
        Box::pin(async move {
            tx.put_routing_document(r#"{"rules":[]}"#, t(1)).await?;
            tx.put_routing_document(r#"{"rules":[{"name":"x"}]}"#, t(2)).await?;
            assert_eq!(tx.routing_document().await?.as_deref(), Some(r#"{"rules":[{"name":"x"}]}"#));
            tx.insert_number(&number).await?;
            let contact = tx.upsert_contact(&E164::parse_strict("+14155550001").unwrap(), t(2)).await?;
            let thread = tx.upsert_thread_for_update(number.id, contact.id, t(3)).await?;
            let conversation = Conversation::open(thread.id, None, t(4));
            tx.insert_conversation(&conversation).await?;
            assert_eq!(tx.conversation_routing(conversation.id).await?, None);
            assert!(tx.contact_patient_statuses(contact.id).await?.is_empty());
            let routing = ConversationRouting {
                priority: "high".into(),
                tags: vec!["billing".into(), "new".into()],
                menu_state: "sent".into(),
            };
            tx.put_conversation_routing(conversation.id, &routing, t(5)).await?;
            let mut changed = routing.clone();
            changed.menu_state = "done".into();
            tx.put_conversation_routing(conversation.id, &changed, t(6)).await?;
            assert_eq!(tx.conversation_routing(conversation.id).await?, Some(changed));
            Ok((conversation, contact))
        })
    })
    .await
    .unwrap();
    assert_eq!(s.routing_document().await.unwrap().as_deref(), Some(r#"{"rules":[{"name":"x"}]}"#));
    let read = s.conversation_routing(conversation.id).await.unwrap().unwrap();
    assert_eq!((read.priority.as_str(), read.menu_state.as_str()), ("high", "done"));
    assert_eq!(read.tags, vec!["billing".to_string(), "new".to_string()]);

    // A contact linked to a patient counts as one.
    let patient = Patient {
        id: new_id(),
        first_name: "Ana".into(),
        last_name: "Diaz".into(),
        birth_date: None,
        mrn: None,
        phone: None,
        status: PatientStatus::Prospective,
        created_at: t(7),
    };
    let linked = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_patient(&patient).await?;
            tx.link_contact_patient(contact.id, patient.id).await?;
            tx.contact_patient_statuses(contact.id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(linked, vec!["prospective".to_string()]);
}

async fn members_pool_availability_and_cursor(h: Harness) {
    let s = h.store.clone();
    let department = Department { id: new_id(), name: "Billing".into(), created_at: t(0) };
    let other = Department { id: new_id(), name: "Front".into(), created_at: t(0) };
    let ann = user("ann@example.test", "Ann", false);
    let bob = user("bob@example.test", "Bob", false);
    let gone = user("gone@example.test", "Gone", true);
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550002").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    let d = department.id;
    let (a, b, g) = (ann.id, bob.id, gone.id);
    w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_department(&department).await?;
            tx.insert_department(&other).await?;
            for u in [&ann, &bob, &gone] {
                tx.insert_user(u).await?;
            }
            tx.put_department_member(d, a, 2).await?;
            tx.put_department_member(d, b, 1).await?;
            tx.put_department_member(d, b, 3).await?; // capacity changed, not duplicated
            tx.put_department_member(d, g, 5).await?;
            tx.put_department_member(other.id, a, 9).await?;
            tx.put_user_available(b, false, t(2)).await?;
            // Ann has two open conversations (in any department) and one closed.
            tx.insert_number(&number).await?;
            for (i, status) in [ConversationStatus::Open, ConversationStatus::Waiting, ConversationStatus::Closed]
                .into_iter()
                .enumerate()
            {
                let contact = tx.upsert_contact(&E164::parse_strict(&format!("+1415555010{i}")).unwrap(), t(3)).await?;
                let thread = tx.upsert_thread_for_update(number.id, contact.id, t(3)).await?;
                let mut c = Conversation::open(thread.id, Some(other.id), t(4));
                c.assignee_id = Some(a);
                c.status = status;
                tx.insert_conversation(&c).await?;
            }
            assert_eq!(tx.department_name(d).await?.as_deref(), Some("Billing"));
            assert_eq!(tx.user_name(b).await?.as_deref(), Some("Bob"));
            assert_eq!(tx.user_name(new_id()).await?, None);
            // The default setting is created on first use.
            let setting = tx.department_assignment_for_update(d).await?;
            assert_eq!(setting, AssignmentSetting { strategy: "round_robin".into(), last_user_id: None });
            tx.put_department_assignment(
                d,
                &AssignmentSetting { strategy: "least_busy".into(), last_user_id: Some(a) },
            )
            .await?;
            assert_eq!(tx.department_assignment_for_update(d).await?.last_user_id, Some(a));
            let pool = tx.department_pool(d).await?;
            assert_eq!(pool.len(), 2, "disabled accounts are not in the pool");
            Ok(())
        })
    })
    .await
    .unwrap();

    let pool = s.department_pool(d).await.unwrap();
    let mut expected = vec![(a, 2, true, 2), (b, 3, false, 0)];
    expected.sort_by_key(|e| e.0);
    let got: Vec<_> = pool.iter().map(|m| (m.user_id, m.capacity, m.available, m.open_assigned)).collect();
    assert_eq!(got, expected, "ordered by user id");
    assert!(s.user_available(a).await.unwrap(), "available unless turned off");
    assert!(!s.user_available(b).await.unwrap());
    let setting = s.department_assignment(d).await.unwrap().unwrap();
    assert_eq!(setting.strategy, "least_busy");

    w(&s, move |tx| {
        Box::pin(async move {
            tx.remove_department_member(d, b).await?;
            tx.put_user_available(b, true, t(5)).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.department_pool(d).await.unwrap().len(), 1);
    assert!(s.user_available(b).await.unwrap());
}
