//! Encryption at rest (DESIGN.md §3 "Encryption at rest").
//!
//! The master key (from configuration or generated on first run) is never used to encrypt
//! anything itself: two keys are derived from it with HMAC-SHA256, one for the AEAD
//! (XChaCha20-Poly1305) and one for blind indexes. A third derivation gives the key id that
//! every sealed value carries, so `frontdesk keys rotate` can tell which key sealed a value
//! and a wrong master key is reported as such instead of as a generic decryption failure.
//!
//! Sealed format (all values, every backend):
//!
//! ```text
//! +---------+----------------+-----------------+------------------------------+
//! | version | key id (u32 BE)| nonce (24 bytes)| ciphertext + Poly1305 tag    |
//! |  1 byte |     4 bytes    |    random       | len(plaintext) + 16 bytes    |
//! +---------+----------------+-----------------+------------------------------+
//! ```
//!
//! The random 192-bit nonce of XChaCha20 makes nonce reuse negligible without any counter
//! state, which matters because several processes may seal with the same key (PostgreSQL).
//! Callers bind each ciphertext to its row and column through the AAD (see [`aad`]), so a
//! ciphertext copied into another row or column fails to open.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

use crate::StoreError;

type HmacSha256 = Hmac<Sha256>;

/// The only sealed-format version so far.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// The 32-byte secret everything else is derived from.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// A fresh random key (operating-system entropy via the thread CSPRNG).
    pub fn generate() -> MasterKey {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        MasterKey(key)
    }

    /// Reads a key written by [`MasterKey::to_base64`] (standard alphabet, padded). Surrounding
    /// whitespace is ignored so a key file with a trailing newline works.
    pub fn from_base64(text: &str) -> Result<MasterKey, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| format!("the master key is not valid base64 ({e}); it should be 44 characters like the output of `openssl rand -base64 32`"))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!("the master key must decode to exactly 32 bytes, but it decodes to {} bytes", bytes.len())
        })?;
        Ok(MasterKey(key))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Seals and opens values with keys derived from one master key.
pub struct Vault {
    key_id: u32,
    cipher: XChaCha20Poly1305,
    index_key: [u8; 32],
    audit_key: [u8; 32],
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

/// HMAC-SHA256(key, label): a one-way derivation, so a leaked derived key does not reveal
/// the master key or its siblings.
fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Vault {
    pub fn new(master: &MasterKey) -> Vault {
        let data_key = derive(&master.0, "frontdesk data key v1");
        let index_key = derive(&master.0, "frontdesk blind index key v1");
        let id_bytes = derive(&master.0, "frontdesk key id v1");
        let audit_key = derive(&master.0, "frontdesk audit chain key v1");
        Vault {
            audit_key,
            key_id: u32::from_be_bytes([id_bytes[0], id_bytes[1], id_bytes[2], id_bytes[3]]),
            cipher: XChaCha20Poly1305::new((&data_key).into()),
            index_key,
        }
    }

    /// Identifies the data key; recorded in every sealed value.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad` (which is not stored).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // XChaCha20-Poly1305 only fails for plaintexts over 256 GiB, far beyond anything
        // this system holds in memory, so this cannot fail for a real input.
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad })
            .expect("XChaCha20-Poly1305 encryption of an in-memory value cannot fail");
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.key_id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Reads the key id a sealed value was sealed under, without opening it.
    pub fn sealed_key_id(sealed: &[u8]) -> Option<u32> {
        (sealed.len() >= HEADER_LEN && sealed[0] == FORMAT_V1)
            .then(|| u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]))
    }

    /// Decrypts a value from [`Vault::seal`]. Every failure (truncated data, unknown format,
    /// another key, tampering, a different `aad`) is [`StoreError::Corrupt`], never a panic.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < HEADER_LEN + TAG_LEN {
            return Err(StoreError::Corrupt(format!(
                "sealed value is {} bytes, shorter than the smallest possible ({})",
                sealed.len(),
                HEADER_LEN + TAG_LEN
            )));
        }
        if sealed[0] != FORMAT_V1 {
            return Err(StoreError::Corrupt(format!("sealed value has unknown format version {}", sealed[0])));
        }
        let key_id = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        if key_id != self.key_id {
            return Err(StoreError::Corrupt(format!(
                "value was sealed under key id {key_id:08x}, but the configured master key has id {:08x}; \
                 is FRONTDESK_MASTER_KEY the key this database was created with?",
                self.key_id
            )));
        }
        let nonce = XNonce::from_slice(&sealed[5..HEADER_LEN]);
        self.cipher.decrypt(nonce, Payload { msg: &sealed[HEADER_LEN..], aad }).map_err(|_| {
            StoreError::Corrupt("sealed value failed authentication (tampered, or moved from another row)".into())
        })
    }

    /// A keyed, deterministic token for looking up a sealed value by equality (for example a
    /// patient by MRN) without storing it in plain text. `purpose` separates the token spaces
    /// so equal values in different fields do not produce equal tokens. Lowercase hex.
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.index_key).expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        mac.update(&[0]);
        mac.update(value.as_bytes());
        to_hex(&mac.finalize().into_bytes())
    }

    /// HMAC-SHA256 of `message` under the audit chain's own derived key (lowercase hex): the
    /// database alone cannot recompute a chain link.
    pub fn audit_mac(&self, message: &[u8]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.audit_key).expect("HMAC accepts keys of any length");
        mac.update(message);
        to_hex(&mac.finalize().into_bytes())
    }
}

