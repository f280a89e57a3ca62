//! Outreach in the store: write statements (bound by either driver), sealing of scheduled
//! bodies (AAD: id + `scheduled_messages.body`), and the reads, expanded per backend by
//! `define_backend!` like `front_door`.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ms;
use super::statement::{Param, Statement};
use crate::outreach::ScheduledMessage;
use crate::vault::{Vault, aad};
use crate::{StoreError, StoreResult};

pub(crate) const SCHEDULED_BODY: &str = "scheduled_messages.body";

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn insert_scheduled(vault: &Vault, s: &ScheduledMessage) -> Statement {
    st(
        "INSERT INTO scheduled_messages (id, conversation_id, contact_id, body, kind, sender, created_by, send_at, \
         requested_at, status, reason, message_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(s.id),
            Param::Uuid(s.conversation_id),
            Param::Uuid(s.contact_id),
            Param::Bytes(vault.seal(s.body.as_bytes(), &aad(s.id, SCHEDULED_BODY))),
            Param::Text(s.kind.clone()),
            Param::Text(s.sender.as_str().into()),
            Param::OptUuid(s.created_by),
            Param::Int(ms(s.send_at)),
            Param::Int(ms(s.requested_at)),
            Param::Text(s.status.clone()),
            Param::OptText(s.reason.clone()),
            Param::OptUuid(s.message_id),
            Param::Int(ms(s.created_at)),
            Param::Int(ms(s.updated_at)),
        ],
    )
}

pub(crate) fn insert_broadcast(b: &crate::outreach::Broadcast) -> Statement {
    st(
        "INSERT INTO broadcasts (id, body, created_by, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(b.id),
            Param::Text(b.body.clone()),
            Param::OptUuid(b.created_by),
            Param::Int(ms(b.created_at)),
        ],
    )
}

pub(crate) fn insert_broadcast_recipient(r: &crate::outreach::BroadcastRecipient) -> Statement {
    st(
        "INSERT INTO broadcast_recipients (broadcast_id, position, patient_id, status, reason, scheduled_id) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(r.broadcast_id),
            Param::Int(r.position),
            Param::Uuid(r.patient_id),
            Param::Text(r.status.clone()),
            Param::OptText(r.reason.clone()),
            Param::OptUuid(r.scheduled_id),
        ],
    )
}

pub(crate) fn claim_scheduled(id: Uuid, now: DateTime<Utc>) -> Statement {
    st(
        "UPDATE scheduled_messages SET status = 'sent', send_at = $2, updated_at = $2 \
         WHERE id = $1 AND status = 'pending' AND send_at <= $2",
        vec![Param::Uuid(id), Param::Int(ms(now))],
    )
}

