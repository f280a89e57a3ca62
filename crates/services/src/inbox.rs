//! Who may see and change which conversations, and the inbox views staff work from.
//!
//! Authorisation lives here, below the web layer: admins see everything; staff see
//! everything unless limited to departments, then only those departments; auditors read but
//! never change anything.

use frontdesk_domain::model::{Conversation, ConversationStatus, DepartmentId, Role, User};
use frontdesk_store::{AssigneeFilter, ConversationQuery, ConversationSummary, InboxOrder};

use crate::{ServiceError, Services};

/// A signed-in person and the reach of their role.
#[derive(Debug, Clone)]
pub struct StaffContext {
    pub user: User,
    /// `Some` when a staff member is limited to these departments.
    pub departments: Option<Vec<DepartmentId>>,
}

impl StaffContext {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    pub fn can_see(&self, conversation: &Conversation) -> bool {
        match &self.departments {
            None => true,
            Some(allowed) => conversation.department_id.is_some_and(|d| allowed.contains(&d)),
        }
    }

    /// Staff and admins act on conversations they can see; auditors only read.
    pub fn can_act_on(&self, conversation: &Conversation) -> bool {
        self.user.role != Role::Auditor && self.can_see(conversation)
    }

    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.is_admin() { Ok(()) } else { Err(ServiceError::Forbidden("only an admin can do this".into())) }
    }

    pub fn require_can_act(&self) -> Result<(), ServiceError> {
        if self.user.role == Role::Auditor {
            Err(ServiceError::Forbidden("auditors can read but not change conversations".into()))
        } else {
            Ok(())
        }
    }
}

/// The inbox views of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxView {
    /// Assigned to me, not closed or snoozed.
    Mine,
    /// Open and nobody's yet.
    Unassigned,
    /// Everything open or waiting on the patient.
    All,
    /// Open or waiting, in one department.
    Department(DepartmentId),
    /// Waiting on the patient.
    Waiting,
    Snoozed,
    Closed,
    /// Flagged urgent and not closed.
    Urgent,
}

impl InboxView {
    pub fn slug(&self) -> String {
        match self {
            InboxView::Mine => "mine".into(),
            InboxView::Unassigned => "unassigned".into(),
            InboxView::All => "all".into(),
            InboxView::Department(id) => format!("department:{id}"),
            InboxView::Waiting => "waiting".into(),
            InboxView::Snoozed => "snoozed".into(),
            InboxView::Closed => "closed".into(),
            InboxView::Urgent => "urgent".into(),
        }
    }

    pub fn parse(slug: &str) -> Result<InboxView, ServiceError> {
        Ok(match slug {
            "mine" => InboxView::Mine,
            "unassigned" => InboxView::Unassigned,
            "all" | "" => InboxView::All,
            "waiting" => InboxView::Waiting,
            "snoozed" => InboxView::Snoozed,
            "closed" => InboxView::Closed,
            "urgent" => InboxView::Urgent,
            other => match other.strip_prefix("department:").and_then(|id| id.parse().ok()) {
                Some(id) => InboxView::Department(id),
                None => {
                    return Err(ServiceError::invalid(
                        "view",
                        format!(
                            "unknown inbox view {other:?}; use mine, unassigned, all, waiting, snoozed, closed, urgent or department:<id>"
                        ),
                    ));
                }
            },
        })
    }

    pub fn title(&self) -> &'static str {
        match self {
            InboxView::Mine => "Mine",
            InboxView::Unassigned => "Unassigned",
            InboxView::All => "All open",
            InboxView::Department(_) => "Department",
            InboxView::Waiting => "Waiting on patient",
            InboxView::Snoozed => "Snoozed",
            InboxView::Closed => "Closed",
            InboxView::Urgent => "Urgent",
        }
    }

    /// The store query for this view, within what `ctx` may see.
    pub fn query(&self, ctx: &StaffContext, limit: u32, offset: u32) -> ConversationQuery {
        use ConversationStatus::*;
        let active = vec![Open, Waiting];
        let mut q = ConversationQuery {
            within_departments: ctx.departments.clone(),
            order: InboxOrder::LongestWaiting,
            limit,
            offset,
            ..Default::default()
        };
        match self {
            InboxView::Mine => {
                q.statuses = active;
                q.assignee = AssigneeFilter::User(ctx.user.id);
            }
            InboxView::Unassigned => {
                q.statuses = vec![Open];
                q.assignee = AssigneeFilter::Unassigned;
            }
            InboxView::All => q.statuses = active,
            InboxView::Department(d) => {
                q.statuses = active;
                q.department = Some(*d);
            }
            InboxView::Waiting => q.statuses = vec![Waiting],
            InboxView::Snoozed => {
                q.statuses = vec![Snoozed];
                q.order = InboxOrder::Newest;
            }
            InboxView::Closed => {
                q.statuses = vec![Closed];
                q.order = InboxOrder::Newest;
            }
            InboxView::Urgent => {
                q.statuses = vec![Open, Waiting, Snoozed];
                q.urgent_only = true;
            }
        }
        q
    }
}

