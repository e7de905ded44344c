//! A property of a model and the verdict BP Fast Paxos must get on a configuration.

use stateright::Expectation;
use std::collections::BTreeSet;

/// A property of a model `M`, and the verdict BP Fast Paxos must get on a configuration `C`.
pub struct PropertySpec<M: stateright::Model, C> {
    pub name: &'static str,
    /// The TLA+ name of the property.
    pub tla_name: &'static str,
    pub expectation: Expectation,
    pub condition: fn(&M, &M::State) -> bool,
    /// Whether the property must hold (`Always`) or be reachable (`Sometimes`) on `cfg`.
    pub expected: fn(&C) -> bool,
    pub meaning: &'static str,
}

/// Each protocol's table is a list of rows built by these: the checked condition, whether it
/// must hold or be reached, and on which configurations BP Fast Paxos must get that verdict
/// (every one unless [`Self::expected_when`] narrows it).
impl<M: stateright::Model, C> PropertySpec<M, C> {
    /// A property of `condition`, to be made [`Self::always`] or [`Self::sometimes`].
    pub const fn new(
        name: &'static str,
        tla_name: &'static str,
        condition: fn(&M, &M::State) -> bool,
        meaning: &'static str,
    ) -> Self {
        PropertySpec {
            name,
            tla_name,
            expectation: Expectation::Always,
            condition,
            expected: on_every_configuration,
            meaning,
        }
    }

    /// No reachable state may violate it.
    pub const fn always(mut self) -> Self {
        self.expectation = Expectation::Always;
        self
    }

    /// Some reachable state must satisfy it.
    pub const fn sometimes(mut self) -> Self {
        self.expectation = Expectation::Sometimes;
        self
    }

    /// The same property, expected to hold (`Always`) or be reached (`Sometimes`) only on
    /// the configurations `expected` accepts.
    pub const fn expected_when(mut self, expected: fn(&C) -> bool) -> Self {
        self.expected = expected;
        self
    }
}

fn on_every_configuration<C>(_: &C) -> bool {
    true
}

/// The properties a broken variant must violate (at least one of them), in both models.
pub const VARIANT_MUST_VIOLATE: [&str; 2] = ["agreement", "votes safe"];

/// The safety properties BP Fast Paxos must keep on `cfg` (the `Always` properties expected
/// to hold): a check stops at the first violation of one of them.
pub fn must_hold<M: stateright::Model, C>(
    properties: &[PropertySpec<M, C>],
    cfg: &C,
) -> BTreeSet<&'static str> {
    properties
        .iter()
        .filter(|p| p.expectation == Expectation::Always && (p.expected)(cfg))
        .map(|p| p.name)
        .collect()
}

/// The property named `name`.
pub fn find<'a, M: stateright::Model, C>(
    properties: &'a [PropertySpec<M, C>],
    name: &str,
) -> Option<&'a PropertySpec<M, C>> {
    properties.iter().find(|p| p.name == name)
}
