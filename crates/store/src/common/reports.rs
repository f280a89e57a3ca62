//! Reports in the store: the rollup upsert (bound by either driver) and the day-facts reads,
//! expanded per backend by `define_backend!` like `forms`.
//!
//! The conversation source is inferred from the first message's direction
//! (`SOURCE_SQL`); when conversations get a `source` column, select it there instead.

use std::borrow::Cow;

use chrono::NaiveDate;

use super::ms;
use super::statement::{Param, Statement};
use crate::reports::StoredDay;
use crate::{StoreError, StoreResult};

pub(crate) fn put_report_day(d: &StoredDay) -> StoreResult<Statement> {
    let json = serde_json::to_string(&d.rollup).map_err(|e| StoreError::Other(format!("rollup: {e}")))?;
    Ok(Statement {
        sql: Cow::Borrowed(
            "INSERT INTO report_days (day, time_zone, computed_at, rollup) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (day) DO UPDATE SET time_zone = excluded.time_zone, computed_at = excluded.computed_at, \
             rollup = excluded.rollup",
        ),
        params: vec![
            Param::Text(day_key(d.day)),
            Param::Text(d.time_zone.clone()),
            Param::Int(ms(d.computed_at)),
            Param::Text(json),
        ],
    })
}

pub(crate) fn delete_report_days(from: NaiveDate, to: NaiveDate) -> Statement {
    Statement {
        sql: Cow::Borrowed("DELETE FROM report_days WHERE day >= $1 AND day <= $2"),
        params: vec![Param::Text(day_key(from)), Param::Text(day_key(to))],
    }
}

pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("report_days.day {text:?}: {e}")))
}

/// Which conversations a day touches: a message, an opening, a closing, a form.
macro_rules! touched_conversations {
    () => {
        "SELECT conversation_id FROM messages WHERE created_at >= $1 AND created_at < $2 \
         UNION SELECT id FROM conversations WHERE opened_at >= $1 AND opened_at < $2 \
         UNION SELECT id FROM conversations WHERE closed_at >= $1 AND closed_at < $2 \
         UNION SELECT conversation_id FROM form_requests WHERE created_at >= $1 AND created_at < $2 \
         UNION SELECT conversation_id FROM form_requests WHERE submitted_at >= $1 AND submitted_at < $2"
    };
}

/// A reply: staff in the dashboard or an API client (domain `MessageFact::is_reply`).
macro_rules! reply_filter {
    ($t:literal) => {
        concat!($t, ".direction = 'outbound' AND ", $t, ".sender IN ('staff', 'api')")
    };
}

/// The conversation query; `first_direction` stands in for a stored source. Every
/// per-conversation value is an `ORDER BY … LIMIT 1` walk of `messages (conversation_id,
/// created_at, id)` that stops at the first match (a plain `MIN`/`MAX` with these filters
/// would read every message of a long thread).
pub(crate) const DAY_CONVERSATIONS: &str = concat!(
    "SELECT c.id, t.number_id, t.contact_id, c.department_id, c.assignee_id, c.urgent, c.opened_at, c.closed_at, ",
    "c.source, ",
    "(SELECT r.created_at FROM messages r WHERE r.conversation_id = c.id AND ",
    reply_filter!("r"),
    " ORDER BY r.created_at LIMIT 1) AS first_reply_at, ",
    "(SELECT w.created_at FROM messages w WHERE w.conversation_id = c.id AND w.direction = 'inbound' ",
    "AND w.created_at < $1 AND w.created_at > COALESCE((SELECT s.created_at FROM messages s ",
    "WHERE s.conversation_id = c.id AND ",
    reply_filter!("s"),
    " AND s.created_at < $1 ORDER BY s.created_at DESC LIMIT 1), -1) ",
    "ORDER BY w.created_at LIMIT 1) AS waiting_at_start ",
    "FROM conversations c JOIN threads t ON t.id = c.thread_id WHERE c.id IN (",
    touched_conversations!(),
    ")"
);

pub(crate) const DAY_MESSAGES: &str = "SELECT conversation_id, direction, sender, sender_user_id, status, error_code, \
     segments, created_at FROM messages WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at";

pub(crate) const DAY_OPT_OUTS: &str = "SELECT contact_id, created_at FROM consent_events \
     WHERE created_at >= $1 AND created_at < $2 AND granted = $3 AND purpose = 'sms'";

pub(crate) const DAY_FORMS: &str = "SELECT conversation_id, sent_by, created_at, submitted_at FROM form_requests \
     WHERE (created_at >= $1 AND created_at < $2) OR (submitted_at >= $1 AND submitted_at < $2)";

