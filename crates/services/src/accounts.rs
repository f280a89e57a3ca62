//! Staff accounts and API tokens.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine;
use frontdesk_domain::model::{ApiToken, Role, User, UserId, new_id};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor};
use crate::{ServiceError, Services};

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; staff accounts see PHI).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// API tokens start with this so secret scanners and people can recognise them.
pub const TOKEN_PREFIX: &str = "fd_";

/// What an admin changes about an account.
#[derive(Debug, Clone)]
pub struct UserChange {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// For staff: the departments they are limited to (empty: all).
    pub departments: Vec<frontdesk_domain::model::DepartmentId>,
    pub disabled: bool,
    /// A new password set by the admin (the person is signed out everywhere).
    pub new_password: Option<String>,
    /// Turn two-factor off so the person can enrol again (lost phone).
    pub reset_totp: bool,
}

pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("could not hash the password: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A random secret of `bytes` bytes, URL-safe base64 without padding.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn validate_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err(ServiceError::invalid("email", "write an email address like name@example.org")) }
}

impl Services {
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
        actor: Actor,
    ) -> Result<User, ServiceError> {
        let email = validate_email(email)?;
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "write the person's name"));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ServiceError::invalid("password", format!("use at least {MIN_PASSWORD_CHARS} characters")));
        }
        let now = crate::now();
        let user = User {
            id: new_id(),
            email,
            name,
            role,
            password_hash: hash_password(password)?,
            disabled: false,
            created_at: now,
        };
        let stored = user.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_user(&stored).await?;
                tx.insert_audit(&audit::entry(&actor, "user.create", Some(format!("user:{}", stored.id)), None, now))
                    .await
            })
        })
        .await
        .map_err(|e| match e {
            frontdesk_store::StoreError::Conflict(_) => {
                ServiceError::Conflict("a user with this email already exists".into())
            }
            other => other.into(),
        })?;
        Ok(user)
    }

    /// Creates the first admin when there are no users at all. Returns the account and its
    /// one-time password, to be shown once to the operator.
    pub async fn bootstrap_admin(&self) -> Result<Option<(User, String)>, ServiceError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let password = random_secret(18);
        let user = self.create_user("admin@localhost", "Administrator", Role::Admin, &password, Actor::System).await?;
        Ok(Some((user, password)))
    }

    /// Creates an API token; returns it with the secret, which is never stored or shown again.
    pub async fn create_api_token(
        &self,
        name: &str,
        created_by: Option<UserId>,
        actor: Actor,
    ) -> Result<(ApiToken, String), ServiceError> {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "give the token a name that says who uses it"));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_secret(32));
        let now = crate::now();
        let token = ApiToken {
            id: new_id(),
            name,
            token_hash: token_hash(&secret),
            created_by,
            created_at: now,
            revoked_at: None,
        };
        let stored = token.clone();
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.insert_api_token(&stored).await?;
                tx.insert_audit(&audit::entry(&actor, "token.create", Some(format!("token:{}", stored.id)), None, now))
                    .await
            })
        })
        .await?;
        Ok((token, secret))
    }

    /// Changes a user's name, role and department limits (admins only). An admin cannot
    /// demote or disable themselves, so a practice is never left without one.
    pub async fn update_user(
        &self,
        ctx: &crate::inbox::StaffContext,
        change: UserChange,
        ip: Option<String>,
    ) -> Result<User, ServiceError> {
        ctx.require_admin()?;
        let mut user =
            self.store.user_by_id(change.user_id).await?.ok_or_else(|| ServiceError::NotFound("user".into()))?;
        let name = change.name.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "write the person's name"));
        }
        if user.id == ctx.user.id && (change.role != Role::Admin || change.disabled) {
            return Err(ServiceError::invalid("role", "you cannot remove your own admin role or disable yourself"));
        }
        let known = self.store.list_departments().await?;
        if let Some(bad) = change.departments.iter().find(|d| !known.iter().any(|k| k.id == **d)) {
            return Err(ServiceError::invalid("departments", format!("no department with id {bad}")));
        }
        let mut new_password = None;
        if let Some(p) = change.new_password.as_deref().filter(|p| !p.is_empty()) {
            if p.chars().count() < MIN_PASSWORD_CHARS {
                return Err(ServiceError::invalid("password", format!("use at least {MIN_PASSWORD_CHARS} characters")));
            }
            new_password = Some(hash_password(p)?);
        }
        let sign_out = new_password.is_some() || (change.disabled && !user.disabled) || change.reset_totp;
        user.name = name.to_string();
        user.role = change.role;
        user.disabled = change.disabled;
        if let Some(h) = new_password {
            user.password_hash = h;
        }
        let stored = user.clone();
        let departments = if change.role == Role::Staff { change.departments.clone() } else { Vec::new() };
        let reset_totp = change.reset_totp;
        let now = crate::now();
        let actor = Actor::User(ctx.user.id);
        frontdesk_store::write(&*self.store, move |tx| {
            Box::pin(async move {
                tx.update_user(&stored).await?;
                tx.set_user_departments(stored.id, &departments).await?;
                let mut security = tx.user_security_for_update(stored.id).await?;
                if reset_totp {
                    security.totp_enabled = false;
                    security.totp_secret = None;
                    tx.replace_recovery_codes(stored.id, &[]).await?;
                }
                // An admin's change also lifts a lockout.
                security.failed_logins = 0;
                security.locked_until = None;
                tx.update_user_security(stored.id, &security).await?;
                if sign_out {
                    tx.delete_user_sessions(stored.id).await?;
                }
                let mut entry = audit::entry(&actor, "user.update", Some(format!("user:{}", stored.id)), ip, now);
                entry.detail = Some(format!(
                    "role={} disabled={} password_reset={} totp_reset={}",
                    stored.role,
                    stored.disabled,
                    sign_out && !reset_totp,
                    reset_totp
                ));
                tx.insert_audit(&entry).await
            })
        })
        .await?;
        Ok(user)
    }

    /// Admins create accounts from the dashboard; same rules as the CLI.
    pub async fn add_user(
        &self,
        ctx: &crate::inbox::StaffContext,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
        ip: Option<String>,
    ) -> Result<User, ServiceError> {
        ctx.require_admin()?;
        let _ = ip;
        self.create_user(email, name, role, password, Actor::User(ctx.user.id)).await
    }

    /// The live token for a presented secret, if any.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<ApiToken>, ServiceError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let token = self.store.api_token_by_hash(&token_hash(secret)).await?;
        Ok(token.filter(|t| t.revoked_at.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn emails_are_normalised_or_rejected() {
        assert_eq!(validate_email(" Ana@Example.ORG ").unwrap(), "ana@example.org");
        for bad in ["", "ana", "@x", "a@", "a b@x.org", "a@b@c"] {
            assert!(validate_email(bad).is_err(), "{bad:?} accepted");
        }
    }
}
