//! Provider error codes turned into sentences staff understand, and into the retry decision
//! the dispatcher acts on.
//!
//! Why here and not in the UI: the sentence is stored with a failed message
//! (`Message::error_message`) so the dashboard, exports and the API all show the same words,
//! and the classification decides whether a text is retried, failed, or the contact opted out.

use frontdesk_domain::model::ProviderKind;

/// What to do about a provider's refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Not processed: safe to try again later (HTTP 429, Twilio 20429, 5xx).
    Transient,
    /// The recipient opted out at the provider (Twilio 21610): stop texting them.
    OptedOut,
    /// Refused for good (bad number, landline, trial restrictions...): do not retry.
    Permanent,
    /// An answer we cannot read as success or refusal (say a redirect): the message may have
    /// been taken, so reconcile before retrying.
    Unknown,
}

/// Classifies a Twilio REST answer from its HTTP status and the `code` of its error body.
///
/// The code wins over the status where it is more specific: 20429 is always retryable even if
/// a proxy turned it into another status, and 21610 means "opted out", not just "bad request".
pub fn classify_twilio(http_status: u16, code: Option<i64>) -> ErrorClass {
    match (http_status, code) {
        (_, Some(20429)) | (429, _) => ErrorClass::Transient,
        (_, Some(21610)) => ErrorClass::OptedOut,
        (500..=599, _) => ErrorClass::Transient,
        // 408 Request Timeout: the server gave up before processing the request.
        (408, _) => ErrorClass::Transient,
        (400..=499, _) => ErrorClass::Permanent,
        _ => ErrorClass::Unknown,
    }
}

/// Classifies a Telnyx Messaging v2 answer from its HTTP status and the first `errors[].code`.
///
/// 40300 ("blocked due to STOP message") means the recipient opted out, whatever the status.
pub fn classify_telnyx(http_status: u16, code: Option<&str>) -> ErrorClass {
    match (http_status, code.map(str::trim)) {
        (_, Some(TELNYX_OPTED_OUT)) => ErrorClass::OptedOut,
        (429, _) | (408, _) | (500..=599, _) => ErrorClass::Transient,
        (400..=499, _) => ErrorClass::Permanent,
        _ => ErrorClass::Unknown,
    }
}

/// Classifies a Bandwidth Messaging v2 answer from its HTTP status (its error bodies carry a
/// `type` word, not a code that changes the decision).
pub fn classify_bandwidth(http_status: u16) -> ErrorClass {
    match http_status {
        429 | 408 | 500..=599 => ErrorClass::Transient,
        400..=499 => ErrorClass::Permanent,
        _ => ErrorClass::Unknown,
    }
}

/// Twilio's (and the simulator's) "the recipient opted out" code.
pub const TWILIO_OPTED_OUT: &str = "21610";
/// Telnyx's "blocked due to STOP message" code.
pub const TELNYX_OPTED_OUT: &str = "40300";

/// Whether `code`, reported by `provider` (in a send answer or a status report), means the
/// recipient opted out at the provider or carrier. Bandwidth documents no such code.
pub fn is_opt_out_code(provider: ProviderKind, code: &str) -> bool {
    let code = code.trim();
    match provider {
        ProviderKind::Twilio | ProviderKind::Simulator => code == TWILIO_OPTED_OUT,
        ProviderKind::Telnyx => code == TELNYX_OPTED_OUT,
        ProviderKind::Bandwidth => false,
    }
}

/// A plain-language sentence for a provider error code, for staff who never read API docs.
///
/// Unknown codes get a generic sentence that still names the code, so someone can look it up.
/// The simulator reuses Twilio's codes, so it shares Twilio's sentences.
pub fn explain(provider: ProviderKind, code: &str) -> String {
    let code = code.trim();
    let known = match provider {
        ProviderKind::Twilio | ProviderKind::Simulator => twilio_sentence(code),
        ProviderKind::Telnyx => telnyx_sentence(code),
        ProviderKind::Bandwidth => bandwidth_sentence(code),
    };
    match known {
        Some(sentence) => format!("{sentence} (error {code})"),
        None if code.is_empty() => {
            format!("{} refused the message without saying why.", provider_name(provider))
        }
        None => format!(
            "{} refused the message with error {code}. Look the code up in its documentation, \
             or contact support if this keeps happening.",
            provider_name(provider)
        ),
    }
}

fn provider_name(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Twilio => "Twilio",
        ProviderKind::Telnyx => "Telnyx",
        ProviderKind::Bandwidth => "Bandwidth",
        ProviderKind::Simulator => "The simulator",
    }
}

fn twilio_sentence(code: &str) -> Option<&'static str> {
    Some(match code {
        "20429" => "The texting service is busy right now; the message will be tried again shortly.",
        "21211" => "This phone number is not valid. Check the number with the patient.",
        "21610" => {
            "This patient has opted out of texts (they replied STOP). They must text START \
             to receive messages again."
        }
        "21608" => {
            "The practice's texting account is a trial account and can only text verified \
             numbers. Ask your administrator to upgrade the account."
        }
        "21614" => "This number cannot receive text messages. Call the patient instead.",
        "21635" => "This number is a landline and cannot receive text messages. Call the patient instead.",
        "21619" => "The message was empty. Write some text or attach a file.",
        "30001" => "Too many messages were waiting to go out, so this one was dropped. Try sending it again.",
        "30002" => {
            "The practice's texting account is suspended. Ask your administrator to contact \
             the provider."
        }
        "30003" => {
            "The patient's phone could not be reached (it may be off or out of coverage). \
             Try again later or call."
        }
        "30004" => "The patient's phone or carrier blocked the message.",
        "30005" => {
            "The number is unknown to its carrier or no longer in service. Check the number \
             with the patient."
        }
        "30006" => {
            "The message could not reach this number: it is a landline or its carrier cannot \
             be reached. Call the patient instead."
        }
        "30007" => {
            "The patient's carrier filtered the message (it may look like spam). Rephrase it \
             or call the patient."
        }
        "30008" => "The message was not delivered for an unknown reason. Try again later or call the patient.",
        _ => return None,
    })
}

