//! Staff sign-in: Argon2id passwords, server-side sessions with an idle and an absolute limit,
//! TOTP two-factor with recovery codes, and lockout after repeated failures.
//!
//! The cookie carries a random secret; the store keeps only its SHA-256, so a copy of the
//! database cannot be replayed as a session. Failures all answer with one message, so the
//! sign-in form does not tell an attacker which emails exist.

use chrono::{DateTime, TimeDelta, Utc};
use frontdesk_domain::model::{Role, Session, User, UserId, UserSecurity};
use totp_rs::{Builder, Secret, Totp};

use crate::accounts::{random_secret, token_hash, verify_password};
use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

/// How long sessions last and how sign-in failures are answered.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// Signed out after this long without a request (HIPAA automatic logoff).
    pub idle: TimeDelta,
    /// Signed out after this long whatever the activity.
    pub absolute: TimeDelta,
    /// Failed sign-ins in a row before the account is locked.
    pub max_failures: i32,
    pub lockout: TimeDelta,
    /// Admins must enrol a second factor before they can do anything else.
    pub require_totp_for_admins: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: TimeDelta::minutes(15),
            absolute: TimeDelta::hours(12),
            max_failures: 5,
            lockout: TimeDelta::minutes(15),
            require_totp_for_admins: true,
        }
    }
}

/// What a signed-in browser must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Fully signed in.
    Done,
    /// Password accepted; a TOTP or recovery code is required.
    SecondFactor,
    /// Password accepted; this account must enrol a second factor first.
    EnrolSecondFactor,
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Goes into the cookie; shown nowhere else.
    pub cookie_secret: String,
    pub session: Session,
    pub user: User,
    pub next: NextStep,
}

/// A live session and its user, as every dashboard request sees them.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub session: Session,
    pub user: User,
    pub next: NextStep,
}

/// Two-factor sign-in turned on: the recovery codes (shown once) and the new session's
/// cookie secret (the session is replaced once it is verified).
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub recovery_codes: Vec<String>,
    pub cookie_secret: String,
}

/// A second factor being set up: shown once as a QR code and as text.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    /// The QR code of `otpauth_url` as an SVG document.
    pub qr_svg: String,
}

const SIGN_IN_FAILED: &str = "the email or password is not right";
/// Failed sign-in attempts (passwords and codes) one client may make per window; the next
/// one is refused until the window ends. Successes do not count, so a practice behind one address
/// is not locked out by its own morning rush.
pub const SIGN_IN_FAILURES_PER_WINDOW: i64 = 10;
const THROTTLE_WINDOW_MS: i64 = 60_000;
const RECOVERY_CODES: usize = 10;

fn locked_message(until: DateTime<Utc>) -> ServiceError {
    ServiceError::Unauthorized(format!(
        "too many failed attempts; this account is locked until {} UTC, or an admin can unlock it",
        until.format("%H:%M")
    ))
}

impl Services {
    fn needs_enrolment(&self, user: &User, security: &UserSecurity) -> bool {
        !security.totp_enabled && user.role == Role::Admin && self.session_policy.require_totp_for_admins
    }

    fn next_step(&self, user: &User, security: &UserSecurity, session: &Session) -> NextStep {
        if session.mfa_verified {
            NextStep::Done
        } else if security.totp_enabled {
            NextStep::SecondFactor
        } else if self.needs_enrolment(user, security) {
            NextStep::EnrolSecondFactor
        } else {
            NextStep::Done
        }
    }