pub(crate) fn finish_scheduled(
    id: Uuid,
    status: &str,
    message_id: Option<Uuid>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Statement {
    st(
        "UPDATE scheduled_messages SET status = $2, message_id = $3, reason = $4, updated_at = $5 WHERE id = $1",
        vec![
            Param::Uuid(id),
            Param::Text(status.into()),
            Param::OptUuid(message_id),
            Param::OptText(reason.map(str::to_string)),
            Param::Int(ms(now)),
        ],
    )
}

pub(crate) fn defer_scheduled(id: Uuid, until: DateTime<Utc>, reason: &str, now: DateTime<Utc>) -> Statement {
    st(
        "UPDATE scheduled_messages SET send_at = $2, reason = $3, updated_at = $4 WHERE id = $1 AND status = 'pending'",
        vec![Param::Uuid(id), Param::Int(ms(until)), Param::Text(reason.into()), Param::Int(ms(now))],
    )
}

pub(crate) fn cancel_scheduled(id: Uuid, now: DateTime<Utc>) -> Statement {
    st(
        "UPDATE scheduled_messages SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status = 'pending'",
        vec![Param::Uuid(id), Param::Int(ms(now))],
    )
}

pub(crate) fn open_scheduled_body(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<String> {
    let bytes = vault.open(sealed, &aad(id, SCHEDULED_BODY))?;
    String::from_utf8(bytes).map_err(|_| StoreError::Corrupt(format!("column {SCHEDULED_BODY}: not UTF-8")))
}

pub(crate) fn inserted(n: u64) -> StoreResult<()> {
    if n == 1 { Ok(()) } else { Err(StoreError::Conflict("an outreach row with this id".into())) }
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! outreach_reads {
    () => {
        fn map_scheduled(r: &DbRow, vault: &Vault) -> StoreResult<crate::outreach::ScheduledMessage> {
            let id: Uuid = get(r, "", "id")?;
            let body: Vec<u8> = get(r, "", "body")?;
            Ok(crate::outreach::ScheduledMessage {
                id,
                conversation_id: get(r, "", "conversation_id")?,
                contact_id: get(r, "", "contact_id")?,
                body: crate::common::outreach::open_scheduled_body(vault, id, &body)?,
                kind: get(r, "", "kind")?,
                sender: word(r, "", "sender")?,
                created_by: get(r, "", "created_by")?,
                send_at: ts(r, "", "send_at")?,
                requested_at: ts(r, "", "requested_at")?,
                status: get(r, "", "status")?,
                reason: get(r, "", "reason")?,
                message_id: get(r, "", "message_id")?,
                created_at: ts(r, "", "created_at")?,
                updated_at: ts(r, "", "updated_at")?,
            })
        }

        fn map_broadcast(r: &DbRow) -> StoreResult<crate::outreach::Broadcast> {
            Ok(crate::outreach::Broadcast {
                id: get(r, "", "id")?,
                body: get(r, "", "body")?,
                created_by: get(r, "", "created_by")?,
                created_at: ts(r, "", "created_at")?,
            })
        }

        pub(crate) async fn broadcasts_where<'e, E>(
            ex: E,
            id: Option<Uuid>,
            limit: u32,
        ) -> StoreResult<Vec<crate::outreach::Broadcast>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = match id {
                Some(id) => sqlx::query("SELECT id, body, created_by, created_at FROM broadcasts WHERE id = $1")
                    .bind(id)
                    .fetch_all(ex)
                    .await
                    .map_err(db_err)?,
                None => sqlx::query(
                    "SELECT id, body, created_by, created_at FROM broadcasts ORDER BY created_at DESC, id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(ex)
                .await
                .map_err(db_err)?,
            };
            all(rows, map_broadcast)
        }

        pub(crate) async fn broadcast_recipients<'e, E>(
            ex: E,
            id: Uuid,
        ) -> StoreResult<Vec<crate::outreach::RecipientState>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT r.broadcast_id, r.position, r.patient_id, r.status, r.reason, r.scheduled_id, \
                 s.status AS scheduled_status, s.reason AS scheduled_reason \
                 FROM broadcast_recipients r LEFT JOIN scheduled_messages s ON s.id = r.scheduled_id \
                 WHERE r.broadcast_id = $1 ORDER BY r.position",
            )
            .bind(id)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| {
                Ok(crate::outreach::RecipientState {
                    recipient: crate::outreach::BroadcastRecipient {
                        broadcast_id: get(r, "", "broadcast_id")?,
                        position: get(r, "", "position")?,
                        patient_id: get(r, "", "patient_id")?,
                        status: get(r, "", "status")?,
                        reason: get(r, "", "reason")?,
                        scheduled_id: get(r, "", "scheduled_id")?,
                    },
                    scheduled_status: get(r, "", "scheduled_status")?,
                    scheduled_reason: get(r, "", "scheduled_reason")?,
                })
            })
        }

        pub(crate) async fn scheduled_by<'e, E>(
            ex: E,
            vault: &Vault,
            by_conversation: bool,
            id: Uuid,
        ) -> StoreResult<Vec<crate::outreach::ScheduledMessage>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let sql = if by_conversation {
                "SELECT id, conversation_id, contact_id, body, kind, sender, created_by, send_at, requested_at, status, reason, message_id, created_at, updated_at FROM scheduled_messages WHERE conversation_id = $1 ORDER BY send_at, id"
            } else {
                "SELECT id, conversation_id, contact_id, body, kind, sender, created_by, send_at, requested_at, status, reason, message_id, created_at, updated_at FROM scheduled_messages WHERE id = $1"
            };
            let rows = sqlx::query(sql).bind(id).fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_scheduled(r, vault))
        }

        pub(crate) async fn due_scheduled<'e, E>(
            ex: E,
            vault: &Vault,
            now: i64,
            limit: u32,
        ) -> StoreResult<Vec<crate::outreach::ScheduledMessage>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT id, conversation_id, contact_id, body, kind, sender, created_by, send_at, requested_at, status, reason, message_id, created_at, updated_at FROM scheduled_messages WHERE status = 'pending' AND send_at <= $1 ORDER BY send_at, id LIMIT $2",
            ).bind(now).bind(i64::from(limit)).fetch_all(ex).await.map_err(db_err)?;
            all(rows, |r| map_scheduled(r, vault))
        }

        pub(crate) async fn automated_sent_times<'e, E>(ex: E, contact_id: Uuid, since: i64) -> StoreResult<Vec<DateTime<Utc>>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT send_at FROM scheduled_messages WHERE contact_id = $1 AND kind = 'automated' \
                 AND status = 'sent' AND send_at >= $2 ORDER BY send_at",
            )
            .bind(contact_id)
            .bind(since)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| ts(r, "", "send_at"))
        }
    };
}

