//! Bounds that more than one layer holds to: the wire ([`crate::runtime::wire`]) enforces
//! them, and a cluster config ([`crate::cluster_config`]) checks its limits against them.

/// The largest payload of one message, fragmented or not (8 MiB). Every limit on what a
/// message carries (commands, batches, open votes, catch-up) must keep its messages under it.
pub const MAX_MESSAGE: usize = 8 << 20;
