//! The messages the servers read lately, by payload. Every receiver of a broadcast (and of a
//! duplicated datagram) authenticates its own copy with its own key, then reads the same
//! payload bytes: the simulator reads them once and hands each receiver a copy. Reading is a
//! pure function of the bytes, so what the servers get is the same.

use crate::runtime::wire::{self, WireError};
use crate::service::msg::ServiceMsg;
use std::collections::VecDeque;

/// How many payloads are kept: enough to span the deliveries of one broadcast.
const KEPT: usize = 32;

#[derive(Default)]
pub struct Parsed {
    recent: VecDeque<(Vec<u8>, ServiceMsg)>,
}

impl Parsed {
    /// The message `payload` holds, as [`wire::parse`] reads it.
    pub fn parse(&mut self, payload: &[u8]) -> Result<ServiceMsg, WireError> {
        if let Some((_, msg)) = self.recent.iter().find(|(p, _)| p == payload) {
            return Ok(msg.clone());
        }
        let msg: ServiceMsg = wire::parse(payload)?;
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back((payload.to_vec(), msg.clone()));
        Ok(msg)
    }
}
