//! The admin pages: users and roles, practice numbers, reply templates, practice settings.
//!
//! Every handler takes `Staff` and asks `require_admin` first (the services ask again). Forms
//! post back to their page: success redirects (303) with a confirmation flag in the query,
//! refusals re-render the form (422) with the message next to the field it names.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use frontdesk_domain::model::{Department, DepartmentId, ProviderKind, Role, User, UserId};
use frontdesk_services::accounts::{MIN_PASSWORD_CHARS, UserChange};
use frontdesk_services::numbers::NewNumber;
use frontdesk_services::templates::EditablePractice;
use frontdesk_services::{PhiGuardMode, ServiceError};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use super::home::render;
use super::pages::{Chrome, error_page, message_page};
use super::session::Staff;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{id}", get(user).post(update_user))
        .route("/admin/departments", get(departments_list).post(add_department))
        .route("/admin/departments/{id}", post(rename_department))
        .route("/admin/numbers", get(numbers).post(add_number))
        .route("/admin/templates", get(templates).post(save_template))
        .route("/admin/templates/{id}/delete", post(delete_template))
        .route("/admin/settings", get(settings).post(save_settings))
        .route("/admin/forms", get(forms_list).post(save_form))
}

/// A refusal shown on the form: the field it concerns and what to do (empty: none).
#[derive(Default)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

/// Input problems become a form error (422); anything else is a page of its own.
fn form_error(e: ServiceError, conflict_field: &str) -> Result<FormError, ServiceError> {
    match e {
        ServiceError::Invalid { field, message } => Ok(FormError { field, message }),
        ServiceError::Conflict(message) => Ok(FormError { field: conflict_field.to_string(), message }),
        other => Err(other),
    }
}

fn field_label(field: &str) -> &str {
    match field {
        "email" => "Email",
        "name" => "Name",
        "role" => "Role",
        "password" => "Password",
        "departments" => "Departments",
        "department_name" => "Department name",
        "number" => "Number",
        "provider" => "Provider",
        "department" => "Default department",
        "body" => "Text",
        "help_text" => "HELP reply",
        "phi_guard" => "PHI guard",
        "time_zone" => "Time zone",
        "definition" => "Form definition",
        _ => "This form",
    }
}

impl FormError {
    /// `Label: message.` for the summary at the top of the form.
    pub fn summary(&self) -> String {
        let mut message = self.message.trim().to_string();
        if !message.ends_with('.') {
            message.push('.');
        }
        format!("{}: {message}", field_label(&self.field))
    }

    pub fn is(&self, field: &str) -> bool {
        !self.field.is_empty() && self.field == field
    }

    pub fn present(&self) -> bool {
        !self.message.is_empty()
    }
}

fn not_found(what: &str) -> Response {
    message_page(StatusCode::NOT_FOUND, "Not found", &format!("There is no such {what}. It may have been removed."))
}

fn parse_id(raw: &str) -> Option<Uuid> {
    Uuid::parse_str(raw).ok()
}

/// The practice's departments, or the page for a failure.
async fn departments(state: &AppState) -> Result<Vec<Department>, ServiceError> {
    Ok(state.services.store.list_departments().await?)
}

#[derive(Deserialize, Default)]
pub struct Flag {
    done: Option<String>,
    edit: Option<String>,
}

/// What a confirmation flag says.
fn confirmation(flag: &Flag) -> Option<&'static str> {
    Some(match flag.done.as_deref()? {
        "added" => "Added.",
        "saved" => "Saved.",
        "deleted" => "Deleted.",
        "renamed" => "Renamed.",
        _ => return None,
    })
}

/// One choice of a select or a set of checkboxes.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn role_choices(selected: Role) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().to_string(),
            label: match r {
                Role::Admin => "Admin: manages users, numbers, templates and settings",
                Role::Staff => "Staff: answers patients",
                Role::Auditor => "Auditor: reads, never changes",
            }
            .to_string(),
            selected: *r == selected,
        })
        .collect()
}

