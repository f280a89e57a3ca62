//! Triage and assignment pages: the routing rules and text menu (`/admin/routing`), a
//! department's members, capacities and strategy (`/admin/departments/{id}/assignment`), and
//! each person's availability toggle (`/availability`).
//!
//! The rules are saved whole: every change (add, edit, delete, move) builds the new ordered
//! list and hands it to `save_routing_config`, which validates all of it; a refusal re-renders
//! the page (422) with the message next to the field it names and nothing saved.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use frontdesk_domain::model::Role;
use frontdesk_domain::triage::{MAX_MENU_OPTIONS, MenuOption, PatientStatus, Priority, RoutingConfig, RoutingRule};
use frontdesk_services::ServiceError;
use frontdesk_services::assignment::Strategy;
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::home::render;
use super::pages::{Chrome, error_page, message_page};
use super::session::Staff;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/routing", get(routing_page_get))
        .route("/admin/routing/rules", post(save_rule))
        .route("/admin/routing/rules/{n}/delete", post(delete_rule))
        .route("/admin/routing/rules/{n}/move", post(move_rule))
        .route("/admin/routing/menu", post(save_menu))
        .route("/admin/departments/{id}/assignment", get(assignment_get))
        .route("/admin/departments/{id}/assignment/strategy", post(save_strategy))
        .route("/admin/departments/{id}/members", post(save_member))
        .route("/admin/departments/{id}/members/{user}/remove", post(remove_member))
        .route("/availability", get(availability_get).post(availability_post))
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choice(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Choice {
    Choice { value: value.into(), label: label.into(), selected }
}

/// A refusal: the field of the rule form it belongs to (empty: shown at the top only).
#[derive(Default)]
pub struct PageError {
    pub field: String,
    pub message: String,
}

impl PageError {
    pub fn is(&self, field: &str) -> bool {
        !self.field.is_empty() && self.field == field
    }

    pub fn present(&self) -> bool {
        !self.message.is_empty()
    }
}

// ---- /admin/routing ----

/// A rule as the form shows it (text fields as typed).
#[derive(Default, Clone, Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    index: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    pattern: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    patient_status: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    tags: String,
}

impl RuleForm {
    fn from_rule(index: usize, r: &RoutingRule) -> RuleForm {
        RuleForm {
            index: index.to_string(),
            name: r.name.clone(),
            keywords: r.keywords.join(", "),
            pattern: r.pattern.clone().unwrap_or_default(),
            number: r.number.clone().unwrap_or_default(),
            reason: r.reason.clone().unwrap_or_default(),
            patient_status: r.patient_status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            department_id: r.department_id.to_string(),
            priority: r.priority.as_str().into(),
            tags: r.tags.join(", "),
        }
    }

    /// The rule this form describes, or the field that cannot be read.
    fn to_rule(&self) -> Result<RoutingRule, (String, String)> {
        let list = |s: &str| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let department_id = Uuid::parse_str(self.department_id.trim())
            .map_err(|_| ("department_id".to_string(), "choose the department this rule routes to".to_string()))?;
        let patient_status = match self.patient_status.trim() {
            "" => None,
            s => Some(PatientStatus::parse(s).ok_or_else(|| {
                ("patient_status".to_string(), "choose prospective, existing, unknown or any".to_string())
            })?),
        };
        let priority = match self.priority.trim() {
            "" => Priority::Normal,
            s => Priority::parse(s)
                .ok_or_else(|| ("priority".to_string(), "choose normal or high priority".to_string()))?,
        };
        Ok(RoutingRule {
            name: self.name.clone(),
            keywords: list(&self.keywords),
            pattern: opt(&self.pattern),
            number: opt(&self.number),
            reason: opt(&self.reason),
            patient_status,
            department_id,
            priority,
            tags: list(&self.tags),
        })
    }
}

pub struct RuleRow {
    pub index: usize,
    pub number: usize,
    pub name: String,
    pub conditions: String,
    pub actions: String,
    pub first: bool,
    pub last: bool,
}

