//! Message statuses and the one rule that moves them: forward only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "inbound" => Ok(Direction::Inbound),
            "outbound" => Ok(Direction::Outbound),
            other => Err(format!("unknown direction {other:?}")),
        }
    }
}

/// Where a message is in its life. Outbound: queued → sending → sent → delivered | undelivered,
/// or failed. Inbound messages are `received` from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Received,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 7] = [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Received,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
        }
    }

    /// Progress order: a status may only be replaced by one of higher rank.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered | MessageStatus::Undelivered | MessageStatus::Failed => 3,
            MessageStatus::Received => 3,
        }
    }

    pub fn is_terminal(self) -> bool {
        self.rank() == 3
    }

    /// Whether a report of `next` should replace `self`. Late or repeated callbacks
    /// (a `sent` after `delivered`, a second `delivered`) change nothing.
    pub fn advances_to(self, next: MessageStatus) -> bool {
        !self.is_terminal() && next.rank() > self.rank()
    }

    /// Reads a provider's status word (Twilio's enum and the common synonyms of the others).
    /// Returns `None` for words that carry no progress for us (`receiving`, `scheduled`...).
    pub fn from_provider_word(word: &str) -> Option<MessageStatus> {
        match word.trim().to_ascii_lowercase().as_str() {
            "accepted" | "queued" | "scheduled" => Some(MessageStatus::Queued),
            "sending" => Some(MessageStatus::Sending),
            "sent" => Some(MessageStatus::Sent),
            "delivered" | "read" => Some(MessageStatus::Delivered),
            "undelivered" | "delivery_failed" | "delivery_unconfirmed" => Some(MessageStatus::Undelivered),
            "failed" | "sending_failed" | "canceled" => Some(MessageStatus::Failed),
            "received" => Some(MessageStatus::Received),
            _ => None,
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown message status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(Queued.advances_to(Sending));
        assert!(Queued.advances_to(Delivered));
        assert!(Sent.advances_to(Undelivered));
        assert!(!Delivered.advances_to(Sent));
        assert!(!Delivered.advances_to(Delivered));
        assert!(!Delivered.advances_to(Undelivered));
        assert!(!Failed.advances_to(Delivered));
        assert!(!Sent.advances_to(Sending));
        assert!(!Sent.advances_to(Sent));
    }

    #[test]
    fn names_round_trip() {
        for st in MessageStatus::ALL {
            assert_eq!(st.as_str().parse::<MessageStatus>().unwrap(), st);
        }
        assert!("bogus".parse::<MessageStatus>().is_err());
        assert_eq!(MessageStatus::from_provider_word("partially_delivered"), None);
        assert_eq!(MessageStatus::from_provider_word("Delivered"), Some(Delivered));
    }
}
