//! Importing patients from CSV or a FHIR R4 Bundle (shared by `frontdesk import patients`
//! and `POST /api/v1/patients/import`). Parsing and the match/merge rules are pure
//! (`domain::patient_import`); this module looks candidates up in batches, writes each batch
//! in one transaction (a batch that fails is retried row by row, so a bad row never blocks
//! good ones) and builds the report.

use std::collections::HashMap;

use serde::Serialize;

use frontdesk_domain::E164;
use frontdesk_domain::model::{Patient, PatientId, PatientStatus, new_id};
use frontdesk_domain::patient_import::{
    self as pi, Field, Format, ImportRow, MatchBy, PatientExtras, Rejected, choose_match, match_key, merge,
};

use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

/// Rows looked up and written together.
pub const BATCH: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `column=field` overrides of the guessed header names (CSV).
    pub mapping: Vec<(String, Field)>,
    /// Report what would happen; write nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    Created,
    Updated,
    Unchanged,
}

/// What happened (or, in a dry run, would happen) to one valid row.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    pub line: usize,
    pub action: RowAction,
    /// The patient created or matched (in a dry run, the id a new one would get is absent).
    pub patient_id: Option<PatientId>,
    pub matched_by: Option<MatchBy>,
    /// Fields where the file disagreed with the stored patient (the stored value was kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub format: Format,
    pub dry_run: bool,
    /// Valid and rejected rows together.
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Each rejected row with its line (CSV) or entry (FHIR) number and why.
    pub rejected: Vec<Rejected>,
    /// Header columns that map to no field (not imported).
    pub ignored_columns: Vec<String>,
    pub outcomes: Vec<RowOutcome>,
}

/// A patient as known during this import (stored, or created earlier in this run).
#[derive(Clone)]
pub(crate) struct Known {
    patient: Patient,
    extras: PatientExtras,
    phones: Vec<E164>,
}

/// One write planned for a row.
pub(crate) enum Plan {
    Create(Known),
    Update(Known, Vec<E164>),
}

/// Patients created or changed earlier in this run, found by MRN, match key and phone.
#[derive(Default)]
pub(crate) struct Pool {
    known: HashMap<PatientId, Known>,
    by_mrn: HashMap<String, PatientId>,
    by_key: HashMap<String, PatientId>,
    by_phone: HashMap<E164, Vec<PatientId>>,
}

impl Pool {
    fn put(&mut self, k: Known) {
        let p = &k.patient;
        if let Some(m) = &p.mrn {
            self.by_mrn.insert(m.clone(), p.id);
        }
        if let Some(key) = match_key(&p.first_name, &p.last_name, p.birth_date) {
            self.by_key.insert(key, p.id);
        }
        for ph in &k.phones {
            let ids = self.by_phone.entry(ph.clone()).or_default();
            if !ids.contains(&p.id) {
                ids.push(p.id);
            }
        }
        self.known.insert(p.id, k);
    }
}

