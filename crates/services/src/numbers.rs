//! The practice's phone numbers.

use frontdesk_domain::E164;
use frontdesk_domain::model::{PracticeNumber, ProviderKind, new_id};

use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

/// US long codes carry about one segment a second (reference/sms.md §5).
pub const DEFAULT_RATE_PER_SEC: f64 = 1.0;

/// The number the simulator answers on when no real provider is configured.
pub const SIMULATOR_NUMBER: &str = "+15550100100";

#[derive(Debug, Clone)]
pub struct NewNumber {
    pub e164: String,
    pub provider: ProviderKind,
    pub messaging_service_sid: Option<String>,
    pub rate_limit_per_sec: Option<f64>,
}

impl Services {
    pub async fn add_number(&self, input: NewNumber, actor: Actor) -> Result<PracticeNumber, ServiceError> {
        let e164 = E164::parse(&input.e164, self.settings.default_region)
            .or_else(|_| E164::parse_strict(&input.e164))
            .map_err(|e| ServiceError::invalid("number", e.to_string()))?;
        let rate = input.rate_limit_per_sec.unwrap_or(DEFAULT_RATE_PER_SEC);
        if !(rate.is_finite() && rate > 0.0 && rate <= 10_000.0) {
            return Err(ServiceError::invalid(
                "rate_limit_per_sec",
                "use a rate between 0 and 10000 messages per second",
            ));
        }
        if let Some(sid) = &input.messaging_service_sid
            && !(sid.starts_with("MG") && sid.len() == 34)
        {
            return Err(ServiceError::invalid(
                "messaging_service_sid",
                "a Messaging Service SID starts with MG and has 34 characters",
            ));
        }
        let now = crate::now();
        let number = PracticeNumber {
            id: new_id(),
            e164,
            provider: input.provider,
            messaging_service_sid: input.messaging_service_sid,
            default_department_id: None,
            rate_limit_per_sec: rate,
            created_at: now,
        };
        let stored = number.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_number(&stored).await?;
                tx.insert_audit(&audit::entry(&actor, "number.add", Some(format!("number:{}", stored.id)), None, now))
                    .await
            })
        })
        .await
        .map_err(|e| match e {
            frontdesk_store::StoreError::Conflict(_) => {
                ServiceError::Conflict("this number is already registered".into())
            }
            other => other.into(),
        })?;
        Ok(number)
    }

    /// Makes sure the simulator has a practice number to text; returns it.
    pub async fn ensure_simulator_number(&self) -> Result<PracticeNumber, ServiceError> {
        let e164 = E164::parse_strict(SIMULATOR_NUMBER).map_err(|e| ServiceError::Internal(e.to_string()))?;
        if let Some(existing) = self.store.number_by_e164(&e164).await? {
            return Ok(existing);
        }
        let input = NewNumber {
            e164: SIMULATOR_NUMBER.into(),
            provider: ProviderKind::Simulator,
            messaging_service_sid: None,
            rate_limit_per_sec: Some(10.0),
        };
        self.add_number(input, Actor::System).await
    }
}
