//! Telnyx webhook signatures (reference/sms.md §2): an Ed25519 signature, base64 in
//! `telnyx-signature-ed25519`, over the bytes `"{telnyx-timestamp}|{raw body}"`, checked with
//! the account's public key (base64, from the Mission Control portal). The timestamp must be
//! within [`TOLERANCE_SECS`] of our clock either way, as the official SDKs allow, so a
//! captured webhook cannot be replayed later.
//!
//! Everything here takes untrusted input without panicking.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// Clock skew allowed between Telnyx and us, in seconds, in either direction.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no telnyx-signature-ed25519 header, so it cannot be from Telnyx")]
    MissingSignature,
    #[error("the request has no telnyx-timestamp header, so its signature cannot be checked")]
    MissingTimestamp,
    #[error("the telnyx-timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error(
        "the telnyx-timestamp is {0} s away from our clock (more than {TOLERANCE_SECS} s): a replayed \
         webhook, or this server's clock is wrong"
    )]
    Stale(i64),
    #[error("the telnyx-signature-ed25519 header is not a base64 Ed25519 signature (64 bytes)")]
    BadSignatureEncoding,
    #[error(
        "the Telnyx signature does not match the body and timestamp; check that \
         FRONTDESK_TELNYX__PUBLIC_KEY is this account's public key"
    )]
    Mismatch,
}

/// The account's Ed25519 public key, parsed once at start-up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", BASE64.encode(self.0.as_bytes()))
    }
}

impl PublicKey {
    /// Reads the base64 key Telnyx shows in the portal (32 bytes once decoded).
    pub fn from_base64(key: &str) -> Result<PublicKey, String> {
        let bytes = BASE64
            .decode(key.trim())
            .map_err(|_| "the Telnyx public key is not base64 (copy it from Mission Control, Keys & Credentials)")?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|_| "the Telnyx public key must be 32 bytes once base64-decoded".to_string())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "the Telnyx public key is not a valid Ed25519 key".into())
    }

    /// The public key of a 32-byte Ed25519 secret (seed); for tests and local tools.
    pub fn from_secret(secret: &[u8; 32]) -> PublicKey {
        PublicKey(SigningKey::from_bytes(secret).verifying_key())
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_bytes())
    }
}

/// The bytes Telnyx signs.
fn signed_bytes(timestamp: &str, raw_body: &[u8]) -> Vec<u8> {
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + raw_body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'|');
    signed.extend_from_slice(raw_body);
    signed
}

/// The signature header Telnyx would send, made with a 32-byte secret (seed). Tests, benches
/// and the fake providers use it; production never signs.
pub fn sign(secret: &[u8; 32], timestamp: &str, raw_body: &[u8]) -> String {
    BASE64.encode(SigningKey::from_bytes(secret).sign(&signed_bytes(timestamp, raw_body)).to_bytes())
}

/// Checks a webhook: the headers' values (absent = `None`), the raw body, and `now` as Unix
/// seconds. The timestamp is checked before the signature, which is checked in full
/// (`verify_strict`: no malleable or small-order signatures).
pub fn verify(
    key: &PublicKey,
    raw_body: &[u8],
    signature: Option<&str>,
    timestamp: Option<&str>,
    now: i64,
) -> Result<(), SignatureError> {
    let signature = signature.map(str::trim).filter(|s| !s.is_empty()).ok_or(SignatureError::MissingSignature)?;
    let timestamp = timestamp.map(str::trim).filter(|s| !s.is_empty()).ok_or(SignatureError::MissingTimestamp)?;
    let at: i64 = timestamp.parse().map_err(|_| SignatureError::BadTimestamp)?;
    let skew = now.saturating_sub(at);
    if skew.saturating_abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let bytes = BASE64.decode(signature).map_err(|_| SignatureError::BadSignatureEncoding)?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| SignatureError::BadSignatureEncoding)?;
    let signature = Signature::from_bytes(&bytes);
    key.0.verify_strict(&signed_bytes(timestamp, raw_body), &signature).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> [u8; 32] {
        rand::random()
    }

    const BODY: &[u8] = br#"{"data":{"event_type":"message.received","payload":{"text":"hi"}}}"#;

    #[test]
    fn a_generated_key_pair_round_trips_and_tampering_fails() {
        let secret = secret();
        let key = PublicKey::from_base64(&PublicKey::from_secret(&secret).to_base64()).unwrap();
        let now = 1_700_000_000;
        let ts = now.to_string();
        let sig = sign(&secret, &ts, BODY);
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&ts), now), Ok(()));
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&ts), now + 299), Ok(()));
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&ts), now - 300), Ok(()));

        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(verify(&key, &tampered, Some(&sig), Some(&ts), now), Err(SignatureError::Mismatch));
        // The timestamp is signed too: moving it breaks the signature.
        let other_ts = (now + 1).to_string();
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&other_ts), now), Err(SignatureError::Mismatch));
        // Another account's key.
        let wrong = PublicKey::from_secret(&self::secret());
        assert_eq!(verify(&wrong, BODY, Some(&sig), Some(&ts), now), Err(SignatureError::Mismatch));
    }

    #[test]
    fn stale_future_and_malformed_headers_are_refused() {
        let secret = secret();
        let key = PublicKey::from_secret(&secret);
        let now = 1_700_000_000;
        let old = (now - 301).to_string();
        let sig = sign(&secret, &old, BODY);
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&old), now), Err(SignatureError::Stale(301)));
        let future = (now + 301).to_string();
        let sig = sign(&secret, &future, BODY);
        assert_eq!(verify(&key, BODY, Some(&sig), Some(&future), now), Err(SignatureError::Stale(-301)));

        let ts = now.to_string();
        let sig = sign(&secret, &ts, BODY);
        assert_eq!(verify(&key, BODY, None, Some(&ts), now), Err(SignatureError::MissingSignature));
        assert_eq!(verify(&key, BODY, Some(&sig), None, now), Err(SignatureError::MissingTimestamp));
        assert_eq!(verify(&key, BODY, Some(&sig), Some("soon"), now), Err(SignatureError::BadTimestamp));
        assert_eq!(
            verify(&key, BODY, Some(&sig), Some("-9223372036854775808"), i64::MAX),
            Err(SignatureError::Stale(i64::MAX))
        );
        assert_eq!(verify(&key, BODY, Some("!!"), Some(&ts), now), Err(SignatureError::BadSignatureEncoding));
        assert_eq!(verify(&key, BODY, Some("AAAA"), Some(&ts), now), Err(SignatureError::BadSignatureEncoding));
        let zeros = BASE64.encode([0u8; 64]);
        assert_eq!(verify(&key, BODY, Some(&zeros), Some(&ts), now), Err(SignatureError::Mismatch));
    }

    #[test]
    fn public_keys_are_checked() {
        assert!(PublicKey::from_base64("not base64!").is_err());
        assert!(PublicKey::from_base64(&BASE64.encode([1u8; 31])).is_err());
        let key = PublicKey::from_secret(&[7u8; 32]);
        assert_eq!(PublicKey::from_base64(&format!(" {} ", key.to_base64())).unwrap(), key);
    }
}
