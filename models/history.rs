//! Ghost state for the properties, recorded from the messages agents send (never read by an
//! agent): every vote cast (Voting.tla's `votes`), every PROMISE sent, every ACCEPT proposed,
//! and any authentic-looking PROMISE that a proof carried but no acceptor sent.

use super::config::ModelConfig;
use super::core::ghost::with_new;
use super::core::shape::Shape;
use super::symbolic::SymbolicAuth;
use super::value::ModelValue;
use crate::auth::Mac;
use crate::message::{Msg, Promise, Vote};
use crate::node::peer_of;
use crate::step::Peer;
use crate::types::{AcceptorId, ProposerId, Round};
use serde::{Deserialize, Serialize};
use stateright::actor::Envelope;
use std::collections::BTreeSet;

/// What a PROMISE says, without its authenticator.
pub type PromiseContent = (Round, AcceptorId, Option<Vote<ModelValue>>);

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ghost {
    /// `(a, r, v)`: acceptor `a` voted `v` in round `r` (it sent `LEARN(r, v)`).
    pub votes: BTreeSet<(AcceptorId, Round, ModelValue)>,
    /// Every PROMISE an acceptor sent.
    pub promises: BTreeSet<PromiseContent>,
    /// `(p, r, v)`: proposer `p` sent `ACCEPT(r, v, …)`.
    pub proposals: BTreeSet<(ProposerId, Round, ModelValue)>,
    /// PROMISEs with a valid authenticator, carried in a proof, that no acceptor sent.
    pub forged_promises: BTreeSet<PromiseContent>,
}

fn content(p: &Promise<ModelValue>) -> PromiseContent {
    (p.round, p.acceptor, p.last_vote.clone())
}

impl Ghost {
    /// `record_msg_out` of the model.
    pub fn record_sent(
        cfg: &ModelConfig,
        ghost: &Ghost,
        env: Envelope<&Msg<ModelValue>>,
    ) -> Option<Ghost> {
        match (peer_of(&cfg.cluster(), env.src), env.msg) {
            (Peer::Acceptor(a), Msg::Learn { round, value }) => {
                with_new!(ghost, votes, (a, *round, *value))
            }
            (Peer::Acceptor(_), Msg::Promise(p)) => with_new!(ghost, promises, content(p)),
            (
                Peer::Proposer(p),
                Msg::Accept {
                    round,
                    value,
                    proof,
                },
            ) => {
                let proposal = (p, *round, *value);
                // An ACCEPT goes to every acceptor, so this runs once per copy: the cheap
                // lookups come first, the authenticator (which encodes the PROMISE) last.
                let forged: Vec<PromiseContent> = proof
                    .iter()
                    .filter(|q| q.mac != Mac::FORGED)
                    .map(|q| (q, content(q)))
                    .filter(|(_, c)| {
                        !ghost.promises.contains(c) && !ghost.forged_promises.contains(c)
                    })
                    .filter(|(q, _)| q.is_authentic(&SymbolicAuth))
                    .map(|(_, c)| c)
                    .collect();
                if ghost.proposals.contains(&proposal) && forged.is_empty() {
                    return None;
                }
                let mut next = ghost.clone();
                next.proposals.insert(proposal);
                next.forged_promises.extend(forged);
                Some(next)
            }
            _ => None,
        }
    }
}
