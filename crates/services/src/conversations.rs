//! Reading conversations, audited: every view of a thread is an access to patient data.

use frontdesk_domain::model::{ConversationId, Message};
use frontdesk_store::ConversationSummary;

use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

impl Services {
    /// The conversation and its thread's whole history, oldest first; records the access.
    pub async fn view_conversation(
        &self,
        id: ConversationId,
        actor: Actor,
        ip: Option<String>,
    ) -> Result<(ConversationSummary, Vec<Message>), ServiceError> {
        let summary =
            self.store.conversation_summary(id).await?.ok_or_else(|| ServiceError::NotFound("conversation".into()))?;
        let messages = self.store.thread_messages(summary.thread.id).await?;
        let entry = audit::entry(&actor, "conversation.view", Some(format!("conversation:{id}")), ip, crate::now());
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        Ok((summary, messages))
    }
}