/// The `OutreachReads` impl for a backend's store and (PostgreSQL) the `OutreachWrites` impl
/// for its transaction, expanded by `define_backend!`.
macro_rules! outreach_backend {
    (store: $store:ty, writes: none) => {
        crate::common::outreach::outreach_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::outreach::outreach_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::OutreachWrites for $tx {
            async fn insert_broadcast(&mut self, b: &crate::outreach::Broadcast) -> crate::StoreResult<()> {
                let n = q::exec_statement(self.parts().0, &crate::common::outreach::insert_broadcast(b)).await?;
                crate::common::outreach::inserted(n)
            }

            async fn insert_broadcast_recipient(
                &mut self,
                r: &crate::outreach::BroadcastRecipient,
            ) -> crate::StoreResult<()> {
                let statement = crate::common::outreach::insert_broadcast_recipient(r);
                crate::common::outreach::inserted(q::exec_statement(self.parts().0, &statement).await?)
            }

            async fn insert_scheduled(&mut self, s: &crate::outreach::ScheduledMessage) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::outreach::insert_scheduled(v, s)).await?;
                crate::common::outreach::inserted(n)
            }

            async fn claim_scheduled(
                &mut self,
                id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let statement = crate::common::outreach::claim_scheduled(id, now);
                Ok(q::exec_statement(self.parts().0, &statement).await? == 1)
            }

            async fn finish_scheduled(
                &mut self,
                id: uuid::Uuid,
                status: &str,
                message_id: Option<uuid::Uuid>,
                reason: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<()> {
                let statement = crate::common::outreach::finish_scheduled(id, status, message_id, reason, now);
                let n = q::exec_statement(self.parts().0, &statement).await?;
                crate::common::one_row(n, "scheduled message", id)
            }

            async fn defer_scheduled(
                &mut self,
                id: uuid::Uuid,
                until: chrono::DateTime<chrono::Utc>,
                reason: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let statement = crate::common::outreach::defer_scheduled(id, until, reason, now);
                Ok(q::exec_statement(self.parts().0, &statement).await? == 1)
            }

            async fn cancel_scheduled(
                &mut self,
                id: uuid::Uuid,
                now: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let statement = crate::common::outreach::cancel_scheduled(id, now);
                Ok(q::exec_statement(self.parts().0, &statement).await? == 1)
            }
        }
    };
}

macro_rules! outreach_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::OutreachReads for $store {
            async fn broadcast_by_id(&self, id: uuid::Uuid) -> crate::StoreResult<Option<crate::outreach::Broadcast>> {
                Ok(q::broadcasts_where(self.reader(), Some(id), 1).await?.into_iter().next())
            }

            async fn list_broadcasts(&self, limit: u32) -> crate::StoreResult<Vec<crate::outreach::Broadcast>> {
                q::broadcasts_where(self.reader(), None, limit).await
            }

            async fn broadcast_recipients(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::outreach::RecipientState>> {
                q::broadcast_recipients(self.reader(), id).await
            }

            async fn scheduled_message(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<crate::outreach::ScheduledMessage>> {
                Ok(q::scheduled_by(self.reader(), self.vault(), false, id).await?.into_iter().next())
            }

            async fn conversation_scheduled(
                &self,
                conversation_id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<crate::outreach::ScheduledMessage>> {
                q::scheduled_by(self.reader(), self.vault(), true, conversation_id).await
            }

            async fn due_scheduled(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<Vec<crate::outreach::ScheduledMessage>> {
                q::due_scheduled(self.reader(), self.vault(), now.timestamp_millis(), limit).await
            }

            async fn automated_sent_times(
                &self,
                contact_id: uuid::Uuid,
                since: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<Vec<chrono::DateTime<chrono::Utc>>> {
                q::automated_sent_times(self.reader(), contact_id, since.timestamp_millis()).await
            }
        }
    };
}

pub(crate) use {outreach_backend, outreach_reads, outreach_reads_impl};
