//! `X-Twilio-Signature` verification (reference/sms.md §1), matching the official SDK's
//! `RequestValidator` byte for byte.
//!
//! The signed string is the public URL Twilio called (query included, exactly as sent)
//! followed by every POST parameter as `name` + `value`, names sorted by byte order and the
//! values of a repeated name sorted and de-duplicated, as the SDK does. Empty values still
//! count. The MAC is HMAC-SHA1 keyed with the auth token, or HMAC-SHA256 when
//! `X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256`; base64-encoded.
//!
//! Twilio is inconsistent about default ports, so the URL is tried as given and with the
//! default port (`:443` / `:80`) added or removed. JSON webhooks sign the URL alone; the URL
//! carries `bodySHA256`, the hex SHA-256 of the raw body, which is checked separately.
//!
//! Why the care: a forged webhook could inject messages or fake delivery statuses, and a
//! verifier that rejects real webhooks (wrong URL behind a proxy, Messaging Service pools)
//! loses patients' texts. Both failures get distinct errors so operators can tell them apart.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header Twilio signs requests with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
/// The header announcing a SharedKey signature and its algorithm.
pub const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";
/// The query parameter carrying the body hash of JSON webhooks.
pub const BODY_HASH_PARAM: &str = "bodySHA256";

/// Why a webhook was refused. The web layer answers 403 to all of them and logs the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no X-Twilio-Signature header, so it cannot be from Twilio")]
    Missing,
    #[error(
        "the X-Twilio-Signature does not match this URL and parameters; check that \
         FRONTDESK_PUBLIC_URL is the address Twilio calls and that the auth token is right"
    )]
    Mismatch,
    #[error("the JSON body does not match the bodySHA256 hash in the signed URL; the body was altered")]
    BodyHashMismatch,
    #[error("the JSON webhook URL has no bodySHA256 parameter, so its body cannot be checked")]
    BodyHashMissing,
    #[error(
        "X-Twilio-Webhooks-Signature-Settings names the unsupported algorithm {0:?}; \
         expected HMAC_SHA1 or HMAC_SHA256"
    )]
    UnsupportedAlgorithm(String),
}

/// The MAC Twilio signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// The classic auth-token signature.
    #[default]
    HmacSha1,
    /// Announced by `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`.
    HmacSha256,
}

impl Algorithm {
    /// Reads `X-Twilio-Webhooks-Signature-Settings` as the SDK does: the value of the first
    /// non-empty `algorithm=` item (case-insensitive); absent or empty means HMAC-SHA1.
    pub fn from_settings_header(header: Option<&str>) -> Result<Algorithm, SignatureError> {
        let named = header.unwrap_or("").split(',').find_map(|part| {
            let (name, value) = part.split_once('=')?;
            let value = value.trim();
            (name.trim() == "algorithm" && !value.is_empty()).then_some(value)
        });
        match named {
            None => Ok(Algorithm::HmacSha1),
            Some(v) if v.eq_ignore_ascii_case("HMAC_SHA1") => Ok(Algorithm::HmacSha1),
            Some(v) if v.eq_ignore_ascii_case("HMAC_SHA256") => Ok(Algorithm::HmacSha256),
            Some(v) => Err(SignatureError::UnsupportedAlgorithm(v.chars().take(40).collect())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HMAC_SHA1",
            Algorithm::HmacSha256 => "HMAC_SHA256",
        }
    }
}

/// The signature Twilio would send for a form POST (or, with no params, a GET or JSON POST)
/// to `url`. Used by [`verify`], and by tests and benchmarks to sign requests.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)], algorithm: Algorithm) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // Sorting (name, value) pairs by bytes sorts names, then each name's values; dedup then
    // drops repeated values of one name, exactly like the SDK's `sorted(set(values))`.
    pairs.sort_unstable();
    pairs.dedup();
    let mut signed = Vec::with_capacity(url.len() + params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>());
    signed.extend_from_slice(url.as_bytes());
    for (name, value) in pairs {
        signed.extend_from_slice(name.as_bytes());
        signed.extend_from_slice(value.as_bytes());
    }
    let mac = match algorithm {
        Algorithm::HmacSha1 => hmac_bytes::<Hmac<Sha1>>(auth_token.as_bytes(), &signed),
        Algorithm::HmacSha256 => hmac_bytes::<Hmac<Sha256>>(auth_token.as_bytes(), &signed),
    };
    BASE64.encode(mac)
}

fn hmac_bytes<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex SHA-256 of a raw body, as Twilio puts it in `bodySHA256`.
pub fn body_sha256_hex(raw_body: &[u8]) -> String {
    hex::encode(Sha256::digest(raw_body))
}

