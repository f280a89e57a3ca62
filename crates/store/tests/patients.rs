//! Conformance scenarios for the patient directory (edit, re-index, match lookups, phones,
//! language and time zone) and chart jobs (leases never shared). SQLite always; PostgreSQL
//! when `FRONTDESK_TEST_POSTGRES_URL` is set.

mod support;

use std::sync::Arc;

use chrono::NaiveDate;
use frontdesk_domain::E164;
use frontdesk_domain::model::*;
use frontdesk_domain::patient_import::{PatientExtras, match_key};
use frontdesk_store::{ChartJob, ChartJobStatus, Store};

use support::{Harness, t, w};

conformance!(patients_update_match_and_phones, chart_jobs_lease_once);

fn phone(n: u32) -> E164 {
    E164::parse_strict(&format!("+1415555{n:04}")).unwrap()
}

fn patient(first: &str, last: &str, mrn: Option<&str>, at: i64) -> Patient {
    Patient {
        id: new_id(),
        first_name: first.into(),
        last_name: last.into(),
        birth_date: NaiveDate::from_ymd_opt(1984, 7, 31),
        mrn: mrn.map(Into::into),
        phone: Some(phone(1)),
        status: PatientStatus::Prospective,
        created_at: t(at),
    }
}

async fn patients_update_match_and_phones(h: Harness) {
    let s = h.store.clone();
    let ana = patient("Ana", "Lopez", Some("A-1"), 1);
    let ben = patient("Ben", "Lopez", None, 2);
    let extras = PatientExtras { language: Some("es".into()), time_zone: Some("America/Chicago".into()) };
    let (a, b, x) = (ana.clone(), ben.clone(), extras.clone());
    w(&s, move |tx| {
        Box::pin(async move {
            for p in [&a, &b] {
                tx.insert_patient(p).await?;
                tx.set_patient_extras(p, &PatientExtras::default()).await?;
                let c = tx.upsert_contact(&phone(1), t(3)).await?;
                tx.link_contact_patient(c.id, p.id).await?;
            }
            tx.set_patient_extras(&a, &x).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.patient_extras(ana.id).await.unwrap(), extras);
    assert_eq!(s.patient_extras(new_id()).await.unwrap(), PatientExtras::default());
    assert_eq!(s.count_patients().await.unwrap(), 2);
    let ids = |v: Vec<Patient>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(s.patients_by_mrns(&["A-1".into(), "nope".into()]).await.unwrap()), vec![ana.id]);
    let key = match_key("ANA", "López", ana.birth_date).unwrap();
    assert_eq!(ids(s.patients_by_match_keys(std::slice::from_ref(&key)).await.unwrap()), vec![ana.id]);
    let family = s.patients_by_phones(&[phone(1), phone(9)]).await.unwrap();
    assert_eq!(family.len(), 2, "one phone, two patients");
    assert!(family.iter().all(|(ph, _)| *ph == phone(1)));

    // An edit re-seals, re-indexes (MRN, name + birth date, search terms) and keeps extras.
    let mut edited = ana.clone();
    edited.last_name = "Diaz".into();
    edited.mrn = Some("A-2".into());
    edited.status = PatientStatus::Patient;
    let (e, contact_phone) = (edited.clone(), phone(1));
    w(&s, move |tx| {
        Box::pin(async move {
            tx.update_patient(&e, &PatientExtras { language: Some("pt-BR".into()), time_zone: None }).await?;
            let c = tx.upsert_contact(&contact_phone, t(4)).await?;
            tx.unlink_contact_patient(c.id, e.id).await?;
            let extra = tx.upsert_contact(&phone(2), t(4)).await?;
            tx.link_contact_patient(extra.id, e.id).await
        })
    })
    .await
    .unwrap();
    assert_eq!(s.patient_by_id(ana.id).await.unwrap(), Some(edited.clone()));
    assert_eq!(s.patient_extras(ana.id).await.unwrap().language.as_deref(), Some("pt-BR"));
    assert!(s.patients_by_mrns(&["A-1".into()]).await.unwrap().is_empty());
    assert_eq!(ids(s.patients_by_mrns(&["A-2".into()]).await.unwrap()), vec![ana.id]);
    assert!(s.patients_by_match_keys(&[key]).await.unwrap().is_empty(), "the old name no longer matches");
    assert_eq!(ids(s.search_patients(&["diaz".into()], 10).await.unwrap()), vec![ana.id]);
    assert!(s.search_patients(&["ana".into(), "lopez".into()], 10).await.unwrap().is_empty());
    assert_eq!(s.patient_phones(ana.id).await.unwrap(), vec![phone(2)]);
    let missing = patient("No", "One", None, 5);
    let err =
        w(&s, move |tx| Box::pin(async move { tx.update_patient(&missing, &PatientExtras::default()).await })).await;
    assert!(err.is_err(), "updating a missing patient is an error");
}

async fn chart_jobs_lease_once(h: Harness) {
    let s: Arc<dyn Store> = h.store.clone();
    let number = PracticeNumber {
        id: new_id(),
        e164: E164::parse_strict("+12125550100").unwrap(),
        provider: ProviderKind::Twilio,
        messaging_service_sid: None,
        default_department_id: None,
        rate_limit_per_sec: 1.0,
        created_at: t(1),
    };
    let conversation = w(&s, move |tx| {
        Box::pin(async move {
            tx.insert_number(&number).await?;
            let contact = tx.upsert_contact(&phone(1), t(2)).await?;
            let thread = tx.upsert_thread_for_update(number.id, contact.id, t(3)).await?;
            let c = Conversation::open(thread.id, None, t(4));
            tx.insert_conversation(&c).await?;
            Ok(c)
        })
    })
    .await
    .unwrap();
    let job = |due: i64| ChartJob {
        id: new_id(),
        conversation_id: conversation.id,
        status: ChartJobStatus::Pending,
        attempts: 0,
        next_attempt_at: t(due),
        lease_owner: None,
        lease_until: None,
        last_error: None,
        requested_by: None,
        created_at: t(5),
        updated_at: t(5),
    };
    let jobs: Vec<ChartJob> = (0..6).map(|i| job(if i < 5 { 10 } else { 1_000 })).collect();
    let stored = jobs.clone();
    w(&s, move |tx| {
        Box::pin(async move {
            for j in &stored {
                tx.insert_chart_job(j).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    // Concurrent claimers: every due job leased exactly once, the future one not at all.
    let mut tasks = Vec::new();
    for i in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("owner-{i}");
            let n = w(&s, {
                let owner = owner.clone();
                move |tx| Box::pin(async move { tx.claim_chart_jobs(&owner, t(20), t(60_000), 2).await })
            })
            .await
            .unwrap();
            let leased = s.chart_jobs_leased_to(&owner).await.unwrap();
            assert_eq!(leased.len() as u64, n);
            leased.into_iter().map(|j| j.id).collect::<Vec<_>>()
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    // Under SKIP LOCKED a claimer passes over rows another claimer holds at that instant, so
    // one round of concurrent claimers can leave a due row for the next round (the worker's
    // next tick). What must hold is that no job is leased twice.
    let before = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), before, "no job leased twice");
    let swept =
        w(&s, |tx| Box::pin(async move { tx.claim_chart_jobs("sweeper", t(20), t(60_000), 10).await })).await.unwrap();
    all.extend(s.chart_jobs_leased_to("sweeper").await.unwrap().into_iter().map(|j| j.id));
    assert_eq!(all.len(), before + swept as usize);
    all.sort();
    let mut due: Vec<_> = jobs[..5].iter().map(|j| j.id).collect();
    due.sort();
    assert_eq!(all, due, "each due job leased once");
    // A live lease is not claimed again; an expired one is.
    let again = w(&s, |tx| Box::pin(async move { tx.claim_chart_jobs("late", t(30), t(60_000), 10).await })).await;
    assert_eq!(again.unwrap(), 0);
    let expired =
        w(&s, |tx| Box::pin(async move { tx.claim_chart_jobs("later", t(70_000), t(90_000), 10).await })).await;
    assert_eq!(expired.unwrap(), 6);

    let mut sent = s.chart_jobs_leased_to("later").await.unwrap().remove(0);
    sent.status = ChartJobStatus::Sent;
    sent.attempts = 1;
    sent.lease_owner = None;
    sent.updated_at = t(70_001);
    let update = sent.clone();
    w(&s, move |tx| Box::pin(async move { tx.update_chart_job(&update).await })).await.unwrap();
    let listed = s.chart_jobs_for_conversation(conversation.id).await.unwrap();
    assert_eq!(listed.len(), 6);
    assert_eq!(listed.iter().find(|j| j.id == sent.id), Some(&sent));
}