/// Rows per inbox page.
pub const INBOX_PAGE: u32 = 50;

impl Services {
    /// The reach of a signed-in user (their department limits, if any).
    pub async fn staff_context(&self, user: User) -> Result<StaffContext, ServiceError> {
        let departments = match user.role {
            Role::Staff => {
                let limited = self.store.user_departments(user.id).await?;
                if limited.is_empty() { None } else { Some(limited) }
            }
            Role::Admin | Role::Auditor => None,
        };
        Ok(StaffContext { user, departments })
    }

    pub async fn inbox(
        &self,
        ctx: &StaffContext,
        view: InboxView,
        page: u32,
    ) -> Result<Vec<ConversationSummary>, ServiceError> {
        if let InboxView::Department(d) = view
            && ctx.departments.as_ref().is_some_and(|allowed| !allowed.contains(&d))
        {
            return Err(ServiceError::Forbidden("you are not a member of this department".into()));
        }
        Ok(self.store.list_conversations(&view.query(ctx, INBOX_PAGE, page.saturating_mul(INBOX_PAGE))).await?)
    }

    /// How many conversations each of these views holds, for the navigation.
    pub async fn inbox_counts(&self, ctx: &StaffContext, views: &[InboxView]) -> Result<Vec<i64>, ServiceError> {
        let mut out = Vec::with_capacity(views.len());
        for v in views {
            out.push(self.store.count_conversations(&v.query(ctx, 0, 0)).await?);
        }
        Ok(out)
    }

    /// Reopens every snoozed conversation whose time has come; returns how many.
    pub async fn wake_snoozed(&self) -> Result<usize, ServiceError> {
        let now = crate::now();
        let snoozed = self
            .store
            .list_conversations(&ConversationQuery {
                statuses: vec![ConversationStatus::Snoozed],
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let due: Vec<_> = snoozed
            .into_iter()
            .filter(|s| s.conversation.snoozed_until.is_none_or(|u| u <= now))
            .map(|s| s.conversation.id)
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let ids = due.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                for id in ids {
                    // Re-read under the lock: a reply may have reopened or closed it meanwhile.
                    if let Some(mut c) = tx.conversation_by_id(id).await?
                        && c.status == ConversationStatus::Snoozed
                    {
                        c.status = ConversationStatus::Open;
                        c.snoozed_until = None;
                        tx.update_conversation(&c).await?;
                    }
                }
                Ok(())
            })
        })
        .await?;
        for id in &due {
            self.events.publish(crate::Event {
                kind: crate::EventKind::ConversationUpdated,
                conversation_id: Some(*id),
                message_id: None,
            });
        }
        Ok(due.len())
    }

    /// A conversation `ctx` may see, or NotFound (never revealing that it exists).
    pub(crate) async fn visible_conversation(
        &self,
        ctx: &StaffContext,
        id: frontdesk_domain::model::ConversationId,
    ) -> Result<ConversationSummary, ServiceError> {
        match self.store.conversation_summary(id).await? {
            Some(s) if ctx.can_see(&s.conversation) => Ok(s),
            _ => Err(ServiceError::NotFound("conversation".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_slugs_round_trip() {
        let d = uuid::Uuid::now_v7();
        for v in [
            InboxView::Mine,
            InboxView::Unassigned,
            InboxView::All,
            InboxView::Department(d),
            InboxView::Waiting,
            InboxView::Snoozed,
            InboxView::Closed,
            InboxView::Urgent,
        ] {
            assert_eq!(InboxView::parse(&v.slug()).unwrap(), v);
        }
        assert!(InboxView::parse("department:nope").is_err());
        assert!(InboxView::parse("<script>").is_err());
    }
}
