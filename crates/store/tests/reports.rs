//! Conformance scenarios for reports: one day's facts (messages by time, the conversations
//! the day touches with their first reply and carried-over wait, consent revocations, forms)
//! and the stored day rollups. SQLite always; PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL`
//! is set.

mod support;

use std::collections::HashMap;

use chrono::NaiveDate;
use frontdesk_domain::forms::{FormRequest, FormRequestStatus};
use frontdesk_domain::model::*;
use frontdesk_domain::reports::{AlwaysOpen, Source, compute_day};
use frontdesk_domain::{Direction, E164, MessageStatus};
use frontdesk_store::StoredDay;

use support::{Harness, t, w};

conformance!(day_facts_cover_the_day_and_what_it_touches, report_days_upsert_and_range);

const DAY: i64 = 1_000_000_000;
const H: i64 = 3_600_000;

fn message(c: &Conversation, dir: Direction, sender: SenderKind, at: i64) -> Message {
    Message {
        id: new_id(),
        conversation_id: c.id,
        thread_id: c.thread_id,
        direction: dir,
        body: "never read by reports".into(),
        media: vec![],
        sender,
        sender_user_id: None,
        provider: ProviderKind::Simulator,
        provider_message_id: None,
        status: if dir == Direction::Inbound { MessageStatus::Received } else { MessageStatus::Delivered },
        error_code: None,
        error_message: None,
        encoding: "GSM-7".into(),
        segments: 2,
        created_at: t(at),
        updated_at: t(at),
        needs_review: false,
    }
}

fn form(c: &Conversation, token: &str, created: i64, submitted: Option<i64>) -> FormRequest {
    FormRequest {
        id: new_id(),
        token_hash: token.into(),
        conversation_id: c.id,
        form_key: "phq-9".into(),
        status: if submitted.is_some() { FormRequestStatus::Submitted } else { FormRequestStatus::Sent },
        created_at: t(created),
        expires_at: t(created + 72 * H),
        opened_at: None,
        submitted_at: submitted.map(t),
        dob_attempts: 0,
        locked_until: None,
        sent_by: None,
    }
}

