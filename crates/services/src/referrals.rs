//! Referrals and prospective patients: import (CSV, FHIR ServiceRequest + Patient, one by
//! one through the API), the outreach worker's tick (first text within minutes, one
//! follow-up, quiet hours honoured, opt-outs respected), the patient's reply, and the staff
//! pipeline (list, page, moves). Parsing and the pipeline rules are pure
//! (`domain::referrals`); patients are matched and created exactly like a patient import.
//!
//! Consent: a referral from a provider is not the patient's consent to texts. The outreach
//! records the basis `referral` (in its audit entry, next to the conversation's source
//! `referral`) and writes no consent grant; only the first text and one follow-up are sent on
//! that basis, each ending with STOP wording, and an opted-out number is never texted.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use frontdesk_domain::front_door::ConversationSource;
use frontdesk_domain::model::*;
use frontdesk_domain::patient_import::{Format, MatchBy, Rejected};
use frontdesk_domain::referrals::{
    self as rf, CloseReason, Referral, ReferralDetails, ReferralEvent, ReferralRow, ReferralStatus, SourceMetrics,
};
use frontdesk_domain::template::{self, TemplateValues};
use frontdesk_store::WriteTx;
use frontdesk_store::referrals::event;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::outbound::{SendRequest, queue_in_conversation};
use crate::patient_import::{ImportOptions, ImportReport, Pool, RowAction};
use crate::{ServiceError, Services};

pub const OUTREACH_KEY: &str = "referrals.outreach_template";
pub const FOLLOWUP_KEY: &str = "referrals.followup_template";
pub const FOLLOWUP_HOURS_KEY: &str = "referrals.followup_hours";

/// Referrals looked at per tick.
const TICK_LIMIT: u32 = 100;

/// One referral of an import.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralOutcome {
    pub line: usize,
    /// Absent in a dry run.
    pub referral_id: Option<Uuid>,
    /// Absent in a dry run for a patient that would be created.
    pub patient_id: Option<PatientId>,
    /// `created` (a new prospective patient), `updated` or `unchanged` (an existing one).
    pub patient: RowAction,
    pub matched_by: Option<MatchBy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferralImportReport {
    pub format: Format,
    pub dry_run: bool,
    pub rows: usize,
    /// Referrals created (or, in a dry run, that would be).
    pub created: usize,
    pub patients_created: usize,
    pub patients_matched: usize,
    /// Each rejected row with its line (CSV) or entry (FHIR) number and why.
    pub rejected: Vec<Rejected>,
    pub ignored_columns: Vec<String>,
    pub referrals: Vec<ReferralOutcome>,
}

/// One referral given field by field (`POST /api/v1/referrals`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewReferral {
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub mrn: Option<String>,
    pub phone: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    pub source: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A referral as the pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct ReferralView {
    #[serde(flatten)]
    pub referral: Referral,
    pub patient_name: String,
    /// Every status reached, oldest first.
    pub history: Vec<ReferralEvent>,
}

#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub status: Option<ReferralStatus>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReferralList {
    /// Referrals in each status (before the filter).
    pub counts: Vec<(ReferralStatus, usize)>,
    pub sources: Vec<String>,
    pub referrals: Vec<ReferralView>,
    pub metrics: Vec<SourceMetrics>,
}

