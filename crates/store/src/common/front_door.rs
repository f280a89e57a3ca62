//! The front door in the store: write statements (bound by either driver) and the reads,
//! expanded per backend by `define_backend!` like `forms`. Nothing here is sealed: policy
//! texts are the practice's own words and sources are words from a fixed list.

use std::borrow::Cow;

use frontdesk_domain::front_door::{ConversationSource, SmsPolicy};
use uuid::Uuid;

use super::ms;
use super::statement::{Param, Statement};
use crate::front_door::PolicyVersion;
use crate::{StoreError, StoreResult};

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

pub(crate) fn insert_sms_policy(v: &PolicyVersion) -> StoreResult<Statement> {
    let content = serde_json::to_string(&v.policy).map_err(|e| StoreError::Other(format!("sms policy: {e}")))?;
    Ok(st(
        "INSERT INTO sms_policy_versions (version, content, created_at, created_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
        vec![Param::Int(v.version), Param::Text(content), Param::Int(ms(v.created_at)), Param::OptUuid(v.created_by)],
    ))
}

pub(crate) fn set_conversation_origin(id: Uuid, source: ConversationSource, reason_key: Option<&str>) -> Statement {
    st(
        "UPDATE conversations SET source = $2, reason_key = $3 WHERE id = $1",
        vec![Param::Uuid(id), Param::Text(source.as_str().into()), Param::OptText(reason_key.map(str::to_string))],
    )
}

pub(crate) fn parse_policy(text: &str) -> StoreResult<SmsPolicy> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("sms_policy_versions.content: {e}")))
}

pub(crate) fn parse_source(text: &str) -> StoreResult<ConversationSource> {
    text.parse().map_err(|e: String| StoreError::Corrupt(format!("conversations.source: {e}")))
}

pub(crate) fn inserted(n: u64) -> StoreResult<()> {
    if n == 1 { Ok(()) } else { Err(StoreError::Conflict("this SMS policy version".into())) }
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! front_door_reads {
    () => {
        fn map_policy_version(r: &DbRow) -> StoreResult<crate::front_door::PolicyVersion> {
            let content: String = get(r, "", "content")?;
            Ok(crate::front_door::PolicyVersion {
                version: get(r, "", "version")?,
                policy: crate::common::front_door::parse_policy(&content)?,
                created_at: ts(r, "", "created_at")?,
                created_by: get(r, "", "created_by")?,
            })
        }

        pub(crate) async fn sms_policy_where<'e, E>(
            ex: E,
            version: Option<i64>,
        ) -> StoreResult<Option<crate::front_door::PolicyVersion>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = match version {
                Some(v) => sqlx::query(
                    "SELECT version, content, created_at, created_by FROM sms_policy_versions WHERE version = $1",
                )
                .bind(v)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?,
                None => sqlx::query(
                    "SELECT version, content, created_at, created_by FROM sms_policy_versions ORDER BY version DESC LIMIT 1",
                )
                .fetch_optional(ex)
                .await
                .map_err(db_err)?,
            };
            row.map(|r| map_policy_version(&r)).transpose()
        }

        pub(crate) async fn conversation_origin<'e, E>(
            ex: E,
            id: Uuid,
        ) -> StoreResult<Option<(frontdesk_domain::front_door::ConversationSource, Option<String>)>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let row = sqlx::query("SELECT source, reason_key FROM conversations WHERE id = $1")
                .bind(id)
                .fetch_optional(ex)
                .await
                .map_err(db_err)?;
            match row {
                None => Ok(None),
                Some(r) => {
                    let source: String = get(&r, "", "source")?;
                    Ok(Some((crate::common::front_door::parse_source(&source)?, get(&r, "", "reason_key")?)))
                }
            }
        }

        pub(crate) async fn count_by_source<'e, E>(
            ex: E,
            from: i64,
            to: i64,
        ) -> StoreResult<Vec<(frontdesk_domain::front_door::ConversationSource, i64)>>
        where
            E: sqlx::Executor<'e, Database = Db>,
        {
            let rows = sqlx::query(
                "SELECT source, COUNT(*) AS n FROM conversations WHERE opened_at >= $1 AND opened_at < $2 \
                 GROUP BY source ORDER BY source",
            )
            .bind(from)
            .bind(to)
            .fetch_all(ex)
            .await
            .map_err(db_err)?;
            all(rows, |r| {
                let source: String = get(r, "", "source")?;
                Ok((crate::common::front_door::parse_source(&source)?, get::<i64>(r, "", "n")?))
            })
        }
    };
}

/// The `FrontDoorReads` impl for a backend's store and (PostgreSQL) the `FrontDoorWrites` impl
/// for its transaction, expanded by `define_backend!`.
macro_rules! front_door_backend {
    (store: $store:ty, writes: none) => {
        crate::common::front_door::front_door_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::front_door::front_door_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::FrontDoorWrites for $tx {
            async fn insert_sms_policy(&mut self, v: &crate::front_door::PolicyVersion) -> crate::StoreResult<()> {
                let statement = crate::common::front_door::insert_sms_policy(v)?;
                crate::common::front_door::inserted(q::exec_statement(self.parts().0, &statement).await?)
            }

            async fn set_conversation_origin(
                &mut self,
                id: uuid::Uuid,
                source: frontdesk_domain::front_door::ConversationSource,
                reason_key: Option<&str>,
            ) -> crate::StoreResult<()> {
                let statement = crate::common::front_door::set_conversation_origin(id, source, reason_key);
                let n = q::exec_statement(self.parts().0, &statement).await?;
                crate::common::one_row(n, "conversation", id)
            }
        }
    };
}

macro_rules! front_door_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::FrontDoorReads for $store {
            async fn latest_sms_policy(&self) -> crate::StoreResult<Option<crate::front_door::PolicyVersion>> {
                q::sms_policy_where(self.reader(), None).await
            }

            async fn sms_policy_version(
                &self,
                version: i64,
            ) -> crate::StoreResult<Option<crate::front_door::PolicyVersion>> {
                q::sms_policy_where(self.reader(), Some(version)).await
            }

            async fn conversation_origin(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<(frontdesk_domain::front_door::ConversationSource, Option<String>)>> {
                q::conversation_origin(self.reader(), id).await
            }

            async fn count_conversations_by_source(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<Vec<(frontdesk_domain::front_door::ConversationSource, i64)>> {
                q::count_by_source(self.reader(), from.timestamp_millis(), to.timestamp_millis()).await
            }
        }
    };
}

pub(crate) use {front_door_backend, front_door_reads, front_door_reads_impl};
