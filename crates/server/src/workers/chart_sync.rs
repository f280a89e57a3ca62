//! Saving conversations to the chart: POSTs each pending chart job's transaction Bundle to
//! the configured FHIR endpoint with the bearer token. Jobs are leased in the database (a
//! claim re-checks the lease on the row), so several instances never send the same job at
//! once; a job whose instance died is picked up when its lease runs out. Outcomes are recorded
//! by `Services::record_chart_attempt` (sent; retried with capped backoff after a network
//! error, 429 or 5xx; failed with the server's message after any other 4xx).

use std::time::Duration;

use frontdesk_services::Services;
use frontdesk_services::chart::{ChartAttempt, classify_chart_answer};
use frontdesk_store::ChartJob;

use super::Shutdown;

/// How often due jobs are looked for.
const TICK: Duration = Duration::from_millis(500);
const BATCH: u32 = 8;

pub async fn run(services: Services, timeout: Duration, mut shutdown: Shutdown) {
    let Some(cfg) = services.chart.clone() else { return };
    let http = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "chart sync: could not build the HTTP client; saving to the chart is off");
            return;
        }
    };
    // Long enough for every job of a batch to time out once, one after the other.
    let lease = timeout * (BATCH + 2);
    loop {
        let owner = format!("chart-{}", uuid::Uuid::now_v7());
        match services.claim_chart_jobs(&owner, BATCH, lease).await {
            Ok(jobs) => {
                for job in jobs {
                    let attempt =
                        attempt(&services, &http, &cfg.fhir_base_url, cfg.bearer_token.as_deref(), &job).await;
                    if let ChartAttempt::Temporary(reason) | ChartAttempt::Permanent(reason) = &attempt {
                        tracing::warn!(job = %job.id, conversation = %job.conversation_id, reason = %reason, "chart export attempt failed");
                    }
                    if let Err(e) = services.record_chart_attempt(&job, attempt).await {
                        tracing::warn!(error = %e, job = %job.id, "could not record a chart export attempt");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "chart sync: could not claim jobs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn attempt(
    services: &Services,
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    job: &ChartJob,
) -> ChartAttempt {
    let export = match services.chart_export(job.conversation_id).await {
        Ok(e) => e,
        Err(frontdesk_services::ServiceError::NotFound(what)) => {
            return ChartAttempt::Permanent(format!("{what} no longer exists"));
        }
        Err(e) => return ChartAttempt::Temporary(format!("could not build the Bundle: {e}")),
    };
    let mut request = http.post(url).header("content-type", "application/fhir+json").json(&export.bundle);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            classify_chart_answer(status, &body)
        }
        Err(e) if e.is_timeout() => ChartAttempt::Temporary("the FHIR server did not answer in time".into()),
        Err(e) => ChartAttempt::Temporary(format!("could not reach the FHIR server: {}", without_url(&e))),
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<endpoint>");
    }
    text
}