async fn day_facts_cover_the_day_and_what_it_touches(h: Harness) {
    let s = h.store.clone();
    let dept = Department { id: new_id(), name: "Front desk".into(), created_at: t(0) };
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550100").unwrap(),
        provider: ProviderKind::Simulator,
        messaging_service_sid: None,
        default_department_id: Some(dept.id),
        rate_limit_per_sec: 1.0,
        created_at: t(0),
    };
    let (d, nb) = (dept.clone(), number.clone());
    let ids = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_department(&d).await?;
            tx.insert_number(&nb).await?;
            let contact = tx.upsert_contact(&E164::parse_strict("+14155550101").unwrap(), t(0)).await?;
            let thread = tx.upsert_thread_for_update(nb.id, contact.id, t(0)).await?;
            // A: the patient wrote yesterday evening and twice since the last reply; answered
            // in the day, then wrote again in the day.
            let a = Conversation::open(thread.id, Some(d.id), t(DAY - 5 * H));
            tx.insert_conversation(&a).await?;
            tx.insert_message(&message(&a, Direction::Inbound, SenderKind::Patient, DAY - 5 * H)).await?;
            tx.insert_message(&message(&a, Direction::Outbound, SenderKind::Staff, DAY - 4 * H)).await?;
            tx.insert_message(&message(&a, Direction::Inbound, SenderKind::Patient, DAY - 3 * H)).await?;
            tx.insert_message(&message(&a, Direction::Inbound, SenderKind::Patient, DAY - 2 * H)).await?;
            tx.insert_message(&message(&a, Direction::Outbound, SenderKind::Staff, DAY + H)).await?;
            tx.insert_message(&message(&a, Direction::Inbound, SenderKind::Patient, DAY + 2 * H)).await?;
            // B: staff outreach opened in the day, then an automatic message.
            let b = Conversation::open(thread.id, None, t(DAY + 3 * H));
            tx.insert_conversation(&b).await?;
            tx.set_conversation_origin(b.id, frontdesk_domain::front_door::ConversationSource::StaffOutreach, None)
                .await?;
            tx.insert_message(&message(&b, Direction::Outbound, SenderKind::Staff, DAY + 3 * H)).await?;
            tx.insert_message(&message(&b, Direction::Outbound, SenderKind::Automation, DAY + 4 * H)).await?;
            // C: opened two days ago, closed in the day, nothing said in the day.
            let mut c = Conversation::open(thread.id, None, t(DAY - 48 * H));
            tx.insert_conversation(&c).await?;
            tx.insert_message(&message(&c, Direction::Inbound, SenderKind::Patient, DAY - 48 * H)).await?;
            c.status = ConversationStatus::Closed;
            c.closed_at = Some(t(DAY + 5 * H));
            tx.update_conversation(&c).await?;
            // D: untouched by the day.
            let dd = Conversation::open(thread.id, None, t(DAY - 30 * H));
            tx.insert_conversation(&dd).await?;
            tx.insert_message(&message(&dd, Direction::Inbound, SenderKind::Patient, DAY - 30 * H)).await?;
            tx.insert_message(&message(&dd, Direction::Outbound, SenderKind::Staff, DAY + 25 * H)).await?;
            for (at, granted) in [(DAY - H, false), (DAY + H, false), (DAY + 2 * H, true)] {
                tx.insert_consent_event(&ConsentEvent {
                    id: new_id(),
                    contact_id: contact.id,
                    purpose: ConsentPurpose::Sms,
                    granted,
                    source: ConsentSource::Keyword,
                    evidence: "STOP".into(),
                    created_at: t(at),
                })
                .await?;
            }
            tx.insert_form_request(&form(&c, "f1", DAY - 30 * H, Some(DAY + 6 * H))).await?;
            tx.insert_form_request(&form(&b, "f2", DAY + 7 * H, None)).await?;
            tx.insert_form_request(&form(&dd, "f3", DAY - 29 * H, None)).await?;
            Ok((contact.id, a.id, b.id, c.id))
        })
    })
    .await
    .unwrap();
    let (contact, a, b, c) = ids;
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let facts = s.report_day_facts(day, t(DAY), t(DAY + 24 * H)).await.unwrap();
    assert_eq!(facts.messages.len(), 4, "{:?}", facts.messages);
    assert!(facts.messages.windows(2).all(|p| p[0].created_at <= p[1].created_at));
    assert_eq!(facts.messages[0].segments, 2);
    assert_eq!(facts.messages[3].sender, SenderKind::Automation);
    let convs: HashMap<_, _> = facts.conversations.iter().map(|c| (c.id, c)).collect();
    assert_eq!(convs.len(), 3, "A, B, C; not D");
    let fa = convs[&a];
    assert_eq!(fa.source, Source::PatientText);
    assert_eq!(fa.department_id, Some(dept.id));
    assert_eq!((fa.number_id, fa.contact_id), (number.id, contact));
    assert_eq!(fa.first_reply_at, Some(t(DAY - 4 * H)));
    assert_eq!(fa.waiting_at_start, Some(t(DAY - 3 * H)), "the first text after the last reply");
    assert_eq!(convs[&b].source, Source::StaffOutreach);
    assert_eq!(convs[&b].waiting_at_start, None);
    assert_eq!(convs[&c].closed_at, Some(t(DAY + 5 * H)));
    assert_eq!(convs[&c].waiting_at_start, Some(t(DAY - 48 * H)));
    assert_eq!(facts.opt_outs.len(), 1);
    assert_eq!(facts.opt_outs[0].at, t(DAY + H));
    assert_eq!(facts.forms.len(), 2);

    let r = compute_day(&facts, chrono_tz::UTC, &AlwaysOpen);
    assert_eq!(r.total.messages_in, 1);
    assert_eq!(r.total.messages_out, 3);
    assert_eq!(r.total.auto_replies, 1);
    assert_eq!(r.total.reply.count(), 1);
    assert_eq!(r.total.reply.percentile(50), Some(4 * 3600 + 300), "waiting since 4 h before the reply");
    assert_eq!(r.total.first_response.count(), 0, "A's first reply was yesterday");
    assert_eq!(r.total.resolution.count(), 1);
    assert_eq!(r.total.started.get(&Source::StaffOutreach), Some(&1));
    assert_eq!((r.total.forms_sent, r.total.forms_submitted), (1, 1));
    assert_eq!(r.total.segments, 6);
}

async fn report_days_upsert_and_range(h: Harness) {
    let s = h.store.clone();
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
    let stored = |d: u32, n: u64, tz: &str| {
        let mut rollup = compute_day(
            &frontdesk_domain::reports::DayFacts {
                day: day(d),
                start: t(0),
                end: t(1),
                messages: vec![],
                conversations: vec![],
                opt_outs: vec![],
                forms: vec![],
            },
            chrono_tz::UTC,
            &AlwaysOpen,
        );
        rollup.total.messages_in = n;
        StoredDay { day: day(d), time_zone: tz.into(), computed_at: t(i64::from(d)), rollup }
    };
    let rows = vec![stored(1, 1, "UTC"), stored(2, 2, "UTC"), stored(10, 10, "UTC")];
    let r = rows.clone();
    w(&s, move |tx| {
        Box::pin(async move {
            for d in &r {
                tx.put_report_day(d).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.report_days(day(1), day(2)).await.unwrap(), rows[..2].to_vec());
    assert_eq!(s.report_days(day(2), day(31)).await.unwrap(), rows[1..].to_vec());
    // A recomputation replaces the row.
    let again = stored(2, 5, "America/Chicago");
    let a = again.clone();
    w(&s, move |tx| Box::pin(async move { tx.put_report_day(&a).await })).await.unwrap();
    assert_eq!(s.report_days(day(2), day(2)).await.unwrap(), vec![again]);
    assert!(s.report_days(day(3), day(9)).await.unwrap().is_empty());
    let (from, to) = (day(1), day(2));
    let deleted = w(&s, move |tx| Box::pin(async move { tx.delete_report_days(from, to).await })).await.unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(s.report_days(day(1), day(31)).await.unwrap(), rows[2..].to_vec());
}
