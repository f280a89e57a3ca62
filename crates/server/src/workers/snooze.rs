//! The scheduler: reopens snoozed conversations when their time comes (so they return to
//! the inbox), escalates overdue conversations, runs the retention purge every
//! `retention_every` (when configured), and stores yesterday's report rollup after midnight
//! practice time (plus the grace hour). With several instances only one runs it (a store
//! singleton; PostgreSQL: an advisory lock), and another takes over within a few seconds when
//! that one dies.

use std::time::Duration;

use frontdesk_services::Services;

use super::Shutdown;

/// How often the scheduler looks for due work, and how often a standby instance tries to
/// take the role over.
const TICK: Duration = Duration::from_secs(5);
/// How often overdue conversations are looked for and escalated to their department's lead.
const ESCALATION_EVERY: Duration = Duration::from_secs(30);

/// How often the scheduler checks that yesterday's report rollup is stored.
const REPORTS_EVERY: Duration = Duration::from_secs(60);

pub async fn run(services: Services, retention_every: Duration, mut shutdown: Shutdown) {
    let mut lease = None;
    let mut last_escalation: Option<std::time::Instant> = None;
    let mut last_purge: Option<std::time::Instant> = None;
    let mut last_reports = None;
    loop {
        if lease.is_none() {
            lease = match services.store.try_singleton("scheduler").await {
                Ok(l) => {
                    if l.is_some() {
                        tracing::info!("this instance runs the scheduler");
                    }
                    l
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not ask for the scheduler role");
                    None
                }
            };
        }
        if let Some(held) = lease.as_mut() {
            if held.still_held().await {
                if let Err(e) = services.wake_snoozed().await {
                    tracing::warn!(error = %e, "could not reopen snoozed conversations");
                }
                if let Err(e) = services.referral_tick(frontdesk_services::now()).await {
                    tracing::warn!(error = %e, "could not send referral texts; they are tried again");
                }
                // Scheduled ("send later") and automated messages that are due.
                if let Err(e) = services.send_due_scheduled(frontdesk_services::now()).await {
                    tracing::warn!(error = %e, "could not send due scheduled messages");
                }
                if last_escalation.is_none_or(|at| at.elapsed() >= ESCALATION_EVERY) {
                    last_escalation = Some(std::time::Instant::now());
                    if let Err(e) = services.escalate_overdue(frontdesk_services::now()).await {
                        tracing::warn!(error = %e, "could not escalate overdue conversations");
                    }
                }
                let policy = services.retention;
                if !policy.keeps_everything() && last_purge.is_none_or(|t| t.elapsed() >= retention_every) {
                    last_purge = Some(std::time::Instant::now());
                    if let Err(e) = services.purge_expired(&policy, frontdesk_services::now()).await {
                        tracing::warn!(error = %e, "the retention purge failed; it runs again later");
                    }
                }
                // Reports: store yesterday's rollup once it has settled (checked each minute).
                if last_reports.is_none_or(|at: std::time::Instant| at.elapsed() >= REPORTS_EVERY) {
                    last_reports = Some(std::time::Instant::now());
                    if let Err(e) = services.precompute_reports().await {
                        tracing::warn!(error = %e, "could not precompute yesterday's report");
                    }
                }
            } else {
                tracing::warn!("lost the scheduler role (database connection lost); will try to take it again");
                lease = None;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}
