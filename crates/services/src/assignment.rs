//! Automatic assignment: once a conversation has a department, it goes to one of the
//! department's available members with room (open assigned conversations below their
//! capacity), by the department's strategy: round-robin (the next member after the last one
//! chosen) or least-busy (fewest open assigned conversations). Nobody eligible: it stays
//! unassigned. Every decision is written into the conversation with its reason and audited.
//!
//! Also here: the staff availability toggle and the admin settings (members, capacities,
//! strategy).

use chrono::{DateTime, Utc};
use frontdesk_domain::model::{Conversation, DepartmentId, Note, UserId, new_id};
use frontdesk_store::triage::{AssignmentSetting, PoolMember};
use frontdesk_store::{StoreResult, WriteTx};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

/// The label notes written by routing and assignment carry, so the conversation page can
/// show them apart from staff notes.
pub const ROUTING_NOTE_PREFIX: &str = "Routing: ";
pub const MAX_CAPACITY: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    RoundRobin,
    LeastBusy,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastBusy => "least_busy",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round-robin",
            Strategy::LeastBusy => "least-busy",
        }
    }

    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "round_robin" => Some(Strategy::RoundRobin),
            "least_busy" => Some(Strategy::LeastBusy),
            _ => None,
        }
    }
}

/// Why members were passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Unavailable,
    AtCapacity,
}

/// The pure choice: who gets the next conversation, and who was skipped and why. `pool` is
/// ordered by user id (the round-robin order).
pub fn choose(strategy: Strategy, pool: &[PoolMember], last: Option<Uuid>) -> (Option<Uuid>, Vec<(Uuid, Skip)>) {
    let mut skipped = Vec::new();
    let mut eligible: Vec<&PoolMember> = Vec::new();
    for m in pool {
        if !m.available {
            skipped.push((m.user_id, Skip::Unavailable));
        } else if m.open_assigned >= m.capacity {
            skipped.push((m.user_id, Skip::AtCapacity));
        } else {
            eligible.push(m);
        }
    }
    if eligible.is_empty() {
        return (None, skipped);
    }
    // Round-robin order starting after the cursor.
    let start = last.map(|l| eligible.iter().position(|m| m.user_id > l).unwrap_or(0)).unwrap_or(0);
    let rotated: Vec<&PoolMember> = eligible[start..].iter().chain(eligible[..start].iter()).copied().collect();
    let chosen = match strategy {
        Strategy::RoundRobin => rotated[0],
        // Fewest open conversations; ties go round-robin.
        Strategy::LeastBusy => rotated.iter().min_by_key(|m| m.open_assigned).copied().unwrap_or(rotated[0]),
    };
    (Some(chosen.user_id), skipped)
}

/// Writes a routing/assignment entry into the conversation (a note with no author, labelled
/// "Routing"; sealed at rest like every note) and the audit entry with the same reason.
pub(crate) async fn record_decision(
    tx: &mut dyn WriteTx,
    conversation: &Conversation,
    action: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    record_decision_audited(tx, conversation, action, reason, reason, now).await
}

/// [`record_decision`] with a different audit text (the audit log is not sealed: it must not
/// quote the patient's words).
pub(crate) async fn record_decision_audited(
    tx: &mut dyn WriteTx,
    conversation: &Conversation,
    action: &str,
    reason: &str,
    audit_detail: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.insert_note(&Note {
        id: new_id(),
        conversation_id: conversation.id,
        thread_id: conversation.thread_id,
        author_id: None,
        body: format!("{ROUTING_NOTE_PREFIX}{reason}"),
        created_at: now,
    })
    .await?;
    let mut entry = audit::entry(&Actor::System, action, Some(format!("conversation:{}", conversation.id)), None, now);
    entry.detail = Some(audit_detail.to_string());
    tx.insert_audit(&entry).await
}