// ---- /admin ----

#[derive(Template)]
#[template(path = "admin_index.html")]
struct IndexPage {
    chrome: Chrome,
}

async fn index(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    render(&IndexPage { chrome: Chrome::new(&state, &staff, "admin") }, StatusCode::OK)
}

// ---- /admin/users ----

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub departments: String,
    pub two_factor: bool,
    pub disabled: bool,
    pub locked: bool,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
    confirmation: Option<&'static str>,
    error: FormError,
    form: NewUserForm,
    roles: Vec<Choice>,
    min_password: usize,
}

#[derive(Deserialize, Default)]
pub struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn user_rows(state: &AppState, me: UserId) -> Result<Vec<UserRow>, ServiceError> {
    let store = &state.services.store;
    let all_departments = store.list_departments().await?;
    let mut users: Vec<User> = store.list_users().await?;
    users.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.email.cmp(&b.email)));
    let now = chrono::Utc::now();
    let mut rows = Vec::with_capacity(users.len());
    for u in users {
        let security = store.user_security(u.id).await?;
        let limited = store.user_departments(u.id).await?;
        let departments = if u.role != Role::Staff || limited.is_empty() {
            "All".to_string()
        } else {
            let names: Vec<String> =
                all_departments.iter().filter(|d| limited.contains(&d.id)).map(|d| d.name.clone()).collect();
            names.join(", ")
        };
        rows.push(UserRow {
            id: u.id.to_string(),
            name: u.name,
            email: u.email,
            role: u.role.as_str().to_string(),
            departments,
            two_factor: security.totp_enabled,
            disabled: u.disabled,
            locked: security.locked_until.is_some_and(|t| t > now),
            is_me: u.id == me,
        });
    }
    Ok(rows)
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    flag: &Flag,
    error: Option<FormError>,
    form: NewUserForm,
    status: StatusCode,
) -> Response {
    let rows = match user_rows(state, staff.ctx.user.id).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let role = form.role.parse().unwrap_or(Role::Staff);
    let page = UsersPage {
        chrome: Chrome::new(state, staff, "admin"),
        rows,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
        form,
        roles: role_choices(role),
        min_password: MIN_PASSWORD_CHARS,
    };
    render(&page, status)
}

async fn users(State(state): State<AppState>, staff: Staff, Query(flag): Query<Flag>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    users_page(&state, &staff, &flag, None, NewUserForm::default(), StatusCode::OK).await
}

async fn add_user(State(state): State<AppState>, staff: Staff, Form(form): Form<NewUserForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let result = match form.role.parse::<Role>() {
        Ok(role) => {
            state.services.add_user(&staff.ctx, &form.email, &form.name, role, &form.password, staff.ip.clone()).await
        }
        Err(_) => Err(ServiceError::invalid("role", "choose admin, staff or auditor")),
    };
    match result {
        Ok(_) => Redirect::to("/admin/users?done=added").into_response(),
        Err(e) => match form_error(e, "email") {
            Ok(error) => {
                // The password is never sent back to the browser.
                let form = NewUserForm { password: String::new(), ..form };
                users_page(&state, &staff, &Flag::default(), Some(error), form, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => error_page(&e),
        },
    }
}

// ---- /admin/users/{id} ----

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    email: String,
    name: String,
    roles: Vec<Choice>,
    departments: Vec<Choice>,
    disabled: bool,
    two_factor: bool,
    locked: bool,
    is_me: bool,
    confirmation: Option<&'static str>,
    error: FormError,
    min_password: usize,
}

/// The edit form as posted; checkboxes arrive only when ticked, departments once each.
#[derive(Default)]
struct UserEdit {
    name: String,
    role: String,
    departments: Vec<String>,
    disabled: bool,
    new_password: String,
    reset_totp: bool,
}

impl UserEdit {
    fn parse(body: &[u8]) -> UserEdit {
        let mut edit = UserEdit::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match &*k {
                "name" => edit.name = v.into_owned(),
                "role" => edit.role = v.into_owned(),
                "departments" => edit.departments.push(v.into_owned()),
                "disabled" => edit.disabled = true,
                "new_password" => edit.new_password = v.into_owned(),
                "reset_totp" => edit.reset_totp = true,
                _ => {}
            }
        }
        edit
    }
}

