//! Reports (issue 8): `GET /reports` (period and cut pickers, SVG charts each followed by
//! its table), `GET /reports.csv?table=…` (any table, same filters) and
//! `GET /api/v1/reports` (the same report as JSON). Admins and auditors only; a bad period
//! is a 400 naming the field.

pub mod charts;
pub mod tables;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use frontdesk_domain::reports::{Cut, Report};
use frontdesk_services::ServiceError;
use frontdesk_services::reports::{Period, parse_cut, require_reports};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use self::charts::Chart;
use self::tables::{Cell, Table};
use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::home::render;
use super::pages::{Chrome, error_page};
use super::session::Staff;

/// The filters every report URL takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The last 7, 30 or 90 days (ignored when `from` and `to` are given; default 30).
    pub days: Option<String>,
    /// First day, YYYY-MM-DD, practice time.
    pub from: Option<String>,
    /// Last day (inclusive), YYYY-MM-DD, not after today.
    pub to: Option<String>,
    /// Break down by `department`, `staff` or `number`.
    pub cut: Option<String>,
    /// CSV only: which table (`summary`, `sources`, `days`, `response_times`, `heat`, `failures`, `cut`).
    #[param(ignore)]
    pub table: Option<String>,
}

impl ReportQuery {
    fn parse(&self, today: NaiveDate) -> Result<(Period, Option<Cut>), ServiceError> {
        let period = Period::parse(self.days.as_deref(), self.from.as_deref(), self.to.as_deref(), today)?;
        Ok((period, parse_cut(self.cut.as_deref())?))
    }
}

/// The same filters as a query string, for CSV links (values are already validated).
fn filters(period: Period, cut: Option<Cut>, q: &ReportQuery) -> String {
    let mut s = match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if q.from.as_deref().unwrap_or("").trim().is_empty() => format!("days={d}"),
        _ => format!("from={}&to={}", period.from, period.to),
    };
    if let Some(c) = cut {
        s.push_str("&cut=");
        s.push_str(c.as_str());
    }
    s
}

pub struct HtmlRow {
    pub cells: Vec<(String, bool)>,
}

pub struct HtmlTable {
    pub id: &'static str,
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<HtmlRow>,
    pub csv_href: String,
}

impl HtmlTable {
    fn of(t: &Table, query: &str) -> HtmlTable {
        HtmlTable {
            id: t.id,
            title: t.title.clone(),
            headers: t.headers.clone(),
            rows: t
                .rows
                .iter()
                .map(|r| HtmlRow { cells: r.iter().map(|c: &Cell| (c.html(), c.numeric())).collect() })
                .collect(),
            csv_href: format!("/reports.csv?table={}&{query}", t.id),
        }
    }
}

/// What the form shows back.
pub struct Form {
    pub days: String,
    pub from: String,
    pub to: String,
    pub cut: String,
    pub error_field: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    chrome: Chrome,
    form: Form,
    heading: String,
    /// The summary table, first on the page.
    summary: Vec<HtmlTable>,
    charts: Vec<(Chart, HtmlTable)>,
    tables: Vec<HtmlTable>,
}

pub async fn page(State(state): State<AppState>, staff: Staff, Query(q): Query<ReportQuery>) -> Response {
    if let Err(e) = require_reports(&staff.ctx) {
        return error_page(&e);
    }
    let today = state.services.report_today();
    let mut page = ReportsPage {
        chrome: Chrome::new(&state, &staff, "reports"),
        form: Form {
            days: q.days.clone().unwrap_or_default(),
            from: q.from.clone().unwrap_or_default(),
            to: q.to.clone().unwrap_or_default(),
            cut: q.cut.clone().unwrap_or_default(),
            error_field: String::new(),
            error: String::new(),
        },
        heading: String::new(),
        summary: vec![],
        charts: vec![],
        tables: vec![],
    };
    let (period, cut) = match q.parse(today) {
        Ok(v) => v,
        Err(ServiceError::Invalid { field, message }) => {
            page.form.error = format!("{field}: {message}");
            page.form.error_field = field;
            return render(&page, StatusCode::BAD_REQUEST);
        }
        Err(e) => return error_page(&e),
    };
    let report = match state.services.report(&staff.ctx, period, cut).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let query = filters(period, cut, &q);
    page.heading = format!(
        "{} to {}, compared with {} to {}",
        report.from.format("%b %-d, %Y"),
        report.to.format("%b %-d, %Y"),
        report.previous_from.format("%b %-d"),
        report.previous_to.format("%b %-d, %Y")
    );
    let mut all: Vec<Table> = tables::tables(&report);
    let mut take = |id: &str| {
        let i = all.iter().position(|t| t.id == id).expect("every chart has its table");
        HtmlTable::of(&all.remove(i), &query)
    };
    page.summary = vec![take("summary")];
    page.charts = vec![
        (charts::volume(&report), take("days")),
        (charts::first_response(&report), take("response_times")),
        (charts::heat(&report), take("heat")),
    ];
    page.tables = all.iter().map(|t| HtmlTable::of(t, &query)).collect();
    render(&page, StatusCode::OK)
}

pub async fn csv(State(state): State<AppState>, staff: Staff, Query(q): Query<ReportQuery>) -> Response {
    let bad = |field: &str, message: String| {
        (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{field}: {message}"))
            .into_response()
    };
    if let Err(e) = require_reports(&staff.ctx) {
        return error_page(&e);
    }
    let (period, cut) = match q.parse(state.services.report_today()) {
        Ok(v) => v,
        Err(ServiceError::Invalid { field, message }) => return bad(&field, message),
        Err(e) => return error_page(&e),
    };
    let report = match state.services.report(&staff.ctx, period, cut).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let wanted = q.table.as_deref().unwrap_or("").trim().to_owned();
    let all = tables::tables(&report);
    let Some(table) = all.iter().find(|t| t.id == wanted) else {
        let known: Vec<&str> = all.iter().map(|t| t.id).collect();
        return bad("table", format!("choose one of: {}", known.join(", ")));
    };
    let filename = format!("frontdesk-{}-{}-to-{}.csv", table.id, report.from, report.to);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        table.csv(),
    )
        .into_response()
}

/// The report as JSON: `docs/REPORTS.md` defines every field. Durations are seconds; rates
/// are fractions; `cuts` is present when `cut` is given.
#[derive(Serialize, ToSchema)]
#[schema(as = Report, value_type = Object)]
pub struct ReportJson(Report);

fn api_error(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Invalid { field, message } => {
            ApiError { status: StatusCode::BAD_REQUEST, ..ApiError::invalid(&field, message) }
        }
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/api/v1/reports", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = ReportJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn api_report(
    State(state): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<ReportJson>, ApiError> {
    let (period, cut) = q.parse(state.services.report_today()).map_err(api_error)?;
    let report = state.services.practice_report(period, cut).await.map_err(api_error)?;
    Ok(Json(ReportJson(report)))
}