fn telnyx_sentence(code: &str) -> Option<&'static str> {
    Some(match code {
        "40001" => "This number cannot receive text messages (it may be a landline). Call the patient instead.",
        "40002" | "40003" => "The patient's carrier blocked the message as spam. Rephrase it or call the patient.",
        "40008" => "The message was undeliverable: the patient's phone could not be reached. Try again later or call.",
        "40012" => "This phone number is not valid. Check the number with the patient.",
        "40300" => {
            "This patient has opted out of texts (they replied STOP). They must text START \
             to receive messages again."
        }
        "10009" => {
            "The practice's Telnyx credentials were refused. Ask your administrator to check \
             FRONTDESK_TELNYX__API_KEY."
        }
        _ => return None,
    })
}

fn bandwidth_sentence(code: &str) -> Option<&'static str> {
    Some(match code {
        "4405" => "The patient's carrier could not be reached. Try again later or call the patient.",
        "4432" => "This phone number is not valid. Check the number with the patient.",
        "4470" | "4770" => {
            "The patient's carrier filtered the message (it may look like spam). Rephrase it or call the patient."
        }
        "4720" => "This number cannot receive text messages or is no longer in service. Call the patient instead.",
        "4750" => "The patient's carrier rejected the message. Try again later or call the patient.",
        "9902" | "9999" => "The message was not delivered for an unknown reason. Try again later or call the patient.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_twilio_code_has_its_own_sentence() {
        let codes = [
            "20429", "21211", "21610", "21608", "21614", "21635", "21619", "30001", "30002", "30003", "30004", "30005",
            "30006", "30007", "30008",
        ];
        let mut seen = std::collections::HashSet::new();
        for code in codes {
            let s = explain(ProviderKind::Twilio, code);
            assert!(s.contains(code), "{s}");
            assert!(!s.contains("Look the code up"), "{code} fell back: {s}");
            assert!(seen.insert(s), "duplicate sentence for {code}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_and_name_the_code() {
        let s = explain(ProviderKind::Twilio, "12345");
        assert!(s.contains("12345") && s.contains("Twilio"), "{s}");
        assert!(explain(ProviderKind::Bandwidth, "").contains("without saying why"));
        assert!(explain(ProviderKind::Simulator, "21610").contains("opted out"));
        assert!(explain(ProviderKind::Telnyx, "40300").contains("opted out"));
    }

    #[test]
    fn classification() {
        assert_eq!(classify_twilio(429, None), ErrorClass::Transient);
        assert_eq!(classify_twilio(400, Some(20429)), ErrorClass::Transient);
        assert_eq!(classify_twilio(500, None), ErrorClass::Transient);
        assert_eq!(classify_twilio(503, Some(20503)), ErrorClass::Transient);
        assert_eq!(classify_twilio(400, Some(21610)), ErrorClass::OptedOut);
        assert_eq!(classify_twilio(400, Some(21211)), ErrorClass::Permanent);
        assert_eq!(classify_twilio(404, None), ErrorClass::Permanent);
        assert_eq!(classify_twilio(302, None), ErrorClass::Unknown);
        assert_eq!(classify_twilio(200, None), ErrorClass::Unknown);
        assert_eq!(classify_telnyx(400, Some("40300")), ErrorClass::OptedOut);
        assert_eq!(classify_telnyx(403, Some(" 40300 ")), ErrorClass::OptedOut);
        assert_eq!(classify_telnyx(429, None), ErrorClass::Transient);
        assert_eq!(classify_telnyx(503, Some("10011")), ErrorClass::Transient);
        assert_eq!(classify_telnyx(422, Some("40012")), ErrorClass::Permanent);
        assert_eq!(classify_telnyx(302, None), ErrorClass::Unknown);
        assert_eq!(classify_bandwidth(429), ErrorClass::Transient);
        assert_eq!(classify_bandwidth(502), ErrorClass::Transient);
        assert_eq!(classify_bandwidth(400), ErrorClass::Permanent);
        assert_eq!(classify_bandwidth(200), ErrorClass::Unknown);
    }

    #[test]
    fn opt_out_codes_are_per_provider() {
        assert!(is_opt_out_code(ProviderKind::Twilio, "21610"));
        assert!(is_opt_out_code(ProviderKind::Simulator, "21610"));
        assert!(is_opt_out_code(ProviderKind::Telnyx, " 40300"));
        assert!(!is_opt_out_code(ProviderKind::Telnyx, "21610"));
        assert!(!is_opt_out_code(ProviderKind::Twilio, "40300"));
        assert!(!is_opt_out_code(ProviderKind::Bandwidth, "21610"));
        assert!(explain(ProviderKind::Bandwidth, "4720").contains("4720"));
        assert!(!explain(ProviderKind::Bandwidth, "4720").contains("Look the code up"));
    }
}
