//! The model's authenticator. PROTOCOL.md §3 lets the model abstract HMAC as "a proposer can
//! only carry PROMISEs that an acceptor really sent": Byzantine proposers here never call the
//! authenticator, so any injective function of the encoded PROMISE serves. This one copies the
//! encoding (26 bytes for the model's values) into the authenticator, so that checking a proof
//! and canonicalising a state under symmetry stay cheap. The real HMAC-SHA256
//! ([`crate::auth::HmacSha256`]) is what the runtime uses.

use crate::auth::{Authenticator, Mac};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SymbolicAuth;

/// Marks a symbolic authenticator, so that it is never [`Mac::FORGED`].
const MARK: u8 = 0xA5;

impl Authenticator for SymbolicAuth {
    fn authenticate(&self, encoded: &[u8]) -> Mac {
        let mut mac = [0u8; 32];
        mac[31] = MARK;
        if encoded.len() <= 31 {
            mac[..encoded.len()].copy_from_slice(encoded);
        } else {
            // Longer encodings (not produced by the model's values) fold into the bytes.
            for (i, byte) in encoded.iter().enumerate() {
                mac[i % 31] = mac[i % 31].rotate_left(3) ^ byte;
            }
        }
        Mac(mac)
    }
}
