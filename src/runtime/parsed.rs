//! The messages a receiver read lately, by payload. Every receiver of a broadcast (and of a
//! duplicated datagram) authenticates its own copy with its own key, then reads payload bytes
//! equal to the other copies': an acceptor gets the same LEARN from every other acceptor. The
//! payload is read once and each later copy is a clone of what was read. Reading is a pure
//! function of the bytes, so the receiver gets the same message either way; only the cost of
//! reading (a batch's commands, allocated one by one) is saved.

use super::wire::{self, WireError};
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::ops::RangeInclusive;

pub struct Parsed<M> {
    recent: VecDeque<(Vec<u8>, M)>,
    /// How many payloads are kept.
    kept: usize,
    /// Payloads outside these lengths are read each time: shorter ones cost less to read than
    /// to keep, and longer ones (a reassembled message of many fragments) would make what is
    /// kept large.
    lengths: RangeInclusive<usize>,
}

impl<M: DeserializeOwned + Clone> Parsed<M> {
    /// Keeps the `kept` latest payloads whose lengths are within `lengths`.
    pub fn new(kept: usize, lengths: RangeInclusive<usize>) -> Self {
        Parsed {
            recent: VecDeque::with_capacity(kept),
            kept,
            lengths,
        }
    }

    /// The message `payload` holds, as [`wire::parse`] reads it.
    pub fn parse(&mut self, payload: &[u8]) -> Result<M, WireError> {
        if !self.lengths.contains(&payload.len()) || self.kept == 0 {
            return wire::parse(payload);
        }
        if let Some((_, msg)) = self.recent.iter().find(|(p, _)| p == payload) {
            return Ok(msg.clone());
        }
        let msg: M = wire::parse(payload)?;
        if self.recent.len() == self.kept {
            self.recent.pop_front();
        }
        self.recent.push_back((payload.to_vec(), msg.clone()));
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::msg::ServiceMsg;

    fn payload(msg: &ServiceMsg) -> Vec<u8> {
        postcard::to_stdvec(msg).expect("serializes")
    }

    #[test]
    fn a_payload_read_again_is_the_same_message() {
        let mut parsed = Parsed::new(4, 0..=usize::MAX);
        let msg = ServiceMsg::CatchUp { from: 7 };
        let bytes = payload(&msg);
        assert_eq!(parsed.parse(&bytes), Ok(msg.clone()));
        assert_eq!(parsed.parse(&bytes), Ok(msg), "from what it kept");
        assert_eq!(parsed.recent.len(), 1);
    }

    #[test]
    fn a_malformed_payload_is_refused_every_time_and_not_kept() {
        let mut parsed = Parsed::<ServiceMsg>::new(4, 0..=usize::MAX);
        let mut bytes = payload(&ServiceMsg::CatchUp { from: 7 });
        bytes.push(0);
        for _ in 0..2 {
            assert!(matches!(parsed.parse(&bytes), Err(WireError::Malformed(_))));
        }
        assert!(parsed.recent.is_empty());
    }

    #[test]
    fn it_keeps_the_latest_payloads_only() {
        let mut parsed = Parsed::new(4, 0..=usize::MAX);
        for from in 0..9 {
            let msg = ServiceMsg::CatchUp { from };
            assert_eq!(parsed.parse(&payload(&msg)), Ok(msg));
        }
        assert_eq!(parsed.recent.len(), 4);
        assert_eq!(
            parsed.recent.front().map(|(_, m)| m.clone()),
            Some(ServiceMsg::CatchUp { from: 5 })
        );
    }

    #[test]
    fn payloads_too_short_or_too_long_are_read_each_time_and_not_kept() {
        let mut parsed = Parsed::new(4, 64..=200);
        let short = ServiceMsg::CatchUp { from: 7 };
        let padded = ServiceMsg::Snapshot(crate::service::msg::Part {
            applied: 3,
            log_digest: [1; 32],
            store_digest: [2; 32],
            total: 9,
            offset: 0,
            bytes: vec![5; 9],
        });
        assert!(payload(&short).len() < 64);
        assert!((64..=200).contains(&payload(&padded).len()));
        let long = ServiceMsg::Snapshot(crate::service::msg::Part {
            bytes: vec![5; 300],
            ..match &padded {
                ServiceMsg::Snapshot(part) => part.clone(),
                _ => unreachable!(),
            }
        });
        assert!(payload(&long).len() > 200);
        for msg in [&short, &padded, &long, &short, &padded, &long] {
            assert_eq!(parsed.parse(&payload(msg)).as_ref(), Ok(msg));
        }
        assert_eq!(
            parsed.recent.len(),
            1,
            "only the payload within the lengths, once"
        );
    }
}
