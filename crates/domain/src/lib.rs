//! Frontdesk's business rules, free of I/O so they can be unit-tested and fuzzed in isolation.
//!
//! Every other layer (store, providers, services, web) depends on these types; nothing here
//! depends on them.

pub mod bulk_rules;
pub mod export;
pub mod fhir_chart;
pub mod forms;
pub mod front_door;
pub mod keywords;
pub mod model;
pub mod office_hours;
pub mod patient_import;
pub mod phi;
pub mod phone;
pub mod quiet_hours;
pub mod referrals;
pub mod reports;
pub mod search;
pub mod sms;
pub mod status;
pub mod template;
pub mod triage;
pub mod urgency;

pub use keywords::{Keyword, Revocation, classify_keyword, detect_free_text_revocation};
pub use phi::{PhiFinding, PhiKind, detect_phi};
pub use phone::{E164, PhoneError, Region};
pub use quiet_hours::{is_quiet_time, local_time_label, next_allowed_time, parse_time_zone};
pub use search::{query_terms, terms};
pub use sms::{Encoding, SegmentInfo, analyze, split_segments};
pub use status::{Direction, MessageStatus};
pub use template::{KNOWN_VARIABLES, TemplateError, TemplateValues};