impl Services {
    /// Imports a referral file (format detected by content). Whole-file problems are an
    /// `Invalid` error naming `file` or `map`; row problems are in the report, and valid rows
    /// are kept.
    pub async fn import_referrals(
        &self,
        bytes: &[u8],
        options: &ImportOptions,
        actor: Actor,
        ip: Option<String>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ReferralImportReport, ServiceError> {
        let today = crate::now().date_naive();
        let parsed = rf::parse(bytes, &options.mapping, self.settings().default_region, today).map_err(|e| {
            let field =
                if matches!(e, frontdesk_domain::patient_import::ImportError::Mapping(..)) { "map" } else { "file" };
            ServiceError::invalid(field, e.to_string())
        })?;
        let total = parsed.rows.len();
        let rows = parsed.rows.len() + parsed.rejected.len();
        let mut report = ReferralImportReport {
            format: parsed.format,
            dry_run: options.dry_run,
            rows,
            created: 0,
            patients_created: 0,
            patients_matched: 0,
            rejected: Vec::new(),
            ignored_columns: parsed.ignored_columns.clone(),
            referrals: Vec::new(),
        };
        let mut inner = ImportReport {
            format: parsed.format,
            dry_run: options.dry_run,
            rows,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: parsed.rejected,
            ignored_columns: parsed.ignored_columns,
            outcomes: Vec::new(),
        };
        let mut pool = Pool::default();
        let mut done = 0;
        progress(0, total);
        for batch in parsed.rows.chunks(crate::patient_import::BATCH) {
            let patients: Vec<_> = batch
                .iter()
                .map(|r| {
                    let mut p = r.patient.clone();
                    p.status.get_or_insert(PatientStatus::Prospective);
                    p
                })
                .collect();
            let before = inner.outcomes.len();
            let plans = self.plan_batch(&patients, &mut pool, &mut inner).await?;
            if !options.dry_run && !plans.is_empty() {
                self.write_plans(plans, &mut inner).await?;
            }
            let by_line: HashMap<usize, &ReferralRow> = batch.iter().map(|r| (r.patient.line, r)).collect();
            let now = crate::now();
            let mut fresh = Vec::new();
            for o in inner.outcomes.iter().skip(before.min(inner.outcomes.len())) {
                let Some(row) = by_line.get(&o.line) else { continue };
                let referral =
                    o.patient_id.filter(|_| !options.dry_run).map(|patient_id| new_referral(patient_id, row, now));
                report.referrals.push(ReferralOutcome {
                    line: o.line,
                    referral_id: referral.as_ref().map(|r| r.id),
                    patient_id: o.patient_id,
                    patient: o.action,
                    matched_by: o.matched_by,
                });
                fresh.extend(referral);
            }
            if !fresh.is_empty() {
                let entries: Vec<_> = fresh
                    .iter()
                    .map(|r| {
                        let mut e = audit::entry(&actor, "referral.create", Some(r.id.to_string()), ip.clone(), now);
                        e.detail = Some("import".into());
                        e
                    })
                    .collect();
                frontdesk_store::write(&*self.store, move |tx| {
                    Box::pin(async move {
                        for (r, e) in fresh.iter().zip(&entries) {
                            insert(tx, r).await?;
                            tx.insert_audit(e).await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            }
            done += batch.len();
            progress(done, total);
        }
        report.rejected = inner.rejected;
        report.rejected.sort_by_key(|r| r.line);
        report.referrals.sort_by_key(|o| o.line);
        report.created = report.referrals.len();
        report.patients_created = report.referrals.iter().filter(|o| o.patient == RowAction::Created).count();
        report.patients_matched = report.created - report.patients_created;
        if !options.dry_run {
            let mut entry = audit::entry(&actor, "referral.import", None, ip, crate::now());
            entry.detail = Some(format!(
                "{:?} import: {} referrals, {} new patients, {} rejected",
                report.format,
                report.created,
                report.patients_created,
                report.rejected.len()
            ));
            frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await }))
                .await?;
            self.outbox_signal.notify_one();
        }
        Ok(report)
    }

    /// One referral (the API). Errors name the field.
    pub async fn create_referral(
        &self,
        input: &NewReferral,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<ReferralView, ServiceError> {
        let today = crate::now().date_naive();
        let fields = [
            ("first_name", input.first_name.as_str()),
            ("last_name", input.last_name.as_str()),
            ("birth_date", input.birth_date.as_deref().unwrap_or("")),
            ("mrn", input.mrn.as_deref().unwrap_or("")),
            ("phone", input.phone.as_str()),
            ("time_zone", input.time_zone.as_deref().unwrap_or("")),
            ("source", input.source.as_str()),
            ("reason", input.reason.as_deref().unwrap_or("")),
        ];
        if input.phone.trim().is_empty() {
            return Err(ServiceError::invalid("phone", "a phone number is needed to contact the patient"));
        }
        let row = rf::parse_one(&fields, self.settings().default_region, today)
            .map_err(|(field, message)| ServiceError::invalid(&field, message))?;
        let mut csv_like = row.patient.clone();
        csv_like.status.get_or_insert(PatientStatus::Prospective);
        let mut pool = Pool::default();
        let mut inner = ImportReport {
            format: Format::Csv,
            dry_run: false,
            rows: 1,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: Vec::new(),
            ignored_columns: Vec::new(),
            outcomes: Vec::new(),
        };
        let plans = self.plan_batch(std::slice::from_ref(&csv_like), &mut pool, &mut inner).await?;
        if let Some(r) = inner.rejected.first() {
            return Err(ServiceError::invalid("patient", r.reason.clone()));
        }
        if !plans.is_empty() {
            self.write_plans(plans, &mut inner).await?;
        }
        if let Some(r) = inner.rejected.first() {
            return Err(ServiceError::invalid("patient", r.reason.clone()));
        }
        let Some(patient_id) = inner.outcomes.first().and_then(|o| o.patient_id) else {
            return Err(ServiceError::Internal("the patient was not saved".into()));
        };
        let now = crate::now();
        let referral = new_referral(patient_id, &row, now);
        let mut entry = audit::entry(&actor, "referral.create", Some(referral.id.to_string()), ip, now);
        entry.detail = Some("api".into());
        let stored = referral.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                insert(tx, &stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        self.referral_view(referral).await
    }

    async fn referral_view(&self, referral: Referral) -> Result<ReferralView, ServiceError> {
        let patient = self.store.patient_by_id(referral.patient_id).await?;
        let history = self.store.referral_events(referral.id).await?;
        Ok(ReferralView {
            patient_name: patient.map(|p| format!("{} {}", p.first_name, p.last_name)).unwrap_or_default(),
            history,
            referral,
        })
    }

    /// The pipeline: counts per status, the referrals matching `filter` (newest first) and
    /// the metrics per source (over every referral).
    pub async fn referral_list(
        &self,
        ctx: &StaffContext,
        filter: &ReferralFilter,
    ) -> Result<ReferralList, ServiceError> {
        // Every signed-in role reads the pipeline (auditors only read): `ctx` proves a session.
        let _ = ctx;
        let all = self.store.referrals().await?;
        let counts = ReferralStatus::ALL.iter().map(|s| (*s, all.iter().filter(|r| r.status == *s).count())).collect();
        let mut sources: Vec<String> = all.iter().map(|r| r.details.source.clone()).collect();
        sources.sort();
        sources.dedup();
        let mut reached_scheduled = HashMap::new();
        for r in &all {
            // Closed after scheduling still converted: look at the history only when needed.
            let reached = match r.status {
                ReferralStatus::Scheduled => true,
                ReferralStatus::Closed => {
                    self.store.referral_events(r.id).await?.iter().any(|e| e.status == ReferralStatus::Scheduled)
                }
                _ => false,
            };
            reached_scheduled.insert(r.id, reached);
        }
        let metrics = rf::metrics_by_source(all.iter().map(|r| (r, reached_scheduled.get(&r.id) == Some(&true))));
        let mut referrals = Vec::new();
        for r in all {
            if filter.status.is_some_and(|s| s != r.status) {
                continue;
            }
            if filter.source.as_deref().is_some_and(|s| !s.is_empty() && s != r.details.source) {
                continue;
            }
            let patient = self.store.patient_by_id(r.patient_id).await?;
            referrals.push(ReferralView {
                patient_name: patient.map(|p| format!("{} {}", p.first_name, p.last_name)).unwrap_or_default(),
                history: Vec::new(),
                referral: r,
            });
        }
        Ok(ReferralList { counts, sources, referrals, metrics })
    }

    /// One referral with its history (audited `referral.view`).
    pub async fn referral_page(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        ip: Option<String>,
    ) -> Result<ReferralView, ServiceError> {
        let referral = self.store.referral_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("referral".into()))?;
        let entry = audit::entry(&Actor::User(ctx.user.id), "referral.view", Some(id.to_string()), ip, crate::now());
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        self.referral_view(referral).await
    }

    /// Staff move a referral (scheduled, closed with a reason); audited in the same write.
    pub async fn move_referral(
        &self,
        ctx: &StaffContext,
        id: Uuid,
        to: ReferralStatus,
        close_reason: Option<CloseReason>,
        note: Option<String>,
        ip: Option<String>,
    ) -> Result<Referral, ServiceError> {
        ctx.require_can_act()?;
        let mut referral =
            self.store.referral_by_id(id).await?.ok_or_else(|| ServiceError::NotFound("referral".into()))?;
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        rf::check_transition(referral.status, to, close_reason, note.as_deref())
            .map_err(|(field, message)| ServiceError::invalid(field, message))?;
        let now = crate::now();
        let previous = referral.updated_at;
        let from = referral.status;
        referral.status = to;
        referral.next_action_at = None;
        referral.updated_at = now;
        if to == ReferralStatus::Closed {
            referral.details.close_reason = close_reason;
            referral.details.close_note = note;
        }
        let mut entry = audit::entry(&Actor::User(ctx.user.id), "referral.status", Some(id.to_string()), ip, now);
        entry.detail = Some(format!("{from} -> {to}"));
        let stored = referral.clone();
        let user = ctx.user.id;
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if !tx.update_referral(&stored, previous).await? {
                    return Ok(false);
                }
                tx.insert_referral_event(&event(stored.id, stored.status, now, Some(user))).await?;
                tx.insert_audit(&entry).await?;
                Ok(true)
            })
        })
        .await?
        .then_some(referral)
        .ok_or_else(|| ServiceError::Conflict("the referral changed meanwhile; reload the page and try again".into()))
    }