    /// Checks a password and opens a session. Every failure (unknown email, wrong password,
    /// disabled account) answers alike; repeated failures lock the account for a while.
    pub async fn sign_in(&self, email: &str, password: &str, ip: Option<String>) -> Result<SignedIn, ServiceError> {
        let now = crate::now();
        let Some(user) = self.store.user_by_email(email.trim()).await? else {
            // Spend the same time as a real check, and lock "the account" after as many
            // failures as a real one, so neither timing nor the lockout reveals emails.
            let _ = verify_password(password, DUMMY_HASH.get_or_init(dummy_hash));
            self.audit_now(Actor::System, "session.sign_in_failed", None, ip).await?;
            let key = format!("sign-in-email:{}", email.trim().to_lowercase());
            let window = self.session_policy.lockout.num_milliseconds().max(60_000);
            let at = now.timestamp_millis();
            let hits = frontdesk_store::write(&*self.store, move |tx| {
                Box::pin(async move { tx.hit_counter(&key, at, window).await })
            })
            .await?;
            if hits >= i64::from(self.session_policy.max_failures) {
                return Err(locked_message(now + self.session_policy.lockout));
            }
            return Err(ServiceError::Unauthorized(SIGN_IN_FAILED.into()));
        };
        let security = self.store.user_security(user.id).await?;
        if let Some(until) = security.locked_until.filter(|u| *u > now) {
            let _ = verify_password(password, DUMMY_HASH.get_or_init(dummy_hash));
            self.audit_now(Actor::User(user.id), "session.sign_in_locked", Some(format!("user:{}", user.id)), ip)
                .await?;
            return Err(locked_message(until));
        }
        let password_ok = verify_password(password, &user.password_hash);
        if !password_ok || user.disabled {
            let locked_until = self.record_failure(user.id, now, ip).await?;
            return Err(match locked_until {
                Some(until) => locked_message(until),
                None => ServiceError::Unauthorized(SIGN_IN_FAILED.into()),
            });
        }

        let cookie_secret = random_secret(32);
        let session = Session {
            id_hash: token_hash(&cookie_secret),
            user_id: user.id,
            csrf_token: random_secret(24),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.session_policy.absolute,
            mfa_verified: !security.totp_enabled && !self.needs_enrolment(&user, &security),
            ip: ip.clone(),
        };
        let next = self.next_step(&user, &security, &session);
        let stored = session.clone();
        let user_id = user.id;
        // Failures are forgiven only by a complete sign-in: a password alone must not reset
        // the count that wrong second-factor codes add to.
        let forgive = next == NextStep::Done;
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                if forgive {
                    let mut security = tx.user_security_for_update(user_id).await?;
                    security.failed_logins = 0;
                    security.locked_until = None;
                    tx.update_user_security(user_id, &security).await?;
                }
                tx.insert_session(&stored).await?;
                tx.insert_audit(&audit::entry(
                    &Actor::User(user_id),
                    "session.sign_in",
                    Some(format!("user:{user_id}")),
                    ip,
                    now,
                ))
                .await
            })
        })
        .await?;
        Ok(SignedIn { cookie_secret, session, user, next })
    }

    /// Counts a failed attempt; returns the lock time when this failure locked the account.
    async fn record_failure(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        ip: Option<String>,
    ) -> Result<Option<DateTime<Utc>>, ServiceError> {
        let policy = self.session_policy.clone();
        Ok(frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut security = tx.user_security_for_update(user_id).await?;
                security.failed_logins += 1;
                let mut locked = None;
                if security.failed_logins >= policy.max_failures {
                    security.failed_logins = 0;
                    security.locked_until = Some(now + policy.lockout);
                    locked = security.locked_until;
                }
                tx.update_user_security(user_id, &security).await?;
                let action = if locked.is_some() { "session.locked" } else { "session.sign_in_failed" };
                tx.insert_audit(&audit::entry(&Actor::User(user_id), action, Some(format!("user:{user_id}")), ip, now))
                    .await?;
                Ok(locked)
            })
        })
        .await?)
    }

    /// The session behind a cookie, if it is still alive: not idle too long, not past its
    /// absolute limit, its user not disabled. Records activity (at most once a minute, so a
    /// busy dashboard does not write on every request).
    pub async fn current_session(&self, cookie_secret: &str) -> Result<Option<CurrentSession>, ServiceError> {
        self.lookup_session(cookie_secret, true).await
    }

    /// The same check for background requests (live refreshes, event streams): the session
    /// must be alive, but the request is not the person's activity, so it does not postpone
    /// the idle limit.
    pub async fn peek_session(&self, cookie_secret: &str) -> Result<Option<CurrentSession>, ServiceError> {
        self.lookup_session(cookie_secret, false).await
    }

    async fn lookup_session(
        &self,
        cookie_secret: &str,
        activity: bool,
    ) -> Result<Option<CurrentSession>, ServiceError> {
        let now = crate::now();
        let Some(mut session) = self.store.session_by_hash(&token_hash(cookie_secret)).await? else {
            return Ok(None);
        };
        let expired = now >= session.expires_at || now - session.last_seen_at >= self.session_policy.idle;
        let user = self.store.user_by_id(session.user_id).await?;
        let Some(user) = user.filter(|u| !u.disabled && !expired) else {
            let id_hash = session.id_hash.clone();
            frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.delete_session(&id_hash).await }))
                .await?;
            return Ok(None);
        };
        if activity && now - session.last_seen_at >= TimeDelta::minutes(1) {
            session.last_seen_at = now;
            let stored = session.clone();
            frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.update_session(&stored).await }))
                .await?;
        }
        let security = self.store.user_security(user.id).await?;
        let next = self.next_step(&user, &security, &session);
        Ok(Some(CurrentSession { session, user, next }))
    }

    /// Whether the session with this id is still alive (long-lived streams ask this now and
    /// then, so a stream ends when its session does).
    pub async fn session_alive(&self, id_hash: &str) -> Result<bool, ServiceError> {
        let now = crate::now();
        let Some(session) = self.store.session_by_hash(id_hash).await? else { return Ok(false) };
        if now >= session.expires_at || now - session.last_seen_at >= self.session_policy.idle {
            return Ok(false);
        }
        Ok(self.store.user_by_id(session.user_id).await?.is_some_and(|u| !u.disabled))
    }

    pub async fn sign_out(&self, session: &Session, ip: Option<String>) -> Result<(), ServiceError> {
        let id_hash = session.id_hash.clone();
        let user_id = session.user_id;
        let now = crate::now();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.delete_session(&id_hash).await?;
                tx.insert_audit(&audit::entry(
                    &Actor::User(user_id),
                    "session.sign_out",
                    Some(format!("user:{user_id}")),
                    ip,
                    now,
                ))
                .await
            })
        })
        .await?;
        Ok(())
    }

    /// Completes sign-in with a TOTP code or a recovery code. Wrong codes count towards the
    /// same lockout as wrong passwords; a TOTP code is accepted once. On success the session
    /// is replaced by a new one (new id, new CSRF token), whose cookie secret is returned.
    pub async fn verify_second_factor(
        &self,
        current: &CurrentSession,
        code: &str,
        ip: Option<String>,
    ) -> Result<String, ServiceError> {
        let now = crate::now();
        let user = &current.user;
        let security = self.store.user_security(user.id).await?;
        if let Some(until) = security.locked_until.filter(|u| *u > now) {
            return Err(locked_message(until));
        }
        let code = code.trim();
        let totp_step = match (&security.totp_secret, security.totp_enabled) {
            (Some(secret), true) => totp(secret, &user.email, &self.settings().name)?
                .check(&code.replace(' ', ""), now.timestamp().max(0) as u64)
                .map(|step| step as i64),
            _ => None,
        };
        let user_id = user.id;
        let recovery_hash = recovery_hash(code);
        let (cookie_secret, fresh) = self.fresh_session(&current.session, now);
        let old_hash = current.session.id_hash.clone();
        let ip2 = ip.clone();
        let accepted = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut security = tx.user_security_for_update(user_id).await?;
                // Under the row lock, so two requests cannot both spend one code.
                let totp_ok = totp_step.is_some_and(|step| step > security.totp_last_step);
                let ok = totp_ok || tx.use_recovery_code(user_id, &recovery_hash, now).await?;
                if ok {
                    if let Some(step) = totp_step.filter(|_| totp_ok) {
                        security.totp_last_step = step;
                    }
                    security.failed_logins = 0;
                    security.locked_until = None;
                    tx.update_user_security(user_id, &security).await?;
                    tx.delete_session(&old_hash).await?;
                    tx.insert_session(&fresh).await?;
                    let action = if totp_ok { "session.second_factor" } else { "session.recovery_code_used" };
                    tx.insert_audit(&audit::entry(
                        &Actor::User(user_id),
                        action,
                        Some(format!("user:{user_id}")),
                        ip2,
                        now,
                    ))
                    .await?;
                }
                Ok(ok)
            })
        })
        .await?;
        if accepted {
            return Ok(cookie_secret);
        }
        match self.record_failure(user_id, now, ip).await? {
            Some(until) => Err(locked_message(until)),
            None => Err(ServiceError::Unauthorized(
                "that code is not right (or was already used); codes change every 30 seconds".into(),
            )),
        }
    }

    /// A verified session replacing `old` (same user, same absolute limit), with its secret.
    fn fresh_session(&self, old: &Session, now: DateTime<Utc>) -> (String, Session) {
        let cookie_secret = random_secret(32);
        let session = Session {
            id_hash: token_hash(&cookie_secret),
            user_id: old.user_id,
            csrf_token: random_secret(24),
            created_at: now,
            last_seen_at: now,
            expires_at: old.expires_at,
            mfa_verified: true,
            ip: old.ip.clone(),
        };
        (cookie_secret, session)
    }

    /// Starts (or restarts) two-factor enrolment: a new secret, not yet in force.
    pub async fn begin_totp_enrolment(&self, user: &User) -> Result<Enrolment, ServiceError> {
        let secret = Secret::generate().to_base32();
        let totp = totp(&secret, &user.email, &self.settings().name)?;
        let otpauth_url = totp.to_url().map_err(|e| ServiceError::Internal(format!("TOTP URL: {e}")))?;
        let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
            .map_err(|e| ServiceError::Internal(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        let user_id = user.id;
        let stored = secret.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut security = tx.user_security_for_update(user_id).await?;
                if security.totp_enabled {
                    return Ok(Err(ServiceError::Conflict(
                        "two-factor sign-in is already on for this account; an admin can reset it".into(),
                    )));
                }
                security.totp_secret = Some(stored);
                tx.update_user_security(user_id, &security).await?;
                Ok(Ok(()))
            })
        })
        .await??;
        Ok(Enrolment { secret_base32: secret, otpauth_url, qr_svg })
    }

    /// The enrolment already started and not yet confirmed, shown again (a reload, or a
    /// mistyped code), so the person need not scan a new QR code.
    pub async fn pending_totp_enrolment(&self, user: &User) -> Result<Option<Enrolment>, ServiceError> {
        let security = self.store.user_security(user.id).await?;
        let Some(secret) = security.totp_secret.filter(|_| !security.totp_enabled) else { return Ok(None) };
        let totp = totp(&secret, &user.email, &self.settings().name)?;
        let otpauth_url = totp.to_url().map_err(|e| ServiceError::Internal(format!("TOTP URL: {e}")))?;
        let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
            .map_err(|e| ServiceError::Internal(format!("QR code: {e}")))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        Ok(Some(Enrolment { secret_base32: secret, otpauth_url, qr_svg }))
    }

    /// Turns two-factor on once the person proves their app shows the right code, marks this
    /// session verified, and returns fresh recovery codes (shown once).
    pub async fn confirm_totp_enrolment(
        &self,
        current: &CurrentSession,
        code: &str,
        ip: Option<String>,
    ) -> Result<Enrolled, ServiceError> {
        let now = crate::now();
        let user = &current.user;
        let security = self.store.user_security(user.id).await?;
        let Some(secret) = security.totp_secret.filter(|_| !security.totp_enabled) else {
            return Err(ServiceError::invalid("code", "start the set-up again: no pending two-factor secret"));
        };
        let Some(step) = totp(&secret, &user.email, &self.settings().name)?
            .check(&code.trim().replace(' ', ""), now.timestamp().max(0) as u64)
        else {
            return Err(ServiceError::invalid("code", "that code is not right; type the 6 digits your app shows now"));
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        let user_id = user.id;
        let (cookie_secret, fresh) = self.fresh_session(&current.session, now);
        let old_hash = current.session.id_hash.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                let mut security = tx.user_security_for_update(user_id).await?;
                security.totp_enabled = true;
                security.totp_last_step = step as i64;
                security.failed_logins = 0;
                security.locked_until = None;
                tx.update_user_security(user_id, &security).await?;
                tx.replace_recovery_codes(user_id, &hashes).await?;
                tx.delete_session(&old_hash).await?;
                tx.insert_session(&fresh).await?;
                tx.insert_audit(&audit::entry(
                    &Actor::User(user_id),
                    "user.totp_enabled",
                    Some(format!("user:{user_id}")),
                    ip,
                    now,
                ))
                .await
            })
        })
        .await?;
        Ok(Enrolled { recovery_codes: codes, cookie_secret })
    }

    /// Whether `client` (an address) has used up its failed attempts for now.
    pub async fn sign_in_throttled(&self, client: &str) -> Result<bool, ServiceError> {
        let now = crate::now().timestamp_millis();
        let hits = self.store.counter(&format!("sign-in:{client}"), now, THROTTLE_WINDOW_MS).await?;
        Ok(hits > SIGN_IN_FAILURES_PER_WINDOW)
    }

    /// Counts a failed attempt from `client`; true when it used up the allowance.
    pub async fn count_sign_in_failure(&self, client: &str) -> Result<bool, ServiceError> {
        let key = format!("sign-in:{client}");
        let now = crate::now().timestamp_millis();
        let hits = frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move { tx.hit_counter(&key, now, THROTTLE_WINDOW_MS).await })
        })
        .await?;
        Ok(hits > SIGN_IN_FAILURES_PER_WINDOW)
    }

    pub(crate) async fn audit_now(
        &self,
        actor: Actor,
        action: &str,
        target: Option<String>,
        ip: Option<String>,
    ) -> Result<(), ServiceError> {
        let entry = audit::entry(&actor, action, target, ip, crate::now());
        frontdesk_store::write(&*self.store, move |tx| Box::pin(async move { tx.insert_audit(&entry).await })).await?;
        Ok(())
    }
}

