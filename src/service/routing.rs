//! The service's actor: each input of a server goes to its side by role, the acceptor's
//! ([`super::acceptor`]) or the proposer's ([`super::proposer`]). Both reach the log only
//! through its face ([`crate::log::face`]) and carry out its steps with the log actor's own
//! [`crate::protocol::node::Node::apply`].

use super::acceptor::AcceptorSide;
use super::msg::ServiceMsg;
use super::node::{ServiceNode, ServiceState, ServiceTimer};
use super::proposer::ProposerSide;
use super::proposer_store::ServerDurable;
use crate::log::node::LogRole;
use stateright::actor::{Actor, Id, Out};
use std::borrow::Cow;

impl ServiceNode {
    /// The acceptor side of this server, if it is an acceptor.
    fn acceptor_side(&self, id: Id) -> Option<AcceptorSide<'_>> {
        match &self.log.role {
            LogRole::Acceptor(acceptor) => Some(AcceptorSide {
                node: self,
                acceptor,
                id,
            }),
            _ => None,
        }
    }

    /// The proposer side of this server: every server that is not an acceptor.
    fn proposer_side(&self, id: Id) -> ProposerSide<'_> {
        let proposer = match &self.log.role {
            LogRole::Proposer(proposer) => Some(proposer),
            _ => None,
        };
        ProposerSide {
            node: self,
            proposer,
            id,
        }
    }
}

impl Actor for ServiceNode {
    type Msg = ServiceMsg;
    type State = ServiceState;
    type Timer = ServiceTimer;
    type Storage = ServerDurable;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self.acceptor_side(id) {
            Some(acceptor) => acceptor.start(storage.as_ref().and_then(|s| s.acceptor()), o),
            None => self
                .proposer_side(id)
                .start(storage.as_ref().and_then(|s| s.proposer()), o),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (state.to_mut(), self.acceptor_side(id)) {
            (ServiceState::Acceptor { log, replica }, Some(side)) => {
                side.on_msg(log, replica, src, msg, o)
            }
            (ServiceState::Proposer { log, queue }, None) => {
                self.proposer_side(id).on_msg(log, queue, src, msg, o)
            }
            // A state always matches its role (`on_start` made it).
            _ => {}
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        match (state.to_mut(), self.acceptor_side(id)) {
            (ServiceState::Acceptor { log, replica }, Some(side)) => {
                side.on_timeout(log, replica, timer, o)
            }
            (ServiceState::Proposer { log, queue }, None) => {
                let side = self.proposer_side(id);
                match timer {
                    ServiceTimer::Linger => side.on_linger_over(log, queue, o),
                    _ => side.on_tick(queue, o),
                }
            }
            _ => {}
        }
    }
}
