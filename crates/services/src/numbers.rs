//! The practice's phone numbers.

use frontdesk_domain::E164;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use frontdesk_domain::model::{NumberId, PracticeNumber, ProviderKind, new_id};

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

/// Practice numbers seen so far, by number and by id. Numbers are read on every webhook and
/// every send but change almost never; only found numbers are kept, so a number added by
/// another process (`frontdesk number add`) is found on its first use.
#[derive(Clone, Default)]
pub struct NumberCache {
    inner: Arc<RwLock<HashMap<String, PracticeNumber>>>,
}

impl NumberCache {
    fn get(&self, e164: &E164) -> Option<PracticeNumber> {
        self.inner.read().ok()?.get(e164.as_str()).cloned()
    }

    fn by_id(&self, id: NumberId) -> Option<PracticeNumber> {
        self.inner.read().ok()?.values().find(|n| n.id == id).cloned()
    }

    fn remember(&self, number: &PracticeNumber) {
        if let Ok(mut map) = self.inner.write() {
            map.insert(number.e164.as_str().to_string(), number.clone());
        }
    }
}

impl Services {
    /// The practice number `e164`, if it is one of ours.
    pub async fn number(&self, e164: &E164) -> Result<Option<PracticeNumber>, ServiceError> {
        if let Some(hit) = self.numbers.get(e164) {
            return Ok(Some(hit));
        }
        let found = self.store.number_by_e164(e164).await?;
        if let Some(n) = &found {
            self.numbers.remember(n);
        }
        Ok(found)
    }

    /// The practice number with this id, if it exists.
    pub async fn number_by_id(&self, id: NumberId) -> Result<Option<PracticeNumber>, ServiceError> {
        if let Some(hit) = self.numbers.by_id(id) {
            return Ok(Some(hit));
        }
        let found = self.store.list_numbers().await?.into_iter().find(|n| n.id == id);
        if let Some(n) = &found {
            self.numbers.remember(n);
        }
        Ok(found)
    }

    pub async fn add_number(&self, input: NewNumber, actor: Actor) -> Result<PracticeNumber, ServiceError> {
        self.add_number_in(input, None, actor).await
    }

    /// Adds a number whose new conversations go to `department` (admin page).
    pub async fn add_number_in(
        &self,
        input: NewNumber,
        department: Option<frontdesk_domain::model::DepartmentId>,
        actor: Actor,
    ) -> Result<PracticeNumber, ServiceError> {
        if let Some(d) = department
            && !self.store.list_departments().await?.iter().any(|k| k.id == d)
        {
            return Err(ServiceError::invalid("department", format!("no department with id {d}")));
        }
        let e164 = E164::parse(&input.e164, self.settings().default_region)
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
            default_department_id: department,
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
        if let Some(existing) = self.number(&e164).await? {
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