pub struct MenuRow {
    pub n: usize,
    pub label: String,
    pub departments: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "admin_routing.html")]
struct RoutingPage {
    chrome: Chrome,
    rows: Vec<RuleRow>,
    form: RuleForm,
    editing: bool,
    departments: Vec<Choice>,
    numbers: Vec<Choice>,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    menu_enabled: bool,
    menu_rows: Vec<MenuRow>,
    confirmation: Option<&'static str>,
    error: PageError,
}

#[derive(Deserialize, Default)]
pub struct RoutingQuery {
    edit: Option<usize>,
    done: Option<String>,
}

struct Lookups {
    departments: Vec<(Uuid, String)>,
    numbers: Vec<(String, String)>,
}

async fn lookups(state: &AppState) -> Result<Lookups, ServiceError> {
    let mut departments: Vec<(Uuid, String)> =
        state.services.store.list_departments().await?.into_iter().map(|d| (d.id, d.name)).collect();
    departments.sort_by_key(|d| d.1.to_lowercase());
    let numbers = state
        .services
        .store
        .list_numbers()
        .await?
        .into_iter()
        .map(|n| (n.e164.as_str().to_string(), n.e164.display()))
        .collect();
    Ok(Lookups { departments, numbers })
}

fn describe(rule: &RoutingRule, l: &Lookups) -> (String, String) {
    let mut c = Vec::new();
    if !rule.keywords.is_empty() {
        c.push(format!("words: {}", rule.keywords.join(", ")));
    }
    if let Some(p) = &rule.pattern {
        c.push(format!("pattern: {p}"));
    }
    if let Some(n) = &rule.number {
        let shown = l.numbers.iter().find(|x| &x.0 == n).map(|x| x.1.clone()).unwrap_or_else(|| n.clone());
        c.push(format!("number texted: {shown}"));
    }
    if let Some(r) = &rule.reason {
        c.push(format!("reason: {r}"));
    }
    if let Some(s) = rule.patient_status {
        c.push(format!("{} patient", s.as_str()));
    }
    let department =
        l.departments.iter().find(|d| d.0 == rule.department_id).map(|d| d.1.clone()).unwrap_or("(removed)".into());
    let mut a = vec![format!("to {department}")];
    if rule.priority == Priority::High {
        a.push("high priority".into());
    }
    if !rule.tags.is_empty() {
        a.push(format!("tags: {}", rule.tags.join(", ")));
    }
    (c.join(" · "), a.join(" · "))
}

#[allow(clippy::too_many_arguments)]
async fn routing_page(
    state: &AppState,
    staff: &Staff,
    config: &RoutingConfig,
    form: Option<RuleForm>,
    editing: bool,
    confirmation: Option<&'static str>,
    error: PageError,
    status: StatusCode,
) -> Response {
    let l = match lookups(state).await {
        Ok(l) => l,
        Err(e) => return error_page(&e),
    };
    let count = config.rules.len();
    let rows = config
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (conditions, actions) = describe(r, &l);
            RuleRow {
                index: i,
                number: i + 1,
                name: r.name.clone(),
                conditions,
                actions,
                first: i == 0,
                last: i + 1 == count,
            }
        })
        .collect();
    let form = form.unwrap_or_else(|| RuleForm { index: count.to_string(), ..Default::default() });
    let departments = std::iter::once(choice("", "Choose a department", form.department_id.is_empty()))
        .chain(
            l.departments.iter().map(|(id, name)| choice(id.to_string(), name, form.department_id == id.to_string())),
        )
        .collect();
    let numbers = std::iter::once(choice("", "Any number", form.number.is_empty()))
        .chain(l.numbers.iter().map(|(e, shown)| choice(e, shown, &form.number == e)))
        .collect();
    let statuses =
        [("", "Any"), ("prospective", "Prospective patient"), ("existing", "Existing patient"), ("unknown", "Unknown")]
            .iter()
            .map(|(v, label)| choice(*v, *label, form.patient_status == *v))
            .collect();
    let priorities = [("normal", "Normal"), ("high", "High")]
        .iter()
        .map(|(v, label)| choice(*v, *label, form.priority == *v || (form.priority.is_empty() && *v == "normal")))
        .collect();
    let menu_rows = (0..MAX_MENU_OPTIONS.min(6))
        .map(|i| {
            let option = config.menu.options.get(i);
            let selected = option.map(|o| o.department_id.to_string()).unwrap_or_default();
            MenuRow {
                n: i + 1,
                label: option.map(|o| o.label.clone()).unwrap_or_default(),
                departments: std::iter::once(choice("", "No option", selected.is_empty()))
                    .chain(
                        l.departments.iter().map(|(id, name)| choice(id.to_string(), name, selected == id.to_string())),
                    )
                    .collect(),
            }
        })
        .collect();
    let page = RoutingPage {
        chrome: Chrome::new(state, staff, "admin"),
        rows,
        form,
        editing,
        departments,
        numbers,
        statuses,
        priorities,
        menu_enabled: config.menu.enabled,
        menu_rows,
        confirmation,
        error,
    };
    render(&page, status)
}

