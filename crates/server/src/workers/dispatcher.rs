//! The outbound dispatcher: claims due outbox jobs under a lease, waits for each sender's rate
//! limit and a per-provider concurrency slot, and calls `Services::deliver` for each.
//!
//! A sender's rate is one schedule in the database (`WriteTx::reserve_send_slot`, a GCRA
//! row per number), so several instances sending from the same number together keep to its
//! rate rather than each sending at it.
//!
//! Claims are sized to the free delivery slots, so a claimed job starts at once and its lease
//! (minutes) comfortably covers the rate-limit wait and the provider call; jobs already in
//! flight in this instance are never started twice even if their lease lapsed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use frontdesk_domain::model::{NumberId, OutboxJob, PracticeNumber, ProviderKind};
use frontdesk_services::Services;
use frontdesk_services::delivery::DeliveryOutcome;
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::Shutdown;

/// How often to look for due jobs when nothing wakes the dispatcher (retries come due).
const IDLE_POLL: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Dispatcher {
    services: Services,
    owner: String,
    lease: Duration,
    slots: Arc<Semaphore>,
    total_slots: usize,
    per_provider: Arc<HashMap<ProviderKind, Arc<Semaphore>>>,
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
}

impl Dispatcher {
    pub fn new(services: Services, provider_concurrency: usize, lease: Duration) -> Dispatcher {
        let provider_concurrency = provider_concurrency.max(1);
        let kinds = services.providers.kinds();
        let per_provider = kinds.iter().map(|k| (*k, Arc::new(Semaphore::new(provider_concurrency)))).collect();
        // Enough claimed jobs to keep every provider busy, and some to wait on rate limits.
        let total_slots = (provider_concurrency * kinds.len().max(1) * 2).max(8);
        Dispatcher {
            services,
            owner: format!("dispatcher-{}", Uuid::now_v7()),
            lease,
            slots: Arc::new(Semaphore::new(total_slots)),
            total_slots,
            per_provider: Arc::new(per_provider),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    pub async fn run(self, mut shutdown: Shutdown) {
        tracing::info!(owner = %self.owner, "dispatcher started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let claimed = self.claim_once().await;
            if claimed == 0 {
                tokio::select! {
                    _ = self.services.outbox_signal.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    changed = shutdown.changed() => if changed.is_err() { break },
                }
            }
        }
        // Let deliveries in progress record their outcome before the process exits.
        let _ = self.slots.acquire_many(self.total_slots as u32).await;
        tracing::info!("dispatcher stopped");
    }

    /// Claims as many due jobs as there are free slots and starts them. Returns how many.
    async fn claim_once(&self) -> usize {
        let free = self.slots.available_permits();
        if free == 0 {
            // Wait for a delivery to finish before claiming more.
            if let Ok(p) = self.slots.clone().acquire_owned().await {
                drop(p);
            }
            return 1;
        }
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(5));
        let jobs = match self.services.store.claim_jobs(&self.owner, now, lease_until, free as u32).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim outbox jobs; will retry");
                tokio::time::sleep(IDLE_POLL).await;
                return 0;
            }
        };
        let count = jobs.len();
        for job in jobs {
            if !self.in_flight.lock().map(|mut s| s.insert(job.id)).unwrap_or(false) {
                continue;
            }
            let Ok(permit) = self.slots.clone().acquire_owned().await else { break };
            let this = self.clone();
            tokio::spawn(async move {
                this.run_job(job).await;
                drop(permit);
            });
        }
        count
    }

    async fn run_job(&self, job: OutboxJob) {
        let job_id = job.id;
        let number = self.number(job.number_id).await;
        if let Some(number) = &number {
            self.wait_for_send_slot(number).await;
        }
        let provider_slot = number.as_ref().and_then(|n| self.per_provider.get(&n.provider).cloned());
        let _slot = match provider_slot {
            Some(sem) => sem.acquire_owned().await.ok(),
            None => None,
        };
        match self.services.deliver(job).await {
            Ok(outcome) => record(&outcome),
            Err(e) => {
                metrics::counter!("frontdesk_sends_total", "outcome" => "error").increment(1);
                tracing::warn!(error = %e, job = %job_id, "delivery could not be recorded; the job will be retried after its lease");
            }
        }
        if let Ok(mut set) = self.in_flight.lock() {
            set.remove(&job_id);
        }
    }

    async fn number(&self, number_id: NumberId) -> Option<PracticeNumber> {
        self.services.number_by_id(number_id).await.ok().flatten()
    }

    /// Waits for this sender's next slot: one every 1/rate seconds, no burst, shared by every
    /// instance (carriers filter bursts, and a number's rate is the provider's, not ours).
    async fn wait_for_send_slot(&self, number: &PracticeNumber) {
        let interval_us = send_interval_us(number.rate_limit_per_sec);
        let id = number.id;
        let now_us = Utc::now().timestamp_micros();
        let reserved = frontdesk_store::write(&*self.services.store, move |tx| {
            Box::pin(async move { tx.reserve_send_slot(id, interval_us, now_us).await })
        })
        .await;
        let wait_us = match reserved {
            Ok(slot) => slot - Utc::now().timestamp_micros(),
            Err(e) => {
                // Without the shared schedule, keep this instance's own pace at least.
                tracing::warn!(error = %e, "could not reserve a send slot; pacing locally");
                interval_us
            }
        };
        if wait_us > 0 {
            tokio::time::sleep(Duration::from_micros(wait_us as u64)).await;
        }
    }
}

/// Microseconds between two sends at `rate` messages per second.
fn send_interval_us(rate: f64) -> i64 {
    (1_000_000.0 / rate.clamp(0.001, 1_000_000.0)).round() as i64
}

fn record(outcome: &DeliveryOutcome) {
    let label = match outcome {
        DeliveryOutcome::Sent { .. } => "sent",
        DeliveryOutcome::Reconciled { .. } => "reconciled",
        DeliveryOutcome::RetryAt(_) => "retry",
        DeliveryOutcome::Failed { .. } => "failed",
        DeliveryOutcome::NeedsReview => "needs_review",
        DeliveryOutcome::Skipped => "skipped",
    };
    metrics::counter!("frontdesk_sends_total", "outcome" => label).increment(1);
    if let DeliveryOutcome::Failed { code } = outcome {
        metrics::counter!("frontdesk_send_failures_total", "code" => code.clone()).increment(1);
    }
}