/// The associated data binding a sealed column value to its row and column.
pub fn aad(row_id: Uuid, column: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + column.len());
    out.extend_from_slice(row_id.as_bytes());
    out.extend_from_slice(column.as_bytes());
    out
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip() {
        let vault = Vault::new(&MasterKey::generate());
        let sealed = vault.seal(b"hello", b"row-1");
        assert_eq!(sealed.len(), HEADER_LEN + 5 + TAG_LEN);
        assert_eq!(Vault::sealed_key_id(&sealed), Some(vault.key_id()));
        assert_eq!(vault.open(&sealed, b"row-1").unwrap(), b"hello");
        // Two seals of the same text differ (random nonce).
        assert_ne!(vault.seal(b"hello", b"row-1"), sealed);
    }

    #[test]
    fn wrong_aad_key_or_tampering_is_corrupt() {
        let vault = Vault::new(&MasterKey::generate());
        let sealed = vault.seal(b"hello", b"row-1");
        assert!(matches!(vault.open(&sealed, b"row-2"), Err(StoreError::Corrupt(_))));
        let other = Vault::new(&MasterKey::generate());
        assert!(matches!(other.open(&sealed, b"row-1"), Err(StoreError::Corrupt(_))));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(matches!(vault.open(&tampered, b"row-1"), Err(StoreError::Corrupt(_))));
        for len in 0..sealed.len() {
            assert!(vault.open(&sealed[..len], b"row-1").is_err());
        }
    }

    #[test]
    fn master_key_base64_and_debug() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        assert_eq!(MasterKey::from_base64(&format!(" {text}\n")).unwrap(), key);
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&BASE64.encode([1u8; 16])).unwrap_err().contains("32 bytes"));
        assert!(!format!("{key:?}").contains(&text));
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        // Same master key, same derived keys.
        assert_eq!(Vault::new(&key).key_id(), Vault::new(&key).key_id());
    }

    #[test]
    fn blind_index_is_keyed_and_separated() {
        let key = MasterKey::from_bytes([7; 32]);
        let vault = Vault::new(&key);
        let a = vault.blind_index("mrn", "12345");
        assert_eq!(a.len(), 64);
        assert_eq!(a, Vault::new(&key).blind_index("mrn", "12345"));
        assert_ne!(a, vault.blind_index("phone", "12345"));
        assert_ne!(a, Vault::new(&MasterKey::from_bytes([8; 32])).blind_index("mrn", "12345"));
    }
}
