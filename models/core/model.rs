//! The checked model of a protocol: stateright's actor model of its configuration, with the
//! core's reductions ([`super::reductions`]), the protocol's own actions and its properties.

use super::property::PropertySpec;
use super::protocol::{ActorAction, Actors, Protocol, State};
use super::reductions::{crash_matters, within_bounds};
use super::settle::{deliver_and_settle, settle, settle_after, time_out_and_settle};
use super::shape::NetworkKind;
use stateright::actor::{ActorModel, ActorModelAction, Envelope, LossyNetwork, Network};
use stateright::{Model, Property};
use std::cmp::Ordering;
use std::fmt::Debug;

/// A protocol with its properties: what a model is built from.
pub trait Properties: Protocol {
    fn properties() -> &'static [PropertySpec<ProtocolModel<Self>, Self>];
}

/// The model of one configuration of protocol `P`.
#[derive(Clone)]
pub struct ProtocolModel<P: Protocol> {
    pub actors: Actors<P>,
    pub properties: &'static [PropertySpec<ProtocolModel<P>, P>],
    /// List only actions that lead somewhere, in one canonical order. stateright's
    /// simulation records a walk as action indices and replays it on fresh action lists, which
    /// works only if equal states list the same actions in the same order and no listed
    /// action is ignored (it drops those from its list while walking). Exhaustive search
    /// matches actions by fingerprint and is faster without this.
    pub replayable_actions: bool,
}

impl<P: Properties> ProtocolModel<P> {
    /// The model of `cfg`: its network, crashes, ghost history and bounds.
    pub fn new(cfg: P) -> Self {
        let network = match cfg.network() {
            NetworkKind::Duplicating => Network::new_unordered_duplicating([]),
            NetworkKind::NonDuplicating => Network::new_unordered_nonduplicating([]),
            NetworkKind::Ordered => Network::new_ordered([]),
        };
        // A duplicating network loses a message by never delivering it; the others need an
        // explicit drop.
        let lossy = match cfg.network() {
            NetworkKind::Duplicating => LossyNetwork::No,
            NetworkKind::NonDuplicating | NetworkKind::Ordered => LossyNetwork::Yes,
        };
        let agents = cfg.agents();
        let max_crashes = cfg.max_crashes();
        let actors = ActorModel::new(cfg, P::Ghost::default())
            .actors(agents)
            .init_network(network)
            .lossy_network(lossy)
            .max_crashes(max_crashes)
            .record_msg_out(record_sent::<P>)
            .within_boundary(within_bounds::<P>);
        ProtocolModel {
            actors,
            properties: P::properties(),
            replayable_actions: false,
        }
    }
}

impl<P: Protocol> ProtocolModel<P> {
    pub fn cfg(&self) -> &P {
        &self.actors.cfg
    }
}

fn record_sent<P: Protocol>(
    cfg: &P,
    ghost: &P::Ghost,
    env: Envelope<&super::protocol::Msg<P>>,
) -> Option<P::Ghost> {
    cfg.record_sent(ghost, env)
}

/// Deliveries by (source, destination, message), then drops likewise, then the other
/// actions (timeouts, whose set of timers has no fixed order either, and crashes).
pub fn canonical_order<M: Ord + Debug, T: Debug>(
    a: &ActorModelAction<M, T, ()>,
    b: &ActorModelAction<M, T, ()>,
) -> Ordering {
    type Envelope<'a, M> = (usize, usize, &'a M);
    fn key<M, T>(action: &ActorModelAction<M, T, ()>) -> (u8, Option<Envelope<'_, M>>) {
        match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                (0, Some((usize::from(*src), usize::from(*dst), msg)))
            }
            ActorModelAction::Drop(e) => {
                (1, Some((usize::from(e.src), usize::from(e.dst), &e.msg)))
            }
            _ => (2, None),
        }
    }
    key(a)
        .cmp(&key(b))
        .then_with(|| format!("{a:?}").cmp(&format!("{b:?}")))
}

/// The actor model's actions in [`canonical_order`], then the protocol's own, by text.
fn action_order<P: Protocol>(a: &P::Action, b: &P::Action) -> Ordering {
    match (P::as_actor(a), P::as_actor(b)) {
        (Some(x), Some(y)) => canonical_order(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

impl<P: Protocol> Model for ProtocolModel<P> {
    type State = State<P>;
    type Action = P::Action;

    fn init_states(&self) -> Vec<State<P>> {
        self.actors
            .init_states()
            .into_iter()
            .map(|s| settle(&self.actors, s))
            .collect()
    }

    fn actions(&self, state: &State<P>, actions: &mut Vec<P::Action>) {
        let mut of_actors: Vec<ActorAction<P>> = Vec::new();
        self.actors.actions(state, &mut of_actors);
        actions.extend(
            of_actors
                .into_iter()
                .filter(|action| match action {
                    ActorModelAction::Crash(id) => crash_matters(&self.actors, state, *id),
                    _ => true,
                })
                .map(P::lift),
        );
        self.cfg().own_actions(&self.actors, state, actions);
        if self.replayable_actions {
            actions.retain(|a| self.next_state(state, a.clone()).is_some());
            actions.sort_by(action_order::<P>);
        }
    }

    fn next_state(&self, last_state: &State<P>, action: P::Action) -> Option<State<P>> {
        match P::into_actor(action) {
            Ok(ActorModelAction::Deliver { src, dst, msg }) => {
                deliver_and_settle(&self.actors, last_state, Envelope { src, dst, msg })
            }
            Ok(ActorModelAction::Timeout(id, timer)) => {
                time_out_and_settle(&self.actors, last_state, id, timer)
            }
            Ok(action) => self
                .actors
                .next_state(last_state, action)
                .map(|s| settle_after(&self.actors, last_state, s)),
            Err(own) => self.cfg().own_next_state(&self.actors, last_state, own),
        }
    }

    fn format_action(&self, action: &P::Action) -> String {
        match P::as_actor(action) {
            Some(action) => self.actors.format_action(action),
            None => format!("{action:?}"),
        }
    }

    fn format_step(&self, last_state: &State<P>, action: P::Action) -> Option<String> {
        match P::into_actor(action) {
            Ok(action) => self.actors.format_step(last_state, action),
            Err(own) => self
                .next_state(last_state, own)
                .map(|next| format!("{next:#?}")),
        }
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties
            .iter()
            .map(|p| Property {
                expectation: p.expectation.clone(),
                name: p.name,
                condition: p.condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &State<P>) -> bool {
        Model::within_boundary(&self.actors, state)
    }
}
