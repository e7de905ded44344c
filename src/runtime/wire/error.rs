//! Why a datagram was dropped, and how many were for each reason.

use std::fmt::{self, Display};

/// Why a datagram cannot be sent or was dropped on receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than a header and a tag.
    TooShort,
    /// Longer than [`super::MAX_DATAGRAM`], or a payload that would make it so.
    TooLarge,
    /// Not this format, or another version of it.
    BadVersion,
    /// Addressed to another receiver.
    NotForMe,
    /// From a sender that shares no channel key with the receiver.
    UnknownSender,
    /// The tag does not authenticate the datagram under the pair's key.
    BadMac,
    /// Authentic, but the payload does not decode (or encode) as the expected type.
    Malformed(String),
    /// On sending: no channel key for the pair, so nothing can be sent on it.
    NoChannelKey,
    /// An authentic fragment whose length, index and data disagree, or a reassembled
    /// message that is not the one its fragments name.
    BadFragment,
}

impl Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::TooShort => f.write_str("datagram shorter than its header and tag"),
            WireError::TooLarge => f.write_str("datagram larger than the limit"),
            WireError::BadVersion => f.write_str("not a datagram of this format version"),
            WireError::NotForMe => f.write_str("datagram addressed to another receiver"),
            WireError::UnknownSender => f.write_str("datagram from a sender with no channel key"),
            WireError::BadMac => f.write_str("datagram tag does not authenticate it"),
            WireError::Malformed(why) => write!(f, "malformed payload: {why}"),
            WireError::NoChannelKey => f.write_str("no channel key for this pair"),
            WireError::BadFragment => f.write_str("inconsistent fragment"),
        }
    }
}

impl std::error::Error for WireError {}

/// How many datagrams were dropped, for each kind of [`WireError`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts {
    pub too_short: u64,
    pub too_large: u64,
    pub bad_version: u64,
    pub not_for_me: u64,
    pub unknown_sender: u64,
    pub bad_mac: u64,
    pub malformed: u64,
    pub no_channel_key: u64,
    pub bad_fragment: u64,
}

impl DropCounts {
    /// Counts one datagram dropped for `error`.
    pub fn record(&mut self, error: &WireError) {
        let count = match error {
            WireError::TooShort => &mut self.too_short,
            WireError::TooLarge => &mut self.too_large,
            WireError::BadVersion => &mut self.bad_version,
            WireError::NotForMe => &mut self.not_for_me,
            WireError::UnknownSender => &mut self.unknown_sender,
            WireError::BadMac => &mut self.bad_mac,
            WireError::Malformed(_) => &mut self.malformed,
            WireError::NoChannelKey => &mut self.no_channel_key,
            WireError::BadFragment => &mut self.bad_fragment,
        };
        *count = count.saturating_add(1);
    }

    /// Every datagram dropped, whatever the reason.
    pub fn total(&self) -> u64 {
        // Destructured without `..`, so that a new kind cannot be left out of the sum.
        let DropCounts {
            too_short,
            too_large,
            bad_version,
            not_for_me,
            unknown_sender,
            bad_mac,
            malformed,
            no_channel_key,
            bad_fragment,
        } = *self;
        [
            too_short,
            too_large,
            bad_version,
            not_for_me,
            unknown_sender,
            bad_mac,
            malformed,
            no_channel_key,
            bad_fragment,
        ]
        .iter()
        .fold(0u64, |sum, n| sum.saturating_add(*n))
    }
}
