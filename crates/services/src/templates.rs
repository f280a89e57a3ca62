//! Reply templates, and the practice settings admins change from the dashboard.

use frontdesk_domain::model::{ConversationId, Template, new_id};
use frontdesk_domain::template::{self, TemplateValues};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::inbox::StaffContext;
use crate::{PhiGuardMode, PracticeSettings, ServiceError, Services};

/// The settings key under which the editable practice settings are stored.
const PRACTICE_KEY: &str = "practice";

/// What admins edit on the settings page (the rest comes from configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditablePractice {
    pub name: String,
    pub help_text: String,
    pub phi_guard: PhiGuardMode,
    pub time_zone: String,
}

impl Services {
    pub async fn list_templates(&self) -> Result<Vec<Template>, ServiceError> {
        Ok(self.store.list_templates().await?)
    }

    /// Creates (`id` None) or replaces a template; admins and staff may keep templates.
    pub async fn save_template(
        &self,
        ctx: &StaffContext,
        id: Option<Uuid>,
        name: &str,
        body: &str,
        ip: Option<String>,
    ) -> Result<Template, ServiceError> {
        ctx.require_can_act()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(ServiceError::invalid("name", "give the template a short name (at most 80 characters)"));
        }
        template::validate(body).map_err(|e| ServiceError::invalid("body", e.to_string()))?;
        let now = crate::now();
        let existing = match id {
            Some(id) => Some(
                self.store
                    .list_templates()
                    .await?
                    .into_iter()
                    .find(|t| t.id == id)
                    .ok_or_else(|| ServiceError::NotFound("template".into()))?,
            ),
            None => None,
        };
        let t = Template {
            id: existing.as_ref().map(|t| t.id).unwrap_or_else(new_id),
            name: name.to_string(),
            body: body.to_string(),
            created_at: existing.as_ref().map(|t| t.created_at).unwrap_or(now),
            updated_at: now,
        };
        let stored = t.clone();
        let entry =
            audit::entry(&Actor::User(ctx.user.id), "template.save", Some(format!("template:{}", t.id)), ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.upsert_template(&stored).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await
        .map_err(|e| match e {
            frontdesk_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("a template named {name:?} already exists"))
            }
            other => other.into(),
        })?;
        Ok(t)
    }

    pub async fn delete_template(&self, ctx: &StaffContext, id: Uuid, ip: Option<String>) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        let entry = audit::entry(
            &Actor::User(ctx.user.id),
            "template.delete",
            Some(format!("template:{id}")),
            ip,
            crate::now(),
        );
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.delete_template(id).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await
        .map_err(|_| ServiceError::NotFound("template".into()))?;
        Ok(())
    }

    /// The values a template can use in this conversation, for this person.
    pub async fn template_values(
        &self,
        ctx: &StaffContext,
        conversation_id: ConversationId,
    ) -> Result<TemplateValues, ServiceError> {
        let summary = self.visible_conversation(ctx, conversation_id).await?;
        let settings = self.settings();
        let first = ctx.user.name.split_whitespace().next().unwrap_or(&ctx.user.name).to_string();
        let mut values = TemplateValues::new()
            .with("practice.name", &settings.name)
            .with("staff.name", &ctx.user.name)
            .with("staff.first_name", &first)
            .with("department.phone", summary.number.e164.display())
            // Kept as a placeholder: the link is made when the message is sent with a form.
            .with("form.link", template::FORM_LINK);
        if let Some(d) = summary.conversation.department_id
            && let Some(dep) = self.store.list_departments().await?.into_iter().find(|x| x.id == d)
        {
            values = values.with("department.name", &dep.name);
        }
        let patient = match summary.patient {
            Some(p) => Some(p),
            None => {
                let mut linked = self.store.patients_for_contact(summary.contact.id).await?;
                if linked.len() == 1 { linked.pop() } else { None }
            }
        };
        if let Some(p) = patient {
            values = values.with("patient.first_name", &p.first_name).with("patient.last_name", &p.last_name);
        }
        Ok(values)
    }

    /// Fills a template for a conversation; errors name the variable that has no value.
    pub async fn render_template(
        &self,
        ctx: &StaffContext,
        conversation_id: ConversationId,
        template_id: Uuid,
    ) -> Result<String, ServiceError> {
        let t = self
            .store
            .list_templates()
            .await?
            .into_iter()
            .find(|t| t.id == template_id)
            .ok_or_else(|| ServiceError::NotFound("template".into()))?;
        let values = self.template_values(ctx, conversation_id).await?;
        template::render(&t.body, &values).map_err(|e| ServiceError::invalid("template", e.to_string()))
    }

    /// Applies the practice settings stored by admins over the configured ones (at start-up).
    pub async fn load_stored_settings(&self) -> Result<(), ServiceError> {
        if let Some(json) = self.store.setting(PRACTICE_KEY).await? {
            match serde_json::from_str::<EditablePractice>(&json) {
                Ok(stored) => self.replace_settings(merge(&self.settings(), &stored)?),
                Err(e) => {
                    tracing::warn!(error = %e, "stored practice settings could not be read; using the configuration")
                }
            }
        }
        Ok(())
    }

    pub fn editable_practice(&self) -> EditablePractice {
        let s = self.settings();
        EditablePractice {
            name: s.name.clone(),
            help_text: s.help_text.clone(),
            phi_guard: s.phi_guard,
            time_zone: s.time_zone.name().to_string(),
        }
    }

    pub async fn update_practice(
        &self,
        ctx: &StaffContext,
        edit: EditablePractice,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        ctx.require_admin()?;
        let name = edit.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(ServiceError::invalid("name", "write the practice's name (at most 80 characters)"));
        }
        let help = edit.help_text.trim();
        if help.is_empty() || help.chars().count() > 320 {
            return Err(ServiceError::invalid(
                "help_text",
                "write the HELP reply (at most 320 characters, two segments)",
            ));
        }
        let edit = EditablePractice {
            name: name.to_string(),
            help_text: help.to_string(),
            phi_guard: edit.phi_guard,
            time_zone: edit.time_zone.trim().to_string(),
        };
        let merged = merge(&self.settings(), &edit)?;
        let json = serde_json::to_string(&edit).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let entry = audit::entry(&Actor::User(ctx.user.id), "settings.practice", None, ip, now);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_setting(PRACTICE_KEY, &json, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        self.replace_settings(merged);
        Ok(())
    }
}

fn merge(current: &PracticeSettings, edit: &EditablePractice) -> Result<PracticeSettings, ServiceError> {
    let time_zone = frontdesk_domain::quiet_hours::parse_time_zone(&edit.time_zone)
        .map_err(|e| ServiceError::invalid("time_zone", e))?;
    let mut next = current.clone();
    if next.name != edit.name {
        // The automatic replies name the practice; keep them in step with a rename.
        let renamed = PracticeSettings::with_name(&edit.name);
        next.opt_out_confirmation = renamed.opt_out_confirmation;
        next.opt_in_confirmation = renamed.opt_in_confirmation;
    }
    next.name = edit.name.clone();
    next.help_text = edit.help_text.clone();
    next.phi_guard = edit.phi_guard;
    next.time_zone = time_zone;
    Ok(next)
}
