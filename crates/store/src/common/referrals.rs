//! Referrals in the store: write statements (bound by either driver), sealing of the details,
//! and the reads, expanded per backend by `define_backend!` like `forms`.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use frontdesk_domain::referrals::{Referral, ReferralDetails, ReferralEvent};

use super::statement::{Param, Statement};
use super::{ms, opt_ms};
use crate::vault::{Vault, aad};
use crate::{StoreError, StoreResult};

pub(crate) const DETAILS: &str = "referrals.details";

fn st(sql: &'static str, params: Vec<Param>) -> Statement {
    Statement { sql: Cow::Borrowed(sql), params }
}

fn seal(vault: &Vault, r: &Referral) -> StoreResult<Vec<u8>> {
    let json = serde_json::to_vec(&r.details).map_err(|e| StoreError::Other(format!("details: {e}")))?;
    Ok(vault.seal(&json, &aad(r.id, DETAILS)))
}

pub(crate) fn open_details(vault: &Vault, id: Uuid, sealed: &[u8]) -> StoreResult<ReferralDetails> {
    let json = vault.open(sealed, &aad(id, DETAILS))?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("{DETAILS}: {e}")))
}

pub(crate) fn insert_referral(vault: &Vault, r: &Referral) -> StoreResult<Statement> {
    Ok(st(
        "INSERT INTO referrals (id, patient_id, status, details, received_at, conversation_id, first_contact_at, \
         next_action_at, followups, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(r.id),
            Param::Uuid(r.patient_id),
            Param::Text(r.status.as_str().into()),
            Param::Bytes(seal(vault, r)?),
            Param::Int(ms(r.received_at)),
            Param::OptUuid(r.conversation_id),
            Param::OptInt(opt_ms(r.first_contact_at)),
            Param::OptInt(opt_ms(r.next_action_at)),
            Param::Int(i64::from(r.followups)),
            Param::Int(ms(r.updated_at)),
        ],
    ))
}

pub(crate) fn update_referral(vault: &Vault, r: &Referral, previous: DateTime<Utc>) -> StoreResult<Statement> {
    Ok(st(
        "UPDATE referrals SET status = $2, details = $3, conversation_id = $4, first_contact_at = $5, \
         next_action_at = $6, followups = $7, updated_at = $8 WHERE id = $1 AND updated_at = $9",
        vec![
            Param::Uuid(r.id),
            Param::Text(r.status.as_str().into()),
            Param::Bytes(seal(vault, r)?),
            Param::OptUuid(r.conversation_id),
            Param::OptInt(opt_ms(r.first_contact_at)),
            Param::OptInt(opt_ms(r.next_action_at)),
            Param::Int(i64::from(r.followups)),
            Param::Int(ms(r.updated_at)),
            Param::Int(ms(previous)),
        ],
    ))
}

pub(crate) fn insert_event(e: &ReferralEvent) -> Statement {
    st(
        "INSERT INTO referral_events (referral_id, status, at, actor) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        vec![
            Param::Uuid(e.referral_id),
            Param::Text(e.status.as_str().into()),
            Param::Int(ms(e.at)),
            Param::OptUuid(e.actor),
        ],
    )
}

/// The two statements of a patient's reply: history first (it selects `contacted` rows),
/// then the move.
pub(crate) fn replied(conversation_id: Uuid, at: DateTime<Utc>) -> [Statement; 2] {
    [
        st(
            "INSERT INTO referral_events (referral_id, status, at, actor) SELECT id, 'replied', $2, NULL FROM referrals \
             WHERE conversation_id = $1 AND status = 'contacted' ON CONFLICT DO NOTHING",
            vec![Param::Uuid(conversation_id), Param::Int(ms(at))],
        ),
        st(
            "UPDATE referrals SET status = 'replied', next_action_at = NULL, updated_at = $2 \
             WHERE conversation_id = $1 AND status = 'contacted'",
            vec![Param::Uuid(conversation_id), Param::Int(ms(at))],
        ),
    ]
}

macro_rules! referral_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, patient_id, status, details, received_at, conversation_id, first_contact_at, ",
            "next_action_at, followups, updated_at FROM referrals ",
            $rest
        )
    };
}

