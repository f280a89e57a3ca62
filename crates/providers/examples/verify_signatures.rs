//! Oracle helper for `oracles/twilio-signature/check.py`: reads signature cases as JSON from
//! stdin and prints one JSON result per case, so our verifier can be checked against the
//! official `twilio` SDK's `RequestValidator` on many random cases.
//!
//! Input: `[{"id": "...", "kind": "form"|"json", "url": "...", "token": "...",
//! "algorithm": "HMAC_SHA1"|"HMAC_SHA256", "params": [[name, value], ...] | null,
//! "raw_body": "..." | null, "signature": "..."}]`.
//! Output, one line per case: `{"id": "...", "valid": bool, "error": "..." | null,
//! "computed": "..." | null}` (`computed` is our signature over the case's URL and params).

use std::io::Read;

use frontdesk_providers::twilio::signature::{self, Algorithm};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    id: String,
    kind: String,
    url: String,
    token: String,
    algorithm: String,
    #[serde(default)]
    params: Option<Vec<(String, String)>>,
    #[serde(default)]
    raw_body: Option<String>,
    signature: String,
}

fn main() {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("verify_signatures: cannot read stdin: {e}");
        std::process::exit(2);
    }
    let cases: Vec<Case> = match serde_json::from_str(&input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("verify_signatures: stdin is not a JSON array of cases: {e}");
            std::process::exit(2);
        }
    };
    for case in cases {
        let settings = format!("key=webhooks_sharedkey_oracle,algorithm={}", case.algorithm);
        let settings = (case.algorithm != "HMAC_SHA1").then_some(settings.as_str());
        let params = case.params.unwrap_or_default();
        let result = match case.kind.as_str() {
            "json" => signature::verify_json(
                &case.token,
                &case.url,
                case.raw_body.as_deref().unwrap_or("").as_bytes(),
                &case.signature,
                settings,
            ),
            _ => signature::verify(&case.token, &case.url, &params, &case.signature, settings),
        };
        let computed = Algorithm::from_settings_header(settings)
            .ok()
            .map(|a| signature::compute(&case.token, &case.url, &params, a));
        let line = serde_json::json!({
            "id": case.id,
            "valid": result.is_ok(),
            "error": result.err().map(|e| e.to_string()),
            "computed": computed,
        });
        println!("{line}");
    }
}