async fn user_page(
    state: &AppState,
    staff: &Staff,
    user: &User,
    edit: Option<&UserEdit>,
    flag: &Flag,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let store = &state.services.store;
    let (security, limited, all) =
        match (store.user_security(user.id).await, store.user_departments(user.id).await, departments(state).await) {
            (Ok(s), Ok(l), Ok(a)) => (s, l, a),
            (Err(e), _, _) | (_, Err(e), _) => return error_page(&e.into()),
            (_, _, Err(e)) => return error_page(&e),
        };
    let (name, role, chosen, disabled) = match edit {
        Some(e) => (
            e.name.clone(),
            e.role.parse().unwrap_or(user.role),
            e.departments.iter().filter_map(|d| parse_id(d)).collect::<Vec<DepartmentId>>(),
            e.disabled,
        ),
        None => (user.name.clone(), user.role, limited, user.disabled),
    };
    let page = UserPage {
        chrome: Chrome::new(state, staff, "admin"),
        id: user.id.to_string(),
        email: user.email.clone(),
        name,
        roles: role_choices(role),
        departments: all
            .iter()
            .map(|d| Choice { value: d.id.to_string(), label: d.name.clone(), selected: chosen.contains(&d.id) })
            .collect(),
        disabled,
        two_factor: security.totp_enabled,
        locked: security.locked_until.is_some_and(|t| t > chrono::Utc::now()),
        is_me: user.id == staff.ctx.user.id,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
        min_password: MIN_PASSWORD_CHARS,
    };
    render(&page, status)
}

/// The user behind a path segment; `None` when there is no such user.
async fn find_user(state: &AppState, raw: &str) -> Result<Option<User>, ServiceError> {
    let Some(id) = parse_id(raw) else { return Ok(None) };
    Ok(state.services.store.user_by_id(id).await?)
}

async fn user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(flag): Query<Flag>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    match find_user(&state, &id).await {
        Ok(Some(u)) => user_page(&state, &staff, &u, None, &flag, None, StatusCode::OK).await,
        Ok(None) => not_found("user"),
        Err(e) => error_page(&e),
    }
}

