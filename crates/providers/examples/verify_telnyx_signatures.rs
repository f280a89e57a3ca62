//! Oracle helper for `oracles/telnyx-signature/check.py`: reads Telnyx webhook signature
//! cases as JSON from stdin and prints one JSON verdict per case, so our verifier can be
//! checked against the official `telnyx` SDK's Ed25519 verification on many random cases.
//!
//! Input: `[{"id": "...", "public_key": "<base64>", "raw_body": "...", "signature": "..." | null,
//! "timestamp": "..." | null}]`; the clock is the real one, as in the SDK.
//! Output, one line per case: `{"id": "...", "valid": bool, "error": "..." | null}`.

use std::io::Read;

use frontdesk_providers::telnyx::signature::{self, PublicKey};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    public_key: String,
    raw_body: String,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

fn main() {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("verify_telnyx_signatures: cannot read stdin: {e}");
        std::process::exit(2);
    }
    let cases: Vec<Case> = match serde_json::from_str(&input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("verify_telnyx_signatures: stdin is not a JSON array of cases: {e}");
            std::process::exit(2);
        }
    };
    for case in cases {
        let now = chrono::Utc::now().timestamp();
        let result = PublicKey::from_base64(&case.public_key).and_then(|key| {
            signature::verify(&key, case.raw_body.as_bytes(), case.signature.as_deref(), case.timestamp.as_deref(), now)
                .map_err(|e| e.to_string())
        });
        let line = serde_json::json!({
            "id": case.id,
            "valid": result.is_ok(),
            "error": result.err(),
        });
        println!("{line}");
    }
}