    async fn setting_or(&self, key: &str, default: &str) -> Result<String, ServiceError> {
        Ok(self.store.setting(key).await?.filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned()))
    }

    /// Saves the outreach settings (admins): both templates checked, hours 1–720.
    pub async fn save_referral_settings(
        &self,
        ctx: &StaffContext,
        outreach: &str,
        followup: &str,
        followup_hours: i64,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        template::validate(outreach).map_err(|e| ServiceError::invalid("outreach_template", e.to_string()))?;
        template::validate(followup).map_err(|e| ServiceError::invalid("followup_template", e.to_string()))?;
        if !(1..=720).contains(&followup_hours) {
            return Err(ServiceError::invalid("followup_hours", "between 1 and 720 hours"));
        }
        let now = crate::now();
        let (o, f, h) = (outreach.to_owned(), followup.to_owned(), followup_hours.to_string());
        let entry = audit::entry(&Actor::User(ctx.user.id), "referral.settings", None, ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_setting(OUTREACH_KEY, &o, now).await?;
                tx.put_setting(FOLLOWUP_KEY, &f, now).await?;
                tx.put_setting(FOLLOWUP_HOURS_KEY, &h, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(())
    }

    /// The outreach settings in force: (outreach template, follow-up template, hours).
    pub async fn referral_settings(&self) -> Result<(String, String, i64), ServiceError> {
        let hours = self
            .store
            .setting(FOLLOWUP_HOURS_KEY)
            .await?
            .and_then(|h| h.trim().parse::<i64>().ok())
            .filter(|h| (1..=720).contains(h))
            .unwrap_or(rf::DEFAULT_FOLLOWUP_HOURS);
        Ok((
            self.setting_or(OUTREACH_KEY, rf::DEFAULT_OUTREACH).await?,
            self.setting_or(FOLLOWUP_KEY, rf::DEFAULT_FOLLOWUP).await?,
            hours,
        ))
    }

    /// The scheduler's referral work at `now`: the first text of new referrals, the one
    /// follow-up of contacted ones whose delay has passed; both deferred (not dropped) to
    /// 08:00 in the patient's zone when it is night there. Returns how many texts were queued.
    pub async fn referral_tick(&self, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        let due = self.store.referrals_due(now, TICK_LIMIT).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let (outreach, followup, hours) = self.referral_settings().await?;
        let mut sent = 0;
        for referral in due {
            match self.referral_step(referral, now, &outreach, &followup, hours).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "a referral text could not be queued; it is tried again"),
            }
        }
        if sent > 0 {
            self.outbox_signal.notify_one();
        }
        Ok(sent)
    }

    async fn referral_step(
        &self,
        mut referral: Referral,
        now: DateTime<Utc>,
        outreach: &str,
        followup: &str,
        hours: i64,
    ) -> Result<bool, ServiceError> {
        let previous = referral.updated_at;
        let first = match referral.status {
            ReferralStatus::New => true,
            ReferralStatus::Contacted if referral.followups == 0 => false,
            _ => {
                referral.next_action_at = None;
                self.save_quietly(referral).await?;
                return Ok(false);
            }
        };
        let Some(patient) = self.store.patient_by_id(referral.patient_id).await? else {
            referral.next_action_at = None;
            self.save_quietly(referral).await?;
            return Ok(false);
        };
        let extras = self.store.patient_extras(patient.id).await?;
        let phones = self.store.patient_phones(patient.id).await?;
        let phone = patient.phone.clone().or_else(|| phones.first().cloned());
        let Some(phone) = phone else {
            // Nothing to text: staff see it as still new on the pipeline.
            referral.next_action_at = None;
            self.save_quietly(referral).await?;
            return Ok(false);
        };
        let settings = self.settings();
        let tz = extras
            .time_zone
            .as_deref()
            .and_then(|z| frontdesk_domain::parse_time_zone(z).ok())
            .unwrap_or(settings.time_zone);
        if frontdesk_domain::is_quiet_time(tz, now) {
            referral.next_action_at = Some(frontdesk_domain::next_allowed_time(tz, now));
            self.save_quietly(referral).await?;
            return Ok(false);
        }
        let values = TemplateValues::new()
            .with("patient.first_name", patient.first_name.clone())
            .with("patient.last_name", patient.last_name.clone())
            .with("practice.name", settings.name.clone());
        let body = template::render(if first { outreach } else { followup }, &values)
            .or_else(|_| template::render(if first { rf::DEFAULT_OUTREACH } else { rf::DEFAULT_FOLLOWUP }, &values))
            .map_err(|e| ServiceError::Internal(format!("referral template: {e}")))?;
        let Some(number) = self.store.list_numbers().await?.into_iter().next() else {
            return Err(ServiceError::invalid("from", "this practice has no numbers yet"));
        };
        let providers = self.providers.kinds();
        let mut entry = audit::entry(
            &Actor::System,
            if first { "referral.outreach" } else { "referral.followup" },
            Some(referral.id.to_string()),
            None,
            now,
        );
        entry.detail = Some("consent_basis=referral".into());
        let outcome = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let contact = tx.upsert_contact(&phone, now).await?;
                if contact.opted_out {
                    // Never texted; staff see it on the pipeline and may close it.
                    referral.next_action_at = None;
                    referral.updated_at = now;
                    tx.update_referral(&referral, previous).await?;
                    return Ok(Ok(false));
                }
                // Claim the step first: another caller that read the same row sends nothing.
                let mut claimed = referral.clone();
                claimed.updated_at = now.max(previous + Duration::milliseconds(1));
                if !tx.update_referral(&claimed, previous).await? {
                    return Ok(Ok(false));
                }
                let previous = claimed.updated_at;
                let thread = tx.upsert_thread_for_update(number.id, contact.id, now).await?;
                let mut conversation = match tx.current_conversation(thread.id).await? {
                    Some(c) => c,
                    None => {
                        let fresh = Conversation::open(thread.id, number.default_department_id, now);
                        tx.insert_conversation(&fresh).await?;
                        tx.set_conversation_origin(fresh.id, ConversationSource::Referral, None).await?;
                        fresh
                    }
                };
                let send = SendRequest {
                    conversation_id: conversation.id,
                    body,
                    media_urls: Vec::new(),
                    sender: SenderKind::Automation,
                    sender_user_id: None,
                    actor: Actor::System,
                    ip: None,
                    phi_confirmed: false,
                };
                if let Err(e) = queue_in_conversation(tx, &mut conversation, &providers, send, None, now).await? {
                    return Ok(Err(e));
                }
                if first {
                    referral.status = ReferralStatus::Contacted;
                    referral.first_contact_at = Some(now);
                    referral.conversation_id = Some(conversation.id);
                    referral.next_action_at = Some(now + Duration::hours(hours));
                    tx.insert_referral_event(&event(referral.id, ReferralStatus::Contacted, now, None)).await?;
                } else {
                    // The conversation may have been closed since: a reply joins this one.
                    referral.conversation_id = Some(conversation.id);
                    referral.followups += 1;
                    referral.next_action_at = None;
                }
                referral.updated_at = previous;
                tx.update_referral(&referral, previous).await?;
                tx.insert_audit(&entry).await?;
                Ok(Ok(true))
            })
        })
        .await??;
        Ok(outcome)
    }

    /// Saves the worker's bookkeeping (deferral, nothing left to send) unless someone changed
    /// the referral since it was read.
    async fn save_quietly(&self, mut referral: Referral) -> Result<(), ServiceError> {
        let previous = referral.updated_at;
        referral.updated_at = crate::now().max(previous + Duration::milliseconds(1));
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { tx.update_referral(&referral, previous).await })
        })
        .await?;
        Ok(())
    }
}

fn new_referral(patient_id: PatientId, row: &ReferralRow, now: DateTime<Utc>) -> Referral {
    Referral {
        id: new_id(),
        patient_id,
        status: ReferralStatus::New,
        details: ReferralDetails {
            source: row.source.trim().to_owned(),
            reason: row.reason.trim().to_owned(),
            close_reason: None,
            close_note: None,
        },
        received_at: now,
        conversation_id: None,
        first_contact_at: None,
        // The worker texts it on its next tick.
        next_action_at: Some(now),
        followups: 0,
        updated_at: now,
    }
}

async fn insert(tx: &mut dyn WriteTx, r: &Referral) -> frontdesk_store::StoreResult<()> {
    tx.insert_referral(r).await?;
    tx.insert_referral_event(&event(r.id, ReferralStatus::New, r.received_at, None)).await
}

/// The inbound hook (one line in `inbound::record_inbound`): a patient's text in a
/// conversation a referral opened moves the referral from `contacted` to `replied`.
pub(crate) async fn on_inbound(
    tx: &mut dyn WriteTx,
    conversation_id: ConversationId,
    now: DateTime<Utc>,
) -> frontdesk_store::StoreResult<()> {
    tx.referral_replied(conversation_id, now).await.map(|_| ())
}