async fn update_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let target = match find_user(&state, &id).await {
        Ok(Some(u)) => u,
        Ok(None) => return not_found("user"),
        Err(e) => return error_page(&e),
    };
    let edit = UserEdit::parse(&body);
    let result =
        match (edit.role.parse::<Role>(), edit.departments.iter().map(|d| parse_id(d)).collect::<Option<Vec<_>>>()) {
            (Err(_), _) => Err(ServiceError::invalid("role", "choose admin, staff or auditor")),
            (_, None) => Err(ServiceError::invalid("departments", "choose departments from the list")),
            (Ok(role), Some(departments)) => {
                let change = UserChange {
                    user_id: target.id,
                    name: edit.name.clone(),
                    role,
                    departments,
                    disabled: edit.disabled,
                    new_password: Some(edit.new_password.clone()).filter(|p| !p.is_empty()),
                    reset_totp: edit.reset_totp,
                };
                state.services.update_user(&staff.ctx, change, staff.ip.clone()).await
            }
        };
    match result {
        Ok(_) => Redirect::to(&format!("/admin/users/{}?done=saved", target.id)).into_response(),
        Err(e) => match form_error(e, "name") {
            Ok(error) => {
                user_page(
                    &state,
                    &staff,
                    &target,
                    Some(&edit),
                    &Flag::default(),
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => error_page(&e),
        },
    }
}

// ---- /admin/departments ----

pub struct DepartmentRow {
    pub id: String,
    pub name: String,
    /// What the rename field shows (the refused name after a failed rename).
    pub value: String,
    /// The rename of this row was refused.
    pub failed: bool,
}

#[derive(Template)]
#[template(path = "admin_departments.html")]
struct DepartmentsPage {
    chrome: Chrome,
    rows: Vec<DepartmentRow>,
    /// The name in the add form.
    name: String,
    max_chars: usize,
    confirmation: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct DepartmentForm {
    #[serde(default)]
    name: String,
}

/// A refused rename: which row, and the name that was refused.
struct RenameAttempt {
    id: DepartmentId,
    name: String,
}

async fn departments_page(
    state: &AppState,
    staff: &Staff,
    flag: &Flag,
    add_name: String,
    rename: Option<RenameAttempt>,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let mut all = match departments(state).await {
        Ok(d) => d,
        Err(e) => return error_page(&e),
    };
    all.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.created_at.cmp(&b.created_at)));
    let rows = all
        .into_iter()
        .map(|d| {
            let failed = rename.as_ref().is_some_and(|r| r.id == d.id);
            let value = match &rename {
                Some(r) if failed => r.name.clone(),
                _ => d.name.clone(),
            };
            DepartmentRow { id: d.id.to_string(), name: d.name, value, failed }
        })
        .collect();
    let page = DepartmentsPage {
        chrome: Chrome::new(state, staff, "admin"),
        rows,
        name: add_name,
        max_chars: frontdesk_services::departments::MAX_DEPARTMENT_CHARS,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
    };
    render(&page, status)
}

async fn departments_list(State(state): State<AppState>, staff: Staff, Query(flag): Query<Flag>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    departments_page(&state, &staff, &flag, String::new(), None, None, StatusCode::OK).await
}