/// `url` with `bodySHA256=<hash of raw_body>` appended, as Twilio calls JSON webhooks.
/// Used by tests to build signed JSON requests.
pub fn json_url(url: &str, raw_body: &[u8]) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let mut out = format!("{base}{sep}{BODY_HASH_PARAM}={}", body_sha256_hex(raw_body));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Verifies a form-encoded webhook.
///
/// `public_url` is the URL Twilio called as the public sees it (`FRONTDESK_PUBLIC_URL`, then
/// the path and the query string exactly as received); `params` are the decoded POST parameters in the order
/// received (all of them: Twilio adds new ones without notice); `settings_header` is
/// `X-Twilio-Webhooks-Signature-Settings` if present.
pub fn verify(
    auth_token: &str,
    public_url: &str,
    params: &[(String, String)],
    signature_header: &str,
    settings_header: Option<&str>,
) -> Result<(), SignatureError> {
    let given = signature_header.trim();
    if given.is_empty() {
        return Err(SignatureError::Missing);
    }
    let algorithm = Algorithm::from_settings_header(settings_header)?;
    if signature_matches(auth_token, public_url, params, given, algorithm) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Verifies a JSON webhook: the signature covers the URL alone (which includes
/// `bodySHA256`), and `bodySHA256` must be the hex SHA-256 of `raw_body`.
pub fn verify_json(
    auth_token: &str,
    public_url_with_query: &str,
    raw_body: &[u8],
    signature_header: &str,
    settings_header: Option<&str>,
) -> Result<(), SignatureError> {
    let given = signature_header.trim();
    if given.is_empty() {
        return Err(SignatureError::Missing);
    }
    let algorithm = Algorithm::from_settings_header(settings_header)?;
    if !signature_matches(auth_token, public_url_with_query, &[], given, algorithm) {
        return Err(SignatureError::Mismatch);
    }
    let expected = body_hash_in_url(public_url_with_query).ok_or(SignatureError::BodyHashMissing)?;
    let actual = body_sha256_hex(raw_body);
    // The hash of a body the sender chose is not secret; constant time costs nothing anyway.
    if bool::from(actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

fn signature_matches(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    given: &str,
    algorithm: Algorithm,
) -> bool {
    let mut ok = subtle::Choice::from(0u8);
    for candidate in url_candidates(url) {
        let expected = compute(auth_token, &candidate, params, algorithm);
        ok |= expected.as_bytes().ct_eq(given.as_bytes());
    }
    bool::from(ok)
}

fn body_hash_in_url(url: &str) -> Option<String> {
    let before_fragment = url.split('#').next().unwrap_or(url);
    let (_, query) = before_fragment.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == BODY_HASH_PARAM).map(|(_, v)| v.into_owned())
}

/// The URL as given, plus the same URL with its default port added or removed.
///
/// Works on the string rather than a parsed URL because the signature covers the exact bytes
/// Twilio used; a URL library would normalise escapes, case or empty queries and break it.
pub fn url_candidates(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Some(variant) = toggle_default_port(url) {
        out.push(variant);
    }
    out
}

fn toggle_default_port(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let default_port = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let auth_start = scheme_end + 3;
    let auth_len = url[auth_start..].find(['/', '?', '#']).unwrap_or(url.len() - auth_start);
    let authority = &url[auth_start..auth_start + auth_len];
    // Skip user info (`user:pass@`); its colon is not a port separator.
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    let host_len = if host_port.starts_with('[') {
        host_port.find(']').map_or(host_port.len(), |i| i + 1)
    } else {
        host_port.find(':').unwrap_or(host_port.len())
    };
    if host_len == 0 {
        return None;
    }
    let host_end = auth_start + host_start + host_len; // index in `url` right after the host
    let port_part = &host_port[host_len..];
    let authority_end = auth_start + auth_len;
    match port_part.strip_prefix(':') {
        None if port_part.is_empty() => Some(format!("{}:{default_port}{}", &url[..host_end], &url[host_end..])),
        Some(port) if port == default_port => Some(format!("{}{}", &url[..host_end], &url[authority_end..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_variants() {
        assert_eq!(url_candidates("https://a.example/x?y=1")[1], "https://a.example:443/x?y=1");
        assert_eq!(url_candidates("https://a.example:443/x")[1], "https://a.example/x");
        assert_eq!(url_candidates("http://a.example")[1], "http://a.example:80");
        assert_eq!(url_candidates("http://a.example:80?q")[1], "http://a.example?q");
        assert_eq!(url_candidates("https://u:p@a.example/x")[1], "https://u:p@a.example:443/x");
        assert_eq!(url_candidates("https://[::1]:443/x")[1], "https://[::1]/x");
        assert_eq!(url_candidates("HTTPS://a.example/")[1], "HTTPS://a.example:443/");
        assert_eq!(url_candidates("https://a.example:8443/x").len(), 1);
        assert_eq!(url_candidates("https://a.example:80/x").len(), 1);
        assert_eq!(url_candidates("not a url").len(), 1);
        assert_eq!(url_candidates("https://").len(), 1);
        assert_eq!(url_candidates("https://:443/").len(), 1);
    }

    #[test]
    fn settings_header() {
        assert_eq!(Algorithm::from_settings_header(None), Ok(Algorithm::HmacSha1));
        assert_eq!(Algorithm::from_settings_header(Some("")), Ok(Algorithm::HmacSha1));
        assert_eq!(Algorithm::from_settings_header(Some("key=k1")), Ok(Algorithm::HmacSha1));
        assert_eq!(Algorithm::from_settings_header(Some("key=k1, algorithm = hmac_sha256")), Ok(Algorithm::HmacSha256));
        assert_eq!(
            Algorithm::from_settings_header(Some("algorithm=HMAC_MD5")),
            Err(SignatureError::UnsupportedAlgorithm("HMAC_MD5".into()))
        );
    }

    #[test]
    fn missing_header_and_messages_are_distinct() {
        let r = verify("t", "https://a.example/", &[], "  ", None);
        assert_eq!(r, Err(SignatureError::Missing));
        let msgs: std::collections::HashSet<String> = [
            SignatureError::Missing,
            SignatureError::Mismatch,
            SignatureError::BodyHashMismatch,
            SignatureError::BodyHashMissing,
        ]
        .iter()
        .map(|e| e.to_string())
        .collect();
        assert_eq!(msgs.len(), 4);
    }

    #[test]
    fn json_url_appends_hash() {
        let u = json_url("https://a.example/h?x=1#f", b"{}");
        assert!(u.starts_with("https://a.example/h?x=1&bodySHA256="));
        assert!(u.ends_with("#f"));
        assert_eq!(body_hash_in_url(&u).as_deref(), Some(body_sha256_hex(b"{}").as_str()));
        assert!(json_url("https://a.example/h", b"").contains("/h?bodySHA256="));
    }
}