/// Assigns an unassigned conversation that has a department, inside the caller's
/// transaction. Returns the person chosen, if any.
pub(crate) async fn auto_assign(
    tx: &mut dyn WriteTx,
    conversation: &mut Conversation,
    now: DateTime<Utc>,
) -> StoreResult<Option<UserId>> {
    let Some(department) = conversation.department_id else { return Ok(None) };
    if conversation.assignee_id.is_some() {
        return Ok(None);
    }
    if tx.department_pool(department).await?.is_empty() {
        // No members configured: assignment is not in use for this department.
        return Ok(None);
    }
    // Lock the department's setting first (PostgreSQL), then count: concurrent assignments in
    // one department take turns and see each other's results.
    let setting = tx.department_assignment_for_update(department).await?;
    let pool = tx.department_pool(department).await?;
    let department_name = tx.department_name(department).await?.unwrap_or_else(|| "the department".into());
    let strategy = Strategy::parse(&setting.strategy).unwrap_or(Strategy::RoundRobin);
    let (chosen, skipped) = choose(strategy, &pool, setting.last_user_id);
    let mut skipped_words = Vec::new();
    for (user, why) in &skipped {
        let name = tx.user_name(*user).await?.unwrap_or_else(|| "a member".into());
        let member = pool.iter().find(|m| m.user_id == *user);
        skipped_words.push(match (why, member) {
            (Skip::Unavailable, _) => format!("{name} (unavailable)"),
            (Skip::AtCapacity, Some(m)) => format!("{name} (at capacity {}/{})", m.open_assigned, m.capacity),
            (Skip::AtCapacity, None) => format!("{name} (at capacity)"),
        });
    }
    let skipped_text =
        if skipped_words.is_empty() { String::new() } else { format!("; skipped {}", skipped_words.join(", ")) };
    let Some(user) = chosen else {
        let reason =
            format!("no member of {department_name} is available with room, so it stays unassigned{skipped_text}");
        record_decision(tx, conversation, "assignment.none", &reason, now).await?;
        return Ok(None);
    };
    let name = tx.user_name(user).await?.unwrap_or_else(|| "a member".into());
    let open = pool.iter().find(|m| m.user_id == user).map(|m| (m.open_assigned, m.capacity)).unwrap_or((0, 0));
    let reason = match strategy {
        Strategy::RoundRobin => {
            format!(
                "assigned to {name} by round-robin in {department_name} ({} of {} open){skipped_text}",
                open.0, open.1
            )
        }
        Strategy::LeastBusy => format!(
            "assigned to {name} as the least busy member of {department_name} ({} of {} open){skipped_text}",
            open.0, open.1
        ),
    };
    conversation.assignee_id = Some(user);
    tx.put_department_assignment(
        department,
        &AssignmentSetting { strategy: setting.strategy, last_user_id: Some(user) },
    )
    .await?;
    record_decision(tx, conversation, "assignment.auto", &reason, now).await?;
    Ok(Some(user))
}

/// One member of a department as the admin page shows them.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub user_id: UserId,
    pub name: String,
    pub capacity: i64,
    pub available: bool,
    pub open_assigned: i64,
}

/// A department's assignment settings.
#[derive(Debug, Clone)]
pub struct DepartmentAssignment {
    pub department_id: DepartmentId,
    pub department_name: String,
    pub strategy: Strategy,
    pub members: Vec<MemberView>,
}

impl Services {
    /// Turns the signed-in person's availability on or off.
    pub async fn set_my_availability(
        &self,
        ctx: &StaffContext,
        available: bool,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_can_act()?;
        let user = ctx.user.id;
        let now = crate::now();
        let mut entry = audit::entry(&Actor::User(user), "availability.set", Some(format!("user:{user}")), ip, now);
        entry.detail = Some(if available { "available" } else { "unavailable" }.into());
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_user_available(user, available, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(())
    }

    pub async fn my_availability(&self, ctx: &StaffContext) -> Result<bool, ServiceError> {
        Ok(self.store.user_available(ctx.user.id).await?)
    }

    async fn department_named(&self, id: DepartmentId) -> Result<String, ServiceError> {
        self.store
            .list_departments()
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .map(|d| d.name)
            .ok_or_else(|| ServiceError::NotFound("department".into()))
    }

    /// A department's strategy and members (admins only).
    pub async fn department_assignment(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
    ) -> Result<DepartmentAssignment, ServiceError> {
        ctx.require_admin()?;
        let department_name = self.department_named(id).await?;
        let setting = self.store.department_assignment(id).await?;
        let strategy = setting.and_then(|s| Strategy::parse(&s.strategy)).unwrap_or(Strategy::RoundRobin);
        let users = self.store.list_users().await?;
        let members = self
            .store
            .department_pool(id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                name: users.iter().find(|u| u.id == m.user_id).map(|u| u.name.clone()).unwrap_or_default(),
                user_id: m.user_id,
                capacity: m.capacity,
                available: m.available,
                open_assigned: m.open_assigned,
            })
            .collect();
        Ok(DepartmentAssignment { department_id: id, department_name, strategy, members })
    }