async fn add_department(State(state): State<AppState>, staff: Staff, Form(form): Form<DepartmentForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    match state.services.add_department(&staff.ctx, &form.name, staff.ip.clone()).await {
        Ok(_) => Redirect::to("/admin/departments?done=added").into_response(),
        Err(e) => match form_error(e, "name") {
            Ok(error) => {
                departments_page(
                    &state,
                    &staff,
                    &Flag::default(),
                    form.name,
                    None,
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => error_page(&e),
        },
    }
}

async fn rename_department(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Some(id) = parse_id(&id) else { return not_found("department") };
    match state.services.rename_department(&staff.ctx, id, &form.name, staff.ip.clone()).await {
        Ok(_) => Redirect::to("/admin/departments?done=renamed").into_response(),
        Err(ServiceError::NotFound(_)) => not_found("department"),
        Err(e) => match form_error(e, "department_name") {
            Ok(mut error) => {
                error.field = "department_name".to_string();
                let attempt = RenameAttempt { id, name: form.name };
                departments_page(
                    &state,
                    &staff,
                    &Flag::default(),
                    String::new(),
                    Some(attempt),
                    Some(error),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(e) => error_page(&e),
        },
    }
}

// ---- /admin/numbers ----

pub struct NumberRow {
    pub number: String,
    pub provider: String,
    pub department: String,
    pub rate: String,
}

#[derive(Template)]
#[template(path = "admin_numbers.html")]
struct NumbersPage {
    chrome: Chrome,
    rows: Vec<NumberRow>,
    providers: Vec<Choice>,
    departments: Vec<Choice>,
    number: String,
    confirmation: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct NumberForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    department: String,
}

async fn numbers_page(
    state: &AppState,
    staff: &Staff,
    flag: &Flag,
    form: NumberForm,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let all = match departments(state).await {
        Ok(d) => d,
        Err(e) => return error_page(&e),
    };
    let mut numbers = match state.services.store.list_numbers().await {
        Ok(n) => n,
        Err(e) => return error_page(&e.into()),
    };
    numbers.sort_by(|a, b| a.e164.as_str().cmp(b.e164.as_str()));
    let rows = numbers
        .iter()
        .map(|n| NumberRow {
            number: n.e164.display(),
            provider: n.provider.as_str().to_string(),
            department: n
                .default_department_id
                .and_then(|d| all.iter().find(|x| x.id == d))
                .map(|d| d.name.clone())
                .unwrap_or_else(|| "None".to_string()),
            rate: format!("{}", n.rate_limit_per_sec),
        })
        .collect();
    let mut kinds = state.services.providers.kinds();
    kinds.sort_by_key(|k| k.as_str());
    let providers = kinds
        .iter()
        .map(|k| Choice {
            value: k.as_str().to_string(),
            label: k.as_str().to_string(),
            selected: form.provider == k.as_str(),
        })
        .collect();
    let departments = all
        .iter()
        .map(|d| Choice {
            value: d.id.to_string(),
            label: d.name.clone(),
            selected: form.department == d.id.to_string(),
        })
        .collect();
    let page = NumbersPage {
        chrome: Chrome::new(state, staff, "admin"),
        rows,
        providers,
        departments,
        number: form.number,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
    };
    render(&page, status)
}

async fn numbers(State(state): State<AppState>, staff: Staff, Query(flag): Query<Flag>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    numbers_page(&state, &staff, &flag, NumberForm::default(), None, StatusCode::OK).await
}

async fn add_number(State(state): State<AppState>, staff: Staff, Form(form): Form<NumberForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let provider = form.provider.parse::<ProviderKind>().ok().filter(|k| state.services.providers.get(*k).is_some());
    let department = if form.department.is_empty() { Ok(None) } else { parse_id(&form.department).map(Some).ok_or(()) };
    let result = match (provider, department) {
        (None, _) => Err(ServiceError::invalid("provider", "choose one of the providers configured on this server")),
        (_, Err(())) => Err(ServiceError::invalid("department", "choose a department from the list")),
        (Some(provider), Ok(department)) => {
            let input = NewNumber {
                e164: form.number.clone(),
                provider,
                messaging_service_sid: None,
                rate_limit_per_sec: None,
            };
            state
                .services
                .add_number_in(input, department, frontdesk_services::audit::Actor::User(staff.ctx.user.id))
                .await
        }
    };
    match result {
        Ok(_) => Redirect::to("/admin/numbers?done=added").into_response(),
        Err(e) => match form_error(e, "number") {
            Ok(error) => {
                numbers_page(&state, &staff, &Flag::default(), form, Some(error), StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            Err(e) => error_page(&e),
        },
    }
}

// ---- /admin/templates ----

pub struct TemplateRow {
    pub id: String,
    pub name: String,
    pub body: String,
}

pub struct Variable {
    pub token: String,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "admin_templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    rows: Vec<TemplateRow>,
    variables: Vec<Variable>,
    /// The template being edited (empty: a new one).
    id: String,
    name: String,
    body: String,
    max_chars: usize,
    confirmation: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct TemplateForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
}

async fn templates_page(
    state: &AppState,
    staff: &Staff,
    flag: &Flag,
    form: TemplateForm,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let mut list = match state.services.list_templates().await {
        Ok(t) => t,
        Err(e) => return error_page(&e),
    };
    list.sort_by_key(|t| t.name.to_lowercase());
    let page = TemplatesPage {
        chrome: Chrome::new(state, staff, "admin"),
        rows: list.into_iter().map(|t| TemplateRow { id: t.id.to_string(), name: t.name, body: t.body }).collect(),
        variables: frontdesk_domain::template::KNOWN_VARIABLES
            .iter()
            .map(|(name, description)| Variable { token: format!("{{{name}}}"), description })
            .collect(),
        id: form.id,
        name: form.name,
        body: form.body,
        max_chars: frontdesk_domain::template::MAX_TEMPLATE_CHARS,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
    };
    render(&page, status)
}

async fn templates(State(state): State<AppState>, staff: Staff, Query(flag): Query<Flag>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let mut form = TemplateForm::default();
    if let Some(raw) = flag.edit.as_deref() {
        let found = match parse_id(raw) {
            Some(id) => match state.services.list_templates().await {
                Ok(list) => list.into_iter().find(|t| t.id == id),
                Err(e) => return error_page(&e),
            },
            None => None,
        };
        let Some(t) = found else { return not_found("template") };
        form = TemplateForm { id: t.id.to_string(), name: t.name, body: t.body };
    }
    templates_page(&state, &staff, &flag, form, None, StatusCode::OK).await
}

async fn save_template(State(state): State<AppState>, staff: Staff, Form(form): Form<TemplateForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let id = if form.id.is_empty() {
        None
    } else {
        match parse_id(&form.id) {
            Some(id) => Some(id),
            None => return not_found("template"),
        }
    };
    match state.services.save_template(&staff.ctx, id, &form.name, &form.body, staff.ip.clone()).await {
        Ok(_) => Redirect::to("/admin/templates?done=saved").into_response(),
        Err(e) => match form_error(e, "name") {
            Ok(error) => {
                templates_page(&state, &staff, &Flag::default(), form, Some(error), StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            Err(e) => error_page(&e),
        },
    }
}

async fn delete_template(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let Some(id) = parse_id(&id) else { return not_found("template") };
    match state.services.list_templates().await {
        Ok(list) if list.iter().any(|t| t.id == id) => {}
        Ok(_) => return not_found("template"),
        Err(e) => return error_page(&e),
    }
    match state.services.delete_template(&staff.ctx, id, staff.ip.clone()).await {
        Ok(()) => Redirect::to("/admin/templates?done=deleted").into_response(),
        Err(e) => error_page(&e),
    }
}

// ---- /admin/settings ----

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    name: String,
    help_text: String,
    phi_block: bool,
    time_zone: String,
    confirmation: Option<&'static str>,
    error: FormError,
}

#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    help_text: String,
    #[serde(default)]
    phi_guard: String,
    #[serde(default)]
    time_zone: String,
}

fn settings_page(
    state: &AppState,
    staff: &Staff,
    flag: &Flag,
    form: SettingsForm,
    error: Option<FormError>,
    status: StatusCode,
) -> Response {
    let page = SettingsPage {
        chrome: Chrome::new(state, staff, "admin"),
        name: form.name,
        help_text: form.help_text,
        phi_block: form.phi_guard == "block",
        time_zone: form.time_zone,
        confirmation: confirmation(flag),
        error: error.unwrap_or_default(),
    };
    render(&page, status)
}

async fn settings(State(state): State<AppState>, staff: Staff, Query(flag): Query<Flag>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let p = state.services.editable_practice();
    let form = SettingsForm {
        name: p.name,
        help_text: p.help_text,
        phi_guard: p.phi_guard.as_str().to_string(),
        time_zone: p.time_zone,
    };
    settings_page(&state, &staff, &flag, form, None, StatusCode::OK)
}

async fn save_settings(State(state): State<AppState>, staff: Staff, Form(form): Form<SettingsForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let result = match form.phi_guard.parse::<PhiGuardMode>() {
        Ok(phi_guard) => {
            let edit = EditablePractice {
                name: form.name.clone(),
                help_text: form.help_text.clone(),
                phi_guard,
                time_zone: form.time_zone.clone(),
            };
            state.services.update_practice(&staff.ctx, edit, staff.ip.clone()).await
        }
        Err(_) => Err(ServiceError::invalid("phi_guard", "choose warn or block")),
    };
    match result {
        Ok(()) => Redirect::to("/admin/settings?done=saved").into_response(),
        Err(e) => match form_error(e, "name") {
            Ok(error) => {
                settings_page(&state, &staff, &Flag::default(), form, Some(error), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => error_page(&e),
        },
    }
}

// ---- /admin/forms ----

pub struct FormListRow {
    pub key: String,
    pub title: String,
    pub fields: usize,
    pub builtin: bool,
}

#[derive(Template)]
#[template(path = "admin_forms.html")]
struct FormsPage {
    chrome: Chrome,
    confirmation: Option<String>,
    rows: Vec<FormListRow>,
    /// The JSON in the editor.
    definition: String,
    editing: String,
    error: FormError,
}

/// What a new custom form starts from.
fn sample_form() -> String {
    let sample = serde_json::json!({
        "key": "follow-up",
        "title": "Follow-up questions",
        "description": "A few questions before your visit.",
        "fields": [
            {"id": "feeling", "label": "How are you feeling?", "type": "single_choice", "required": true,
             "options": [{"value": "better", "label": "Better"}, {"value": "same", "label": "The same"},
                         {"value": "worse", "label": "Worse"}]},
            {"id": "details", "label": "Tell us more", "type": "long_text",
             "show_if": {"field": "feeling", "equals": "worse"}}
        ]
    });
    serde_json::to_string_pretty(&sample).unwrap_or_default()
}

#[derive(Deserialize, Default)]
struct FormsQuery {
    #[serde(default)]
    edit: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

async fn forms_page(
    state: &AppState,
    staff: &Staff,
    definition: String,
    editing: String,
    error: FormError,
    confirmation: Option<String>,
    status: StatusCode,
) -> Response {
    let custom = match state.services.custom_forms().await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let row = |f: &frontdesk_domain::forms::FormDefinition, builtin: bool| FormListRow {
        key: f.key.clone(),
        title: f.title.clone(),
        fields: f.fields.len(),
        builtin,
    };
    let mut rows: Vec<FormListRow> = frontdesk_domain::forms::builtins().iter().map(|f| row(f, true)).collect();
    rows.extend(custom.iter().map(|f| row(f, false)));
    render(
        &FormsPage { chrome: Chrome::new(state, staff, "admin"), confirmation, rows, definition, editing, error },
        status,
    )
}

async fn forms_list(State(state): State<AppState>, staff: Staff, Query(q): Query<FormsQuery>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let (definition, editing) = match q.edit.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => match state.services.form_definition(key).await {
            Ok(Some(f)) => (serde_json::to_string_pretty(&f).unwrap_or_default(), f.key),
            Ok(None) => return error_page(&ServiceError::NotFound("form".into())),
            Err(e) => return error_page(&e),
        },
        None => (sample_form(), String::new()),
    };
    let confirmation = q.saved.map(|k| format!("Saved the form {k:?}. Staff can send it from a conversation."));
    forms_page(&state, &staff, definition, editing, FormError::default(), confirmation, StatusCode::OK).await
}

#[derive(Deserialize)]
struct FormDefinitionForm {
    #[serde(default)]
    definition: String,
    /// `preview` shows the patient's page; `live` the same for the editor's live preview (a
    /// problem is then a short page of its own, not the editor); anything else saves.
    #[serde(default)]
    action: String,
}

async fn save_form(State(state): State<AppState>, staff: Staff, Form(f): Form<FormDefinitionForm>) -> Response {
    if let Err(e) = staff.ctx.require_admin() {
        return error_page(&e);
    }
    let previewing = matches!(f.action.as_str(), "preview" | "live");
    let result = if previewing {
        frontdesk_services::forms::parse_custom_form(&f.definition)
    } else {
        state.services.save_custom_form(&staff.ctx, &f.definition, staff.ip.clone()).await
    };
    match result {
        Ok(form) if previewing => super::patient_forms::preview_page(&state, &form),
        Err(e) if f.action == "live" => super::patient_forms::preview_problem(&state, &e.to_string()),
        Ok(form) => Redirect::to(&format!("/admin/forms?saved={}", form.key)).into_response(),
        Err(e) => match form_error(e, "definition") {
            Ok(error) => {
                forms_page(&state, &staff, f.definition, String::new(), error, None, StatusCode::UNPROCESSABLE_ENTITY)
                    .await
            }
            Err(e) => error_page(&e),
        },
    }
}
