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

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(msg: &ServiceMsg) -> Vec<u8> {
        postcard::to_stdvec(msg).expect("serializes")
    }

    #[test]
    fn a_payload_read_again_is_the_same_message() {
        let mut parsed = Parsed::default();
        let msg = ServiceMsg::CatchUp { from: 7 };
        let bytes = payload(&msg);
        assert_eq!(parsed.parse(&bytes), Ok(msg.clone()));
        assert_eq!(parsed.parse(&bytes), Ok(msg), "from what it kept");
        assert_eq!(parsed.recent.len(), 1);
    }

    #[test]
    fn a_malformed_payload_is_refused_every_time_and_not_kept() {
        let mut parsed = Parsed::default();
        let mut bytes = payload(&ServiceMsg::CatchUp { from: 7 });
        bytes.push(0);
        for _ in 0..2 {
            assert!(matches!(parsed.parse(&bytes), Err(WireError::Malformed(_))));
        }
        assert!(parsed.recent.is_empty());
    }

    #[test]
    fn it_keeps_the_latest_payloads_only() {
        let mut parsed = Parsed::default();
        for from in 0..(KEPT as u64 + 5) {
            let msg = ServiceMsg::CatchUp { from };
            assert_eq!(parsed.parse(&payload(&msg)), Ok(msg));
        }
        assert_eq!(parsed.recent.len(), KEPT);
        assert_eq!(
            parsed.recent.front().map(|(_, m)| m.clone()),
            Some(ServiceMsg::CatchUp { from: 5 })
        );
    }
}