    /// Sets a department's strategy (admins only).
    pub async fn set_assignment_strategy(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
        strategy: &str,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        let strategy = Strategy::parse(strategy)
            .ok_or_else(|| ServiceError::invalid("strategy", "choose round-robin or least-busy"))?;
        self.department_named(id).await?;
        let now = crate::now();
        let mut entry =
            audit::entry(&Actor::User(ctx.user.id), "assignment.strategy", Some(format!("department:{id}")), ip, now);
        entry.detail = Some(strategy.as_str().into());
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let current = tx.department_assignment_for_update(id).await?;
                let setting =
                    AssignmentSetting { strategy: strategy.as_str().into(), last_user_id: current.last_user_id };
                tx.put_department_assignment(id, &setting).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(())
    }

    /// Adds a member to a department or changes their capacity (admins only).
    pub async fn set_department_member(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
        user_id: UserId,
        capacity: &str,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        self.department_named(id).await?;
        let capacity: i64 =
            capacity.trim().parse().ok().filter(|c| (1..=MAX_CAPACITY).contains(c)).ok_or_else(|| {
                ServiceError::invalid(
                    "capacity",
                    format!("give a capacity from 1 to {MAX_CAPACITY} open conversations"),
                )
            })?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.disabled && u.role != frontdesk_domain::model::Role::Auditor)
            .ok_or_else(|| ServiceError::invalid("user_id", "choose an active staff member or admin"))?;
        let now = crate::now();
        let mut entry =
            audit::entry(&Actor::User(ctx.user.id), "department.member", Some(format!("department:{id}")), ip, now);
        entry.detail = Some(format!("user:{} capacity {capacity}", user.id));
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_department_member(id, user_id, capacity).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(())
    }

    /// Removes a member from a department (admins only).
    pub async fn remove_department_member(
        &self,
        ctx: &StaffContext,
        id: DepartmentId,
        user_id: UserId,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        self.department_named(id).await?;
        let now = crate::now();
        let mut entry = audit::entry(
            &Actor::User(ctx.user.id),
            "department.member_remove",
            Some(format!("department:{id}")),
            ip,
            now,
        );
        entry.detail = Some(format!("user:{user_id}"));
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.remove_department_member(id, user_id).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u8, capacity: i64, available: bool, open: i64) -> PoolMember {
        PoolMember { user_id: Uuid::from_bytes([n; 16]), capacity, available, open_assigned: open }
    }

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    #[test]
    fn round_robin_goes_after_the_cursor_and_wraps() {
        let pool = [member(1, 5, true, 0), member(2, 5, true, 0), member(3, 5, true, 0)];
        assert_eq!(choose(Strategy::RoundRobin, &pool, None).0, Some(id(1)));
        assert_eq!(choose(Strategy::RoundRobin, &pool, Some(id(1))).0, Some(id(2)));
        assert_eq!(choose(Strategy::RoundRobin, &pool, Some(id(3))).0, Some(id(1)));
        // A cursor on a member who left still moves on.
        assert_eq!(choose(Strategy::RoundRobin, &pool[..2], Some(id(3))).0, Some(id(1)));
    }

    #[test]
    fn unavailable_and_full_members_are_skipped() {
        let pool = [member(1, 5, false, 0), member(2, 2, true, 2), member(3, 5, true, 4)];
        let (chosen, skipped) = choose(Strategy::RoundRobin, &pool, None);
        assert_eq!(chosen, Some(id(3)));
        assert_eq!(skipped, vec![(id(1), Skip::Unavailable), (id(2), Skip::AtCapacity)]);
        let (none, _) = choose(Strategy::LeastBusy, &pool[..2], None);
        assert_eq!(none, None);
    }

    #[test]
    fn least_busy_picks_the_emptiest_ties_in_turn() {
        let pool = [member(1, 9, true, 3), member(2, 9, true, 1), member(3, 9, true, 1)];
        assert_eq!(choose(Strategy::LeastBusy, &pool, None).0, Some(id(2)));
        assert_eq!(choose(Strategy::LeastBusy, &pool, Some(id(2))).0, Some(id(3)));
    }
}
