//! Saving a conversation to the chart from its page: `GET /c/{id}/export?format=fhir|text|pdf`
//! (downloads, audited `conversation.export`), `POST /c/{id}/chart` (queue an export to the
//! practice's FHIR endpoint now), and the exports' status shown on the conversation page.

use crate::web::pdf::{PdfBlock, render_pdf};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use frontdesk_services::ServiceError;
use frontdesk_services::chart::ExportFormat;
use frontdesk_store::ChartJobStatus;
use serde::Deserialize;
use uuid::Uuid;

use super::{local_time, see_other};
use crate::web::AppState;
use crate::web::pages::error_page;
use crate::web::session::Staff;

pub struct ChartJobRow {
    /// `pending`, `sent` or `failed`.
    pub status: &'static str,
    pub label: String,
    pub when: String,
    pub reason: String,
}

#[derive(Default)]
pub struct ChartPanel {
    /// `[chart]` is configured.
    pub enabled: bool,
    pub jobs: Vec<ChartJobRow>,
}

pub async fn panel(state: &AppState, id: Uuid) -> Result<ChartPanel, ServiceError> {
    if state.services.chart.is_none() {
        return Ok(ChartPanel::default());
    }
    let jobs = state.services.chart_jobs(id).await?;
    Ok(ChartPanel {
        enabled: true,
        jobs: jobs
            .iter()
            .map(|j| ChartJobRow {
                status: j.status.as_str(),
                label: match j.status {
                    ChartJobStatus::Pending if j.attempts == 0 => "Saving to the chart".into(),
                    ChartJobStatus::Pending => format!("Saving to the chart (attempt {} failed, retrying)", j.attempts),
                    ChartJobStatus::Sent => "Saved to the chart".into(),
                    ChartJobStatus::Failed => "Not saved to the chart".into(),
                },
                when: local_time(state, j.updated_at),
                reason: j.last_error.clone().unwrap_or_default(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let format = match ExportFormat::parse(&q.format) {
        Ok(f) => f,
        Err(e) => return error_page(&e),
    };
    let export = match state.services.export_conversation(&staff.ctx, id, format, staff.ip.clone()).await {
        Ok(e) => e,
        Err(e) => return error_page(&e),
    };
    download(id, format, export).await
}

/// The export as a download (PDF rendered like a form submission's).
pub(crate) async fn download(
    id: Uuid,
    format: ExportFormat,
    export: frontdesk_services::chart::ChartExport,
) -> Response {
    let (content_type, ext, bytes) = match format {
        ExportFormat::Fhir => {
            ("application/fhir+json", "json", serde_json::to_vec_pretty(&export.bundle).unwrap_or_default())
        }
        ExportFormat::Text => ("text/plain; charset=utf-8", "txt", export.transcript.into_bytes()),
        ExportFormat::Pdf => {
            let lines: Vec<PdfBlock> = export
                .transcript
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    let bold = i == 0 || (!l.starts_with(' ') && l.contains(" - "));
                    PdfBlock::text(l, if i == 0 { 14.0 } else { 10.0 }, bold, 0.0)
                })
                .collect();
            let title = format!("Conversation {id}");
            match tokio::task::spawn_blocking(move || render_pdf(&title, &lines)).await {
                Ok(Ok(bytes)) => ("application/pdf", "pdf", bytes),
                Ok(Err(detail)) => return error_page(&ServiceError::Internal(format!("pdf: {detail}"))),
                Err(e) => return error_page(&ServiceError::Internal(format!("pdf: {e}"))),
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"conversation-{id}.{ext}\"")),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
pub struct SyncForm {}

pub async fn sync(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<Uuid>,
    Form(_): Form<SyncForm>,
) -> Response {
    match state.services.request_chart_sync(&staff.ctx, id, staff.ip.clone()).await {
        Ok(_) => see_other(&format!("/c/{id}")),
        Err(e) => error_page(&e),
    }
}
