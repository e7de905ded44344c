//! Ghost state of the log model, recorded from the messages agents send (never read by an
//! agent): every vote cast, every PROMISE sent, every ACCEPT proposed.

use super::config::{Config, SlotValue};
use crate::log::Slot;
use crate::log::message::{LogMsg, SlotVote};
use crate::models::core::ghost::with_new;
use crate::models::core::shape::Shape;
use crate::node::peer_of;
use crate::step::Peer;
use crate::types::{AcceptorId, ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::Envelope;
use std::collections::BTreeSet;

/// What a PROMISE says, without its authenticator: round, acceptor, decided prefix, votes.
pub type PromiseContent = (Round, AcceptorId, Slot, Vec<SlotVote<SlotValue>>);

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ghost {
    /// `(a, r, s, v)`: acceptor `a` voted `v` in slot `s`, round `r` (it sent a LEARN).
    pub votes: BTreeSet<(AcceptorId, Round, Slot, SlotValue)>,
    pub promises: BTreeSet<PromiseContent>,
    /// `(p, r, s, v)`: proposer `p` sent `ACCEPT(r, s, v, …)`.
    pub proposals: BTreeSet<(ProposerId, Round, Slot, SlotValue)>,
}

impl Ghost {
    /// `record_msg_out` of the model.
    pub fn record_sent(
        cfg: &Config,
        ghost: &Ghost,
        env: Envelope<&LogMsg<SlotValue>>,
    ) -> Option<Ghost> {
        match (peer_of(&cfg.cluster(), env.src), env.msg) {
            (Peer::Acceptor(a), LogMsg::Learn { round, slot, value }) => {
                with_new!(ghost, votes, (a, *round, *slot, *value))
            }
            (Peer::Acceptor(_), LogMsg::Promise(p)) => with_new!(
                ghost,
                promises,
                (p.round, p.acceptor, p.decided_prefix, p.votes.to_vec())
            ),
            (Peer::Proposer(p), LogMsg::NewRound { round, accepts, .. }) => {
                let mut next = ghost.clone();
                for (slot, value) in accepts.iter() {
                    next.proposals.insert((p, *round, *slot, *value));
                }
                (next.proposals.len() > ghost.proposals.len()).then_some(next)
            }
            (
                Peer::Proposer(p),
                LogMsg::Accept {
                    round, slot, value, ..
                }
                | LogMsg::AcceptByDigest {
                    round, slot, value, ..
                },
            ) => {
                with_new!(ghost, proposals, (p, *round, *slot, *value))
            }
            _ => None,
        }
    }
}
