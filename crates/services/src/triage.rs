//! Triage of inbound texts: the routing rules (`domain::triage`) applied inside the inbound
//! transaction, the optional SMS menu, and the admin settings for both.
//!
//! A newly opened conversation (or one still without a department) is checked against the
//! rules; the first match sets department, priority and tags. When nothing matches and the
//! conversation has no department, the menu (if on) is texted once; the patient's next text
//! picks an option by its digit, and anything else leaves the conversation in the unrouted
//! queue (the menu is not repeated). Every decision is written into the conversation as a
//! "Routing" entry with its reason and audited, then the conversation is assigned
//! (`assignment.rs`). Keyword texts (STOP, HELP...) and consent changes are not triaged.

use chrono::{DateTime, Utc};
use frontdesk_domain::keywords::classify_keyword;
use frontdesk_domain::model::{Contact, Conversation, OutboxJob, PracticeNumber, SenderKind};
use frontdesk_domain::triage::{
    self as rules, CompiledRules, Decision, PatientStatus, Priority, RoutingConfig, TriageInput,
};
use frontdesk_providers::InboundSms;
use frontdesk_store::triage::ConversationRouting;
use frontdesk_store::{StoreResult, WriteTx};

use crate::assignment::{auto_assign, record_decision, record_decision_audited};
use crate::audit::{self, Actor};
use crate::inbound::InboundOutcome;
use crate::inbox::StaffContext;
use crate::{ServiceError, Services};

const MENU_NONE: &str = "none";
const MENU_SENT: &str = "sent";
const MENU_DONE: &str = "done";

fn default_routing() -> ConversationRouting {
    ConversationRouting { priority: Priority::Normal.as_str().into(), tags: Vec::new(), menu_state: MENU_NONE.into() }
}

/// Reads the stored configuration; a document that no longer parses counts as empty (and is
/// logged), so a bad row never stops texts from being received.
pub(crate) fn parse_config(document: Option<String>) -> RoutingConfig {
    match document {
        None => RoutingConfig::default(),
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the stored routing rules could not be read; routing is off");
            RoutingConfig::default()
        }),
    }
}

