//! Frontdesk's business rules, free of I/O so they can be unit-tested and fuzzed in isolation.
//!
//! Every other layer (store, providers, services, web) depends on these types; nothing here
//! depends on them.

pub mod keywords;
pub mod model;
pub mod phone;
pub mod sms;
pub mod status;

pub use keywords::{Keyword, Revocation, classify_keyword, detect_free_text_revocation};
pub use phone::{E164, PhoneError, Region};
pub use sms::{Encoding, SegmentInfo, analyze, split_segments};
pub use status::{Direction, MessageStatus};