/// The reads, expanded inside each backend's `q` module (they use its row helpers).
macro_rules! referral_reads {
    () => {
        fn map_referral(r: &DbRow, vault: &Vault) -> StoreResult<frontdesk_domain::referrals::Referral> {
            let id: Uuid = get(r, "", "id")?;
            let details: Vec<u8> = get(r, "", "details")?;
            Ok(frontdesk_domain::referrals::Referral {
                id,
                patient_id: get(r, "", "patient_id")?,
                status: word(r, "", "status")?,
                details: crate::common::referrals::open_details(vault, id, &details)?,
                received_at: ts(r, "", "received_at")?,
                conversation_id: get(r, "", "conversation_id")?,
                first_contact_at: opt_ts(r, "", "first_contact_at")?,
                next_action_at: opt_ts(r, "", "next_action_at")?,
                followups: u32::try_from(get::<i64>(r, "", "followups")?).unwrap_or(0),
                updated_at: ts(r, "", "updated_at")?,
            })
        }

        fn map_referral_event(r: &DbRow) -> StoreResult<frontdesk_domain::referrals::ReferralEvent> {
            Ok(frontdesk_domain::referrals::ReferralEvent {
                referral_id: get(r, "", "referral_id")?,
                status: word(r, "", "status")?,
                at: ts(r, "", "at")?,
                actor: get(r, "", "actor")?,
            })
        }

        pub(crate) async fn referrals_where(
            pool: &sqlx::Pool<Db>,
            vault: &Vault,
            filter: crate::common::referrals::ReferralFilter,
        ) -> StoreResult<Vec<frontdesk_domain::referrals::Referral>> {
            use crate::common::referrals::{ReferralFilter as F, referral_select as sel};
            let rows =
                match filter {
                    F::Id(id) => sqlx::query(sel!("WHERE id = $1")).bind(id).fetch_all(pool).await,
                    F::All => sqlx::query(sel!("ORDER BY received_at DESC, id")).fetch_all(pool).await,
                    F::Due(now, limit) => sqlx::query(sel!(
                        "WHERE next_action_at IS NOT NULL AND next_action_at <= $1 ORDER BY next_action_at, id LIMIT $2"
                    ))
                    .bind(ms(now))
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await,
                }
                .map_err(db_err)?;
            rows.iter().map(|r| map_referral(r, vault)).collect()
        }

        pub(crate) async fn referral_events_where(
            pool: &sqlx::Pool<Db>,
            referral: Option<Uuid>,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        ) -> StoreResult<Vec<frontdesk_domain::referrals::ReferralEvent>> {
            let rows = match referral {
                Some(id) => {
                    sqlx::query(
                        "SELECT referral_id, status, at, actor FROM referral_events WHERE referral_id = $1 ORDER BY at",
                    )
                    .bind(id)
                    .fetch_all(pool)
                    .await
                }
                None => sqlx::query(
                    "SELECT referral_id, status, at, actor FROM referral_events WHERE at >= $1 AND at < $2 ORDER BY at",
                )
                .bind(ms(start))
                .bind(ms(end))
                .fetch_all(pool)
                .await,
            }
            .map_err(db_err)?;
            all(rows, map_referral_event)
        }
    };
}

/// How referrals are looked up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReferralFilter {
    Id(Uuid),
    All,
    Due(DateTime<Utc>, u32),
}

/// The `ReferralReads` impl for a backend's store and (PostgreSQL) the `ReferralWrites` impl
/// for its transaction, expanded by `define_backend!`.
macro_rules! referral_backend {
    (store: $store:ty, writes: none) => {
        crate::common::referrals::referral_reads_impl!($store);
    };
    (store: $store:ty, writes: sqlx (conn: $conn:ty, tx: $tx:ty)) => {
        crate::common::referrals::referral_reads_impl!($store);

        #[async_trait::async_trait]
        impl crate::ReferralWrites for $tx {
            async fn insert_referral(&mut self, r: &frontdesk_domain::referrals::Referral) -> crate::StoreResult<()> {
                let (c, v) = self.parts();
                let n = q::exec_statement(c, &crate::common::referrals::insert_referral(v, r)?).await?;
                crate::common::forms::one(n, "a referral with this id")
            }

            async fn update_referral(
                &mut self,
                r: &frontdesk_domain::referrals::Referral,
                previous: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<bool> {
                let (c, v) = self.parts();
                Ok(q::exec_statement(c, &crate::common::referrals::update_referral(v, r, previous)?).await? == 1)
            }

            async fn insert_referral_event(
                &mut self,
                e: &frontdesk_domain::referrals::ReferralEvent,
            ) -> crate::StoreResult<()> {
                q::exec_statement(self.parts().0, &crate::common::referrals::insert_event(e)).await?;
                Ok(())
            }

            async fn referral_replied(
                &mut self,
                conversation_id: uuid::Uuid,
                at: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<u64> {
                let [history, moved] = crate::common::referrals::replied(conversation_id, at);
                q::exec_statement(self.parts().0, &history).await?;
                q::exec_statement(self.parts().0, &moved).await
            }
        }
    };
}

macro_rules! referral_reads_impl {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl crate::ReferralReads for $store {
            async fn referral_by_id(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Option<frontdesk_domain::referrals::Referral>> {
                let f = crate::common::referrals::ReferralFilter::Id(id);
                Ok(q::referrals_where(self.reader(), self.vault(), f).await?.into_iter().next())
            }

            async fn referrals(&self) -> crate::StoreResult<Vec<frontdesk_domain::referrals::Referral>> {
                q::referrals_where(self.reader(), self.vault(), crate::common::referrals::ReferralFilter::All).await
            }

            async fn referrals_due(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> crate::StoreResult<Vec<frontdesk_domain::referrals::Referral>> {
                let f = crate::common::referrals::ReferralFilter::Due(now, limit);
                q::referrals_where(self.reader(), self.vault(), f).await
            }

            async fn referral_events(
                &self,
                id: uuid::Uuid,
            ) -> crate::StoreResult<Vec<frontdesk_domain::referrals::ReferralEvent>> {
                let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
                q::referral_events_where(self.reader(), Some(id), epoch, epoch).await
            }

            async fn referral_events_between(
                &self,
                start: chrono::DateTime<chrono::Utc>,
                end: chrono::DateTime<chrono::Utc>,
            ) -> crate::StoreResult<Vec<frontdesk_domain::referrals::ReferralEvent>> {
                q::referral_events_where(self.reader(), None, start, end).await
            }
        }
    };
}

pub(crate) use {referral_backend, referral_reads, referral_reads_impl, referral_select};