fn confirmation(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "moved" => "Moved.",
        _ => return None,
    })
}

async fn current(state: &AppState) -> Result<RoutingConfig, ServiceError> {
    state.services.routing_config().await
}

async fn routing_page_get(State(state): State<AppState>, staff: Staff, Query(q): Query<RoutingQuery>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let config = match current(&state).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let (form, editing) = match q.edit.and_then(|i| config.rules.get(i).map(|r| (i, r))) {
        Some((i, r)) => (Some(RuleForm::from_rule(i, r)), true),
        None => (None, false),
    };
    routing_page(
        &state,
        &staff,
        &config,
        form,
        editing,
        confirmation(q.done.as_deref()),
        PageError::default(),
        StatusCode::OK,
    )
    .await
}

/// The field of the rule form a validation error names, when it concerns rule `index`.
fn form_field(field: &str, index: usize) -> Option<String> {
    field.strip_prefix(&format!("rules[{index}].")).map(str::to_string)
}

/// Saves `config` whole; on a refusal shows the page with the error (and the form as typed).
async fn save_and_show(
    state: &AppState,
    staff: &Staff,
    before: &RoutingConfig,
    config: RoutingConfig,
    form: Option<(usize, RuleForm, bool)>,
    done: &str,
) -> Response {
    match state.services.save_routing_config(&staff.ctx, config, staff.ip.clone()).await {
        Ok(_) => Redirect::to(&format!("/admin/routing?done={done}")).into_response(),
        Err(ServiceError::Invalid { field, message }) => {
            let (form, editing, field) = match form {
                Some((index, form, editing)) => {
                    let f = form_field(&field, index).unwrap_or_default();
                    (Some(form), editing, f)
                }
                None => (None, false, String::new()),
            };
            let error = PageError { field, message };
            routing_page(state, staff, before, form, editing, None, error, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(&e),
    }
}

async fn save_rule(State(state): State<AppState>, staff: Staff, Form(form): Form<RuleForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let before = match current(&state).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let editing = form.index.trim().parse::<usize>().ok().filter(|i| *i < before.rules.len());
    let index = editing.unwrap_or(before.rules.len());
    let rule = match form.to_rule() {
        Ok(r) => r,
        Err((field, message)) => {
            let error = PageError { field, message };
            let form = RuleForm { index: index.to_string(), ..form };
            return routing_page(
                &state,
                &staff,
                &before,
                Some(form),
                editing.is_some(),
                None,
                error,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut config = before.clone();
    match editing {
        Some(i) => config.rules[i] = rule,
        None => config.rules.push(rule),
    }
    let form = RuleForm { index: index.to_string(), ..form };
    save_and_show(&state, &staff, &before, config, Some((index, form, editing.is_some())), "saved").await
}

async fn delete_rule(State(state): State<AppState>, staff: Staff, Path(n): Path<usize>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let before = match current(&state).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    if n >= before.rules.len() {
        return message_page(StatusCode::NOT_FOUND, "Not found", "There is no such rule. It may have been removed.");
    }
    let mut config = before.clone();
    config.rules.remove(n);
    save_and_show(&state, &staff, &before, config, None, "deleted").await
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    direction: String,
}

async fn move_rule(
    State(state): State<AppState>,
    staff: Staff,
    Path(n): Path<usize>,
    Form(f): Form<MoveForm>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let before = match current(&state).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let target = match f.direction.as_str() {
        "up" if n > 0 && n < before.rules.len() => n - 1,
        "down" if n + 1 < before.rules.len() => n + 1,
        _ => return message_page(StatusCode::UNPROCESSABLE_ENTITY, "Please check", "That rule cannot move that way."),
    };
    let mut config = before.clone();
    config.rules.swap(n, target);
    save_and_show(&state, &staff, &before, config, None, "moved").await
}

async fn save_menu(State(state): State<AppState>, staff: Staff, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let before = match current(&state).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let mut options = Vec::new();
    for n in 1..=MAX_MENU_OPTIONS {
        let label = value(&format!("label_{n}"));
        let department = value(&format!("department_{n}"));
        if label.is_empty() && department.is_empty() {
            continue;
        }
        let Ok(department_id) = Uuid::parse_str(&department) else {
            let error = PageError {
                field: String::new(),
                message: format!("menu option {n}: choose the department it routes to"),
            };
            return routing_page(&state, &staff, &before, None, false, None, error, StatusCode::UNPROCESSABLE_ENTITY)
                .await;
        };
        options.push(MenuOption { label, department_id });
    }
    let mut config = before.clone();
    config.menu.enabled = value("enabled") == "on";
    config.menu.options = options;
    save_and_show(&state, &staff, &before, config, None, "saved").await
}

// ---- /admin/departments/{id}/assignment ----

pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub capacity: i64,
    pub available: bool,
    pub open_assigned: i64,
}

#[derive(Template)]
#[template(path = "admin_assignment.html")]
struct AssignmentPage {
    chrome: Chrome,
    department_id: String,
    department_name: String,
    strategies: Vec<Choice>,
    members: Vec<MemberRow>,
    candidates: Vec<Choice>,
    capacity: String,
    confirmation: Option<&'static str>,
    error: PageError,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn assignment_page(
    state: &AppState,
    staff: &Staff,
    id: Uuid,
    confirmation: Option<&'static str>,
    error: PageError,
    capacity: String,
    status: StatusCode,
) -> Response {
    let view = match state.services.department_assignment(&staff.ctx, id).await {
        Ok(v) => v,
        Err(e) => return error_page(&e),
    };
    let users = match state.services.store.list_users().await {
        Ok(u) => u,
        Err(e) => return error_page(&ServiceError::from(e)),
    };
    let mut candidates: Vec<Choice> = users
        .iter()
        .filter(|u| !u.disabled && u.role != Role::Auditor && !view.members.iter().any(|m| m.user_id == u.id))
        .map(|u| choice(u.id.to_string(), u.name.clone(), false))
        .collect();
    candidates.sort_by_key(|c| c.label.to_lowercase());
    let strategies = [Strategy::RoundRobin, Strategy::LeastBusy]
        .iter()
        .map(|s| {
            let label = match s {
                Strategy::RoundRobin => "Round-robin: members take turns",
                Strategy::LeastBusy => "Least busy: the member with the fewest open conversations",
            };
            choice(s.as_str(), label, *s == view.strategy)
        })
        .collect();
    let mut members: Vec<MemberRow> = view
        .members
        .iter()
        .map(|m| MemberRow {
            user_id: m.user_id.to_string(),
            name: m.name.clone(),
            capacity: m.capacity,
            available: m.available,
            open_assigned: m.open_assigned,
        })
        .collect();
    members.sort_by_key(|m| m.name.to_lowercase());
    let page = AssignmentPage {
        chrome: Chrome::new(state, staff, "admin"),
        department_id: id.to_string(),
        department_name: view.department_name,
        strategies,
        members,
        candidates,
        capacity: if capacity.is_empty() { "10".into() } else { capacity },
        confirmation,
        error,
    };
    render(&page, status)
}

fn parse_uuid(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

fn no_department() -> Response {
    message_page(StatusCode::NOT_FOUND, "Not found", "There is no such department. It may have been removed.")
}

async fn assignment_get(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Some(id) = parse_uuid(&id) else { return no_department() };
    let done = match q.done.as_deref() {
        Some("saved") => Some("Saved."),
        Some("removed") => Some("Removed."),
        _ => None,
    };
    assignment_page(&state, &staff, id, done, PageError::default(), String::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct StrategyForm {
    #[serde(default)]
    strategy: String,
}

async fn save_strategy(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<StrategyForm>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Some(id) = parse_uuid(&id) else { return no_department() };
    match state.services.set_assignment_strategy(&staff.ctx, id, &f.strategy, staff.ip.clone()).await {
        Ok(()) => Redirect::to(&format!("/admin/departments/{id}/assignment?done=saved")).into_response(),
        Err(ServiceError::Invalid { field, message }) => {
            let error = PageError { field, message };
            assignment_page(&state, &staff, id, None, error, String::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    capacity: String,
}

async fn save_member(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Some(id) = parse_uuid(&id) else { return no_department() };
    let result = match parse_uuid(&f.user_id) {
        Some(user) => state.services.set_department_member(&staff.ctx, id, user, &f.capacity, staff.ip.clone()).await,
        None => Err(ServiceError::invalid("user_id", "choose the person to add")),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/admin/departments/{id}/assignment?done=saved")).into_response(),
        Err(ServiceError::Invalid { field, message }) => {
            let error = PageError { field, message };
            assignment_page(&state, &staff, id, None, error, f.capacity, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => error_page(&e),
    }
}

async fn remove_member(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, user)): Path<(String, String)>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let (Some(id), Some(user)) = (parse_uuid(&id), parse_uuid(&user)) else { return no_department() };
    match state.services.remove_department_member(&staff.ctx, id, user, staff.ip.clone()).await {
        Ok(()) => Redirect::to(&format!("/admin/departments/{id}/assignment?done=removed")).into_response(),
        Err(e) => error_page(&e),
    }
}

// ---- /availability ----

#[derive(Template)]
#[template(path = "availability.html")]
struct AvailabilityPage {
    chrome: Chrome,
    available: bool,
    confirmation: Option<&'static str>,
}

async fn availability_get(State(state): State<AppState>, staff: Staff, Query(q): Query<DoneQuery>) -> Response {
    let available = match state.services.my_availability(&staff.ctx).await {
        Ok(a) => a,
        Err(e) => return error_page(&e),
    };
    let confirmation = match q.done.as_deref() {
        Some("saved") => Some("Saved."),
        _ => None,
    };
    let page = AvailabilityPage { chrome: Chrome::new(&state, &staff, "availability"), available, confirmation };
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct AvailabilityForm {
    #[serde(default)]
    available: String,
}

async fn availability_post(State(state): State<AppState>, staff: Staff, Form(f): Form<AvailabilityForm>) -> Response {
    let available = match f.available.as_str() {
        "true" => true,
        "false" => false,
        _ => return message_page(StatusCode::UNPROCESSABLE_ENTITY, "Please check", "Choose available or unavailable."),
    };
    match state.services.set_my_availability(&staff.ctx, available, staff.ip.clone()).await {
        Ok(()) => Redirect::to("/availability?done=saved").into_response(),
        Err(e) => error_page(&e),
    }
}
