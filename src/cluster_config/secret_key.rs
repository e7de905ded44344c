//! A secret key as the config writes it: hex, at least [`MIN_KEY_BYTES`] bytes.

use crate::auth::{BadKey, HmacSha256, MIN_KEY_BYTES};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Debug, Display};

/// The length of the keys that [`SecretKey::random`] makes: the output size of SHA-256.
pub const GENERATED_KEY_BYTES: usize = 32;

/// A key in hex, kept as written so that a malformed one still parses and
/// [`super::ClusterConfig::validate`] can say which key is wrong.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretKey(String);

/// Why a key is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key is not an even number of hex digits.
    NotHex(String),
    /// The key decodes to fewer than [`MIN_KEY_BYTES`] bytes.
    TooShort { bytes: usize },
}

impl Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::NotHex(why) => write!(f, "it is not hex ({why})"),
            KeyProblem::TooShort { bytes } => write!(
                f,
                "it has {bytes} bytes; at least {MIN_KEY_BYTES} are needed"
            ),
        }
    }
}

impl SecretKey {
    /// A key as written in a config, not yet checked.
    pub fn from_hex(hex: impl Into<String>) -> Self {
        SecretKey(hex.into())
    }

    /// A fresh key of [`GENERATED_KEY_BYTES`] bytes from the operating system's CSPRNG.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; GENERATED_KEY_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(SecretKey(hex::encode(bytes)))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// The key's bytes, if it is hex and long enough.
    pub fn to_bytes(&self) -> Result<Vec<u8>, KeyProblem> {
        let bytes = hex::decode(self.0.trim()).map_err(|e| KeyProblem::NotHex(e.to_string()))?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyProblem::TooShort { bytes: bytes.len() });
        }
        Ok(bytes)
    }

    /// An HMAC-SHA256 authenticator under this key.
    pub fn hmac(&self) -> Result<HmacSha256, BadKey> {
        HmacSha256::from_hex(&self.0)
    }
}

impl Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a key: configs end up in logs.
        f.write_str("SecretKey(..)")
    }
}