fn totp(secret_base32: &str, account: &str, issuer: &str) -> Result<Totp, ServiceError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| ServiceError::Internal(format!("stored TOTP secret is not base32: {e}")))?;
    // Authenticator apps split the label on ':'; keep the issuer free of it.
    let issuer = issuer.replace(':', " ");
    Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_account_name(account.to_string())
        .with_issuer(Some(if issuer.trim().is_empty() { "Frontdesk".to_string() } else { issuer }))
        .build()
        .map_err(|e| ServiceError::Internal(format!("TOTP set-up: {e}")))
}

/// `xxxx-xxxx-xxxx`, lowercase letters and digits without look-alikes.
fn new_recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    out
}

/// Recovery codes are compared without case, spaces or dashes.
fn recovery_hash(code: &str) -> String {
    let normalised: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    token_hash(&format!("recovery:{normalised}"))
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> String {
    crate::accounts::hash_password("not a real password, only spends time").unwrap_or_default()
}

/// The TOTP code an authenticator app would show for `secret_base32` at `at` (tests and the
/// browser suite use it to sign in).
pub fn totp_code_at(secret_base32: &str, at: DateTime<Utc>) -> Result<String, ServiceError> {
    Ok(totp(secret_base32, "x@example.org", "Frontdesk")?.generate(at.timestamp().max(0) as u64).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_compared_loosely() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 14);
        assert_eq!(recovery_hash(&code), recovery_hash(&code.to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(&code), recovery_hash(&new_recovery_code()));
    }

    #[test]
    fn totp_codes_check_within_one_step() {
        let secret = Secret::generate().to_base32();
        let now = Utc::now();
        let code = totp_code_at(&secret, now).unwrap();
        let t = totp(&secret, "a@b.org", "Clinic: Main").unwrap();
        assert!(t.check(&code, now.timestamp() as u64).is_some());
        assert!(t.check(&code, now.timestamp() as u64 + 30).is_some());
        assert!(t.check(&code, now.timestamp() as u64 + 120).is_none());
    }
}