impl Services {
    /// Imports `bytes` (format detected by content). Whole-file problems (encoding, header,
    /// invalid FHIR, bad mapping) are an `Invalid` error naming `file` or `map`; row problems
    /// are in the report. `progress(done, total)` is called after each batch.
    pub async fn import_patients(
        &self,
        bytes: &[u8],
        options: &ImportOptions,
        actor: Actor,
        ip: Option<String>,
        progress: &(dyn Fn(usize, usize) + Send + Sync),
    ) -> Result<ImportReport, ServiceError> {
        let today = crate::now().date_naive();
        let parsed = pi::parse(bytes, &options.mapping, self.settings().default_region, today).map_err(|e| {
            let field = if matches!(e, pi::ImportError::Mapping(..)) { "map" } else { "file" };
            ServiceError::invalid(field, e.to_string())
        })?;
        let total = parsed.rows.len();
        let mut report = ImportReport {
            format: parsed.format,
            dry_run: options.dry_run,
            rows: parsed.rows.len() + parsed.rejected.len(),
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: parsed.rejected,
            ignored_columns: parsed.ignored_columns,
            outcomes: Vec::with_capacity(total),
        };
        let mut pool = Pool::default();
        let mut done = 0;
        progress(0, total);
        for batch in parsed.rows.chunks(BATCH) {
            let plans = self.plan_batch(batch, &mut pool, &mut report).await?;
            if !options.dry_run && !plans.is_empty() {
                self.write_plans(plans, &mut report).await?;
            }
            done += batch.len();
            progress(done, total);
        }
        report.rejected.sort_by_key(|r| r.line);
        report.outcomes.sort_by_key(|o| o.line);
        report.created = report.outcomes.iter().filter(|o| o.action == RowAction::Created).count();
        report.updated = report.outcomes.iter().filter(|o| o.action == RowAction::Updated).count();
        report.unchanged = report.outcomes.iter().filter(|o| o.action == RowAction::Unchanged).count();
        if !options.dry_run {
            let detail = format!(
                "{:?} import: {} created, {} updated, {} unchanged, {} rejected",
                report.format,
                report.created,
                report.updated,
                report.unchanged,
                report.rejected.len()
            );
            let mut entry = audit::entry(&actor, "patient.import", None, ip, crate::now());
            entry.detail = Some(detail);
            frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await }))
                .await?;
        }
        Ok(report)
    }

    /// Finds each row's patient (stored or earlier in this run) and decides what to write.
    pub(crate) async fn plan_batch(
        &self,
        batch: &[ImportRow],
        pool: &mut Pool,
        report: &mut ImportReport,
    ) -> Result<Vec<(usize, Plan)>, ServiceError> {
        let mrns: Vec<String> = batch.iter().filter_map(|r| r.mrn.clone()).collect();
        let keys: Vec<String> =
            batch.iter().filter_map(|r| match_key(&r.first_name, &r.last_name, r.birth_date)).collect();
        let mut phones: Vec<E164> = batch.iter().flat_map(|r| r.phones.iter().cloned()).collect();
        phones.sort();
        phones.dedup();
        let (by_mrn, by_key, by_phone) = tokio::try_join!(
            self.store.patients_by_mrns(&mrns),
            self.store.patients_by_match_keys(&keys),
            self.store.patients_by_phones(&phones),
        )?;
        // Index the candidates once per batch, so each row looks up only its own.
        let mut mrn_map: HashMap<&str, Vec<&Patient>> = HashMap::new();
        for p in &by_mrn {
            if let Some(m) = &p.mrn {
                mrn_map.entry(m.as_str()).or_default().push(p);
            }
        }
        let mut key_map: HashMap<String, Vec<&Patient>> = HashMap::new();
        for p in &by_key {
            if let Some(k) = match_key(&p.first_name, &p.last_name, p.birth_date) {
                key_map.entry(k).or_default().push(p);
            }
        }
        let mut phone_map: HashMap<&E164, Vec<&Patient>> = HashMap::new();
        for (ph, p) in &by_phone {
            phone_map.entry(ph).or_default().push(p);
        }
        let mut plans = Vec::new();
        for row in batch {
            // This run's version of a patient wins over the stored one.
            let fresh = |p: &&Patient| pool.known.get(&p.id).map(|k| k.patient.clone()).unwrap_or_else(|| (*p).clone());
            let row_key = match_key(&row.first_name, &row.last_name, row.birth_date);
            let mut mrn_c: Vec<Patient> =
                row.mrn.as_deref().and_then(|m| mrn_map.get(m)).into_iter().flatten().map(fresh).collect();
            let mut key_c: Vec<Patient> =
                row_key.as_ref().and_then(|k| key_map.get(k)).into_iter().flatten().map(fresh).collect();
            let mut phone_c: Vec<Patient> =
                row.phones.iter().filter_map(|ph| phone_map.get(ph)).flatten().map(fresh).collect();
            let from_pool = |id: &PatientId| pool.known.get(id).map(|k| k.patient.clone());
            if let Some(id) = row.mrn.as_ref().and_then(|m| pool.by_mrn.get(m)) {
                mrn_c.extend(from_pool(id));
            }
            if let Some(id) = row_key.as_ref().and_then(|k| pool.by_key.get(k)) {
                key_c.extend(from_pool(id));
            }
            for ph in &row.phones {
                for id in pool.by_phone.get(ph).into_iter().flatten() {
                    phone_c.extend(from_pool(id));
                }
            }
            for list in [&mut mrn_c, &mut key_c, &mut phone_c] {
                list.sort_by_key(|p| p.id);
                list.dedup_by_key(|p| p.id);
            }
            let found = match choose_match(row, &mrn_c, &key_c, &phone_c) {
                Ok(found) => found,
                Err(reason) => {
                    report.rejected.push(Rejected { line: row.line, reason });
                    continue;
                }
            };
            match found {
                None => {
                    let patient = Patient {
                        id: new_id(),
                        first_name: row.first_name.clone(),
                        last_name: row.last_name.clone(),
                        birth_date: row.birth_date,
                        mrn: row.mrn.clone(),
                        phone: row.phones.first().cloned(),
                        status: row.status.unwrap_or(PatientStatus::Patient),
                        created_at: crate::now(),
                    };
                    let known = Known { patient, extras: row.extras.clone(), phones: row.phones.clone() };
                    report.outcomes.push(RowOutcome {
                        line: row.line,
                        action: RowAction::Created,
                        patient_id: (!report.dry_run).then_some(known.patient.id),
                        matched_by: None,
                        conflicts: Vec::new(),
                    });
                    pool.put(known.clone());
                    plans.push((row.line, Plan::Create(known)));
                }
                Some((by, patient)) => {
                    let known = match pool.known.get(&patient.id) {
                        Some(k) => k.clone(),
                        None => {
                            let (extras, phones) = tokio::try_join!(
                                self.store.patient_extras(patient.id),
                                self.store.patient_phones(patient.id)
                            )?;
                            Known { patient, extras, phones }
                        }
                    };
                    let merged = merge(&known.patient, &known.extras, &known.phones, row);
                    report.outcomes.push(RowOutcome {
                        line: row.line,
                        action: if merged.changed { RowAction::Updated } else { RowAction::Unchanged },
                        patient_id: Some(known.patient.id),
                        matched_by: Some(by),
                        conflicts: merged.conflicts,
                    });
                    let mut phones = known.phones.clone();
                    phones.extend(merged.new_phones.iter().cloned());
                    let next = Known { patient: merged.patient, extras: merged.extras, phones };
                    pool.put(next.clone());
                    if merged.changed {
                        plans.push((row.line, Plan::Update(next, merged.new_phones)));
                    }
                }
            }
        }
        Ok(plans)
    }

    /// Writes a batch in one transaction; if that fails, row by row, reporting the rows that
    /// still fail instead of losing the rest.
    pub(crate) async fn write_plans(
        &self,
        plans: Vec<(usize, Plan)>,
        report: &mut ImportReport,
    ) -> Result<(), ServiceError> {
        let plans = std::sync::Arc::new(plans);
        let all = plans.clone();
        let batch = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                for (_, plan) in all.iter() {
                    apply(tx, plan).await?;
                }
                Ok(())
            })
        })
        .await;
        let Err(batch_error) = batch else { return Ok(()) };
        if let frontdesk_store::StoreError::Unavailable(_) = batch_error {
            return Err(batch_error.into());
        }
        tracing::warn!(error = %batch_error, "a patient import batch failed; writing its rows one by one");
        for i in 0..plans.len() {
            let one = plans.clone();
            let result =
                frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { apply(tx, &one[i].1).await }))
                    .await;
            if let Err(e) = result {
                let line = plans[i].0;
                report.outcomes.retain(|o| o.line != line);
                report
                    .rejected
                    .push(Rejected { line, reason: format!("could not be saved: {}", ServiceError::from(e)) });
            }
        }
        Ok(())
    }
}

async fn apply(tx: &mut dyn frontdesk_store::WriteTx, plan: &Plan) -> frontdesk_store::StoreResult<()> {
    let now = crate::now();
    match plan {
        Plan::Create(k) => {
            tx.insert_patient(&k.patient).await?;
            tx.set_patient_extras(&k.patient, &k.extras).await?;
            for ph in &k.phones {
                let contact = tx.upsert_contact(ph, now).await?;
                tx.link_contact_patient(contact.id, k.patient.id).await?;
            }
        }
        Plan::Update(k, new_phones) => {
            tx.update_patient(&k.patient, &k.extras).await?;
            for ph in new_phones {
                let contact = tx.upsert_contact(ph, now).await?;
                tx.link_contact_patient(contact.id, k.patient.id).await?;
            }
        }
    }
    Ok(())
}