pub(crate) const REPORT_DAYS: &str = "SELECT day, time_zone, computed_at, rollup FROM report_days \
     WHERE day >= $1 AND day <= $2 ORDER BY day";

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! report_reads {
    () => {
        pub(crate) async fn report_day_facts(
            pool: &sqlx::Pool<Db>,
            day: chrono::NaiveDate,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        ) -> StoreResult<frontdesk_domain::reports::DayFacts> {
            use crate::common::reports as r;
            use frontdesk_domain::reports::{ConversationFact, FormFact, MessageFact, OptOutFact, Source};
            let (s, e) = (ms(start), ms(end));
            let rows = sqlx::query(r::DAY_MESSAGES).bind(s).bind(e).fetch_all(pool).await.map_err(db_err)?;
            let messages = all(rows, |row| {
                Ok(MessageFact {
                    conversation_id: get(row, "", "conversation_id")?,
                    direction: word(row, "", "direction")?,
                    sender: word(row, "", "sender")?,
                    sender_user_id: get(row, "", "sender_user_id")?,
                    status: word(row, "", "status")?,
                    error_code: get(row, "", "error_code")?,
                    segments: get::<i32>(row, "", "segments")?,
                    created_at: ts(row, "", "created_at")?,
                })
            })?;
            let rows = sqlx::query(r::DAY_CONVERSATIONS).bind(s).bind(e).fetch_all(pool).await.map_err(db_err)?;
            let conversations = all(rows, |row| {
                Ok(ConversationFact {
                    id: get(row, "", "id")?,
                    number_id: get(row, "", "number_id")?,
                    contact_id: get(row, "", "contact_id")?,
                    department_id: get(row, "", "department_id")?,
                    assignee_id: get(row, "", "assignee_id")?,
                    urgent: get(row, "", "urgent")?,
                    source: Source::from_stored(&get::<String>(row, "", "source")?),
                    opened_at: ts(row, "", "opened_at")?,
                    closed_at: opt_ts(row, "", "closed_at")?,
                    first_reply_at: opt_ts(row, "", "first_reply_at")?,
                    waiting_at_start: opt_ts(row, "", "waiting_at_start")?,
                })
            })?;
            let rows =
                sqlx::query(r::DAY_OPT_OUTS).bind(s).bind(e).bind(false).fetch_all(pool).await.map_err(db_err)?;
            let opt_outs = all(rows, |row| {
                Ok(OptOutFact { contact_id: get(row, "", "contact_id")?, at: ts(row, "", "created_at")? })
            })?;
            let rows = sqlx::query(r::DAY_FORMS).bind(s).bind(e).fetch_all(pool).await.map_err(db_err)?;
            let forms = all(rows, |row| {
                Ok(FormFact {
                    conversation_id: get(row, "", "conversation_id")?,
                    sent_by: get(row, "", "sent_by")?,
                    created_at: ts(row, "", "created_at")?,
                    submitted_at: opt_ts(row, "", "submitted_at")?,
                })
            })?;
            Ok(frontdesk_domain::reports::DayFacts { day, start, end, messages, conversations, opt_outs, forms })
        }

        pub(crate) async fn report_days(
            pool: &sqlx::Pool<Db>,
            from: chrono::NaiveDate,
            to: chrono::NaiveDate,
        ) -> StoreResult<Vec<crate::reports::StoredDay>> {
            use crate::common::reports as r;
            let rows = sqlx::query(r::REPORT_DAYS)
                .bind(r::day_key(from))
                .bind(r::day_key(to))
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let json: String = get(row, "", "rollup")?;
                // A rollup written by an older layout that no longer reads is recomputed.
                let Ok(rollup) = serde_json::from_str(&json) else { continue };
                out.push(crate::reports::StoredDay {
                    day: r::parse_day(&get::<String>(row, "", "day")?)?,
                    time_zone: get(row, "", "time_zone")?,
                    computed_at: ts(row, "", "computed_at")?,
                    rollup,
                });
            }
            Ok(out)
        }
    };
}

/// The `ReportReads` impl for a backend's store and (PostgreSQL) the `ReportWrites` impl for
/// its transaction, expanded by `define_backend!`.
macro_rules! report_backend {
    (store: $store:ty, writes: none) => {
        crate::common::reports::report_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::reports::report_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::ReportWrites for $tx {
            async fn put_report_day(&mut self, d: &crate::reports::StoredDay) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::reports::put_report_day(d)?).await?;
                Ok(())
            }

            async fn delete_report_days(
                &mut self,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> crate::StoreResult<u64> {
                q::exec_statement(self.parts().0, &crate::common::reports::delete_report_days(from, to)).await
            }
        }
    };
}

macro_rules! report_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::ReportReads for $store {
            async fn report_day_facts(
                &self,
                day: chrono::NaiveDate,
                start: chrono::DateTime<chrono::Utc>,
                end: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<frontdesk_domain::reports::DayFacts> {
                q::report_day_facts(self.reader(), day, start, end).await
            }

            async fn report_days(
                &self,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> crate::StoreResult<Vec<crate::reports::StoredDay>> {
                q::report_days(self.reader(), from, to).await
            }
        }
    };
}

pub(crate) use {report_backend, report_reads, report_reads_impl};
