//! Departments: the groups conversations are routed to and staff can be limited to. Admins
//! add and rename them; names are unique regardless of case.

use frontdesk_domain::model::{Department, DepartmentId, new_id};

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// The longest department name, in characters.
pub const MAX_DEPARTMENT_CHARS: usize = 60;

/// The trimmed name, or why it cannot be used.
fn clean_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DEPARTMENT_CHARS {
        return Err(ServiceError::invalid(
            "name",
            format!("give the department a name of 1 to {MAX_DEPARTMENT_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

impl Services {
    /// Refuses a name another department (not `except`) already has, ignoring case.
    async fn check_unique_department(&self, name: &str, except: Option<DepartmentId>) -> Result<(), ServiceError> {
        let lower = name.to_lowercase();
        let taken = self
            .store
            .list_departments()
            .await?
            .into_iter()
            .find(|d| Some(d.id) != except && d.name.to_lowercase() == lower);
        match taken {
            Some(d) => Err(ServiceError::Conflict(format!(
                "there is already a department named \"{}\"; choose another name (capitals do not count)",
                d.name
            ))),
            None => Ok(()),
        }
    }

    /// Adds a department (admins only).
    pub async fn add_department(
        &self,
        ctx: &StaffContext,
        name: &str,
        ip: Option<String>,
    ) -> Result<Department, ServiceError> {
        ctx.require_admin()?;
        self.add_department_as(name, Actor::User(ctx.user.id), ip).await
    }

    /// Adds a department on behalf of `actor` (the CLI acts as the system).
    pub async fn add_department_as(
        &self,
        name: &str,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<Department, ServiceError> {
        let name = clean_name(name)?;
        self.check_unique_department(&name, None).await?;
        let now = crate::now();
        let department = Department { id: new_id(), name, created_at: now };
        let stored = department.clone();
        let entry = audit::entry(&actor, "department.add", Some(format!("department:{}", department.id)), ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_department(&stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(department)
    }

    /// Renames a department (admins only).
    pub async fn rename_department(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
        name: &str,
        ip: Option<String>,
    ) -> Result<Department, ServiceError> {
        ctx.require_admin()?;
        let existing = self
            .store
            .list_departments()
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| ServiceError::NotFound("department".into()))?;
        let name = clean_name(name)?;
        self.check_unique_department(&name, Some(id)).await?;
        let now = crate::now();
        let mut entry =
            audit::entry(&Actor::User(ctx.user.id), "department.rename", Some(format!("department:{id}")), ip, now);
        entry.detail = Some(format!("{:?} -> {:?}", existing.name, name));
        let new_name = name.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.rename_department(id, &new_name).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(Department { name, ..existing })
    }
}