/// Routes a conversation by the rules and assigns it, inside the caller's transaction: the
/// entry point for conversations opened elsewhere than the inbound path (the web chat-request
/// form passes its reason key and `PatientStatus::Prospective` or whatever it knows). The
/// caller saves the conversation (`update_conversation`) afterwards.
pub async fn route_and_assign(
    tx: &mut dyn WriteTx,
    conversation: &mut Conversation,
    input: &TriageInput<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<Decision>> {
    let decision = apply_rules(tx, conversation, input, now).await?;
    auto_assign(tx, conversation, now).await?;
    Ok(decision)
}

/// Routes a conversation by the rules, inside the caller's transaction: sets department,
/// priority and tags on a match and records the reason. Returns the decision, if any.
pub async fn apply_rules(
    tx: &mut dyn WriteTx,
    conversation: &mut Conversation,
    input: &TriageInput<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<Decision>> {
    let config = parse_config(tx.routing_document().await?);
    apply_config(tx, &config, conversation, input, now).await
}

async fn apply_config(
    tx: &mut dyn WriteTx,
    config: &RoutingConfig,
    conversation: &mut Conversation,
    input: &TriageInput<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Option<Decision>> {
    let decision = CompiledRules::new(&config.rules).evaluate(input);
    if let Some(d) = &decision {
        apply_decision(tx, conversation, d, now).await?;
    }
    Ok(decision)
}

async fn apply_decision(
    tx: &mut dyn WriteTx,
    conversation: &mut Conversation,
    d: &Decision,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let name = tx.department_name(d.department_id).await?;
    let Some(name) = name else {
        // The department was removed since the rule was saved: leave the conversation as is.
        return Ok(());
    };
    conversation.department_id = Some(d.department_id);
    let mut routing = tx.conversation_routing(conversation.id).await?.unwrap_or_else(default_routing);
    routing.priority = d.priority.as_str().into();
    for tag in &d.tags {
        if !routing.tags.contains(tag) {
            routing.tags.push(tag.clone());
        }
    }
    tx.put_conversation_routing(conversation.id, &routing, now).await?;
    let mut actions = String::new();
    if d.priority == Priority::High {
        actions.push_str("; priority high");
    }
    if !d.tags.is_empty() {
        actions.push_str(&format!("; tagged {}", d.tags.join(", ")));
    }
    let reason = format!("routed to {name}: {}{actions}", d.reason);
    let audit = format!("routed to {name}: {}{actions}", d.audit_reason);
    record_decision_audited(tx, conversation, "routing.rule", &reason, &audit, now).await
}

/// The inbound path's triage (one call from `inbound::record_inbound`, after consent handling
/// and before the conversation is saved).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn triage_inbound(
    tx: &mut dyn WriteTx,
    number: &PracticeNumber,
    contact: &Contact,
    conversation: &mut Conversation,
    sms: &InboundSms,
    outcome: &mut InboundOutcome,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if sms.provider_opt_out.is_some() || classify_keyword(&sms.body).is_some() || outcome.consent.is_some() {
        return Ok(());
    }
    let fresh = conversation.opened_at == now && conversation.unread_count <= 1;
    // A routed conversation's later texts cost nothing here (the hot path of busy threads).
    if !fresh && conversation.department_id.is_some() {
        return Ok(());
    }
    let state = tx.conversation_routing(conversation.id).await?;
    let menu_sent = state.as_ref().is_some_and(|s| s.menu_state == MENU_SENT);
    let config = parse_config(tx.routing_document().await?);

    if menu_sent {
        let mut routing = state.unwrap_or_else(default_routing);
        routing.menu_state = MENU_DONE.into();
        tx.put_conversation_routing(conversation.id, &routing, now).await?;
        if let Some((digit, option)) = rules::menu_choice(&config.menu, &sms.body)
            && let Some(name) = tx.department_name(option.department_id).await?
        {
            conversation.department_id = Some(option.department_id);
            let reason = format!("routed to {name}: the patient chose {digit} ({}) from the text menu", option.label);
            record_decision(tx, conversation, "routing.menu", &reason, now).await?;
            auto_assign(tx, conversation, now).await?;
            return Ok(());
        }
        // Free-text fallback: the rules still get a look, else the unrouted queue.
        let status = patient_status(tx, contact, conversation).await?;
        let input = TriageInput { text: &sms.body, number: number.e164.as_str(), reason: None, patient_status: status };
        if apply_config(tx, &config, conversation, &input, now).await?.is_some() {
            auto_assign(tx, conversation, now).await?;
        } else {
            let reason = "the reply did not choose a menu option, so the conversation waits in the unrouted queue";
            record_decision(tx, conversation, "routing.menu_fallback", reason, now).await?;
        }
        return Ok(());
    }

    let status = patient_status(tx, contact, conversation).await?;
    let input = TriageInput { text: &sms.body, number: number.e164.as_str(), reason: None, patient_status: status };
    if apply_config(tx, &config, conversation, &input, now).await?.is_some() {
        auto_assign(tx, conversation, now).await?;
        return Ok(());
    }
    if conversation.department_id.is_none() {
        if let Some(text) = rules::menu_text(&config.menu)
            && !contact.opted_out
            && state.as_ref().is_none_or(|s| s.menu_state == MENU_NONE)
        {
            let mut routing = state.unwrap_or_else(default_routing);
            routing.menu_state = MENU_SENT.into();
            tx.put_conversation_routing(conversation.id, &routing, now).await?;
            let message = crate::outbound::new_outbound(
                conversation,
                number.provider,
                &text,
                Vec::new(),
                SenderKind::Automation,
                None,
                now,
            );
            tx.insert_message(&message).await?;
            tx.enqueue_job(&OutboxJob::new(message.id, number.id, now)).await?;
            outcome.replies.push(message.id);
            let reason = "no rule matched, so the text menu was sent";
            record_decision(tx, conversation, "routing.menu_sent", reason, now).await?;
        } else if fresh && !config.rules.is_empty() {
            let reason = "no rule matched, so the conversation waits in the unrouted queue";
            record_decision(tx, conversation, "routing.none", reason, now).await?;
        }
    } else if fresh {
        // Routed by the number's default department: assign within it.
        auto_assign(tx, conversation, now).await?;
    }
    Ok(())
}

/// What the rules know of who is texting: a linked patient record's status, if any.
pub(crate) async fn patient_status(
    tx: &mut dyn WriteTx,
    contact: &Contact,
    conversation: &Conversation,
) -> StoreResult<PatientStatus> {
    let statuses = tx.contact_patient_statuses(contact.id).await?;
    if conversation.patient_id.is_some() || statuses.iter().any(|s| s == "patient") {
        Ok(PatientStatus::Existing)
    } else if statuses.iter().any(|s| s == "prospective") {
        Ok(PatientStatus::Prospective)
    } else {
        Ok(PatientStatus::Unknown)
    }
}

/// A conversation's priority and tags, for its page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingBadges {
    pub high_priority: bool,
    pub tags: Vec<String>,
}

impl Services {
    /// The routing rules and menu (admins, or an API token checked by the caller).
    pub async fn routing_config(&self) -> Result<RoutingConfig, ServiceError> {
        Ok(parse_config(self.store.routing_document().await?))
    }

    pub async fn routing_badges(&self, conversation_id: uuid::Uuid) -> Result<RoutingBadges, ServiceError> {
        let r = self.store.conversation_routing(conversation_id).await?;
        Ok(r.map(|r| RoutingBadges { high_priority: r.priority == Priority::High.as_str(), tags: r.tags })
            .unwrap_or_default())
    }

    /// Replaces the whole rule list and menu (admins only), all or nothing.
    pub async fn save_routing_config(
        &self,
        ctx: &StaffContext,
        config: RoutingConfig,
        ip: Option<String>,
    ) -> Result<RoutingConfig, ServiceError> {
        ctx.require_admin()?;
        self.save_routing_config_as(config, Actor::User(ctx.user.id), ip).await
    }

    /// Validates and stores the configuration on behalf of `actor` (the admin API passes its
    /// token). A problem names the rule and field; nothing is saved then.
    pub async fn save_routing_config_as(
        &self,
        mut config: RoutingConfig,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<RoutingConfig, ServiceError> {
        rules::normalize(&mut config);
        let departments: Vec<uuid::Uuid> = self.store.list_departments().await?.into_iter().map(|d| d.id).collect();
        let numbers: Vec<String> =
            self.store.list_numbers().await?.into_iter().map(|n| n.e164.as_str().to_string()).collect();
        rules::validate(&config, &departments, &numbers)
            .map_err(|e| ServiceError::Invalid { field: e.field, message: e.message })?;
        let document = serde_json::to_string(&config).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = crate::now();
        let mut entry = audit::entry(&actor, "routing.save", Some("routing_rules".into()), ip, now);
        entry.detail =
            Some(format!("{} rules; menu {}", config.rules.len(), if config.menu.enabled { "on" } else { "off" }));
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.put_routing_document(&document, now).await?;
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(config)
    }
}
