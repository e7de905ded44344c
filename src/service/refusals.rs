//! Why an acceptor did not vote for an ACCEPT of the leader it trusts, logged at debug level:
//! a refused vote is safe but costs liveness, and a log that stops deciding is diagnosed by
//! which bound refused which slot.

use super::msg::SlotValue;
use crate::auth::HmacSha256;
use crate::log::acceptor::{LogAcceptor, LogAcceptorState};
use crate::log::message::LogMsg;
use crate::step::Peer;
use crate::types::Value;

/// Logs `msg` if it is an ACCEPT from the leader of the acceptor's round that its bounds
/// refuse (the slot window or the byte bounds); other ignored messages are not refusals.
pub fn log_refused(
    acceptor: &LogAcceptor<HmacSha256>,
    log: &LogAcceptorState<SlotValue>,
    from: Peer,
    msg: &LogMsg<SlotValue>,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let (LogMsg::Accept {
        round, slot, value, ..
    }
    | LogMsg::AcceptByDigest {
        round, slot, value, ..
    }) = msg
    else {
        return;
    };
    let leader = Peer::Proposer(acceptor.cluster.leader(*round));
    if from != leader || *round != log.rnd() {
        return;
    }
    if matches!(msg, LogMsg::AcceptByDigest { .. }) && log.verified_round() != Some(*round) {
        tracing::debug!(
            acceptor = acceptor.id.0,
            round,
            slot,
            prefix = log.learner().decided_prefix(),
            "ACCEPT by digest ignored: its NEWROUND not verified here"
        );
        return;
    }
    let prefix = log.learner().decided_prefix();
    let open = open_vote_bytes(log, prefix);
    let outside_window = *slot >= prefix.saturating_add(acceptor.window);
    let over_bytes = !acceptor.limits.admit(log, *slot, value);
    if outside_window || over_bytes {
        tracing::debug!(
            acceptor = acceptor.id.0,
            round,
            slot,
            prefix,
            base = log.decided_base(),
            value_bytes = value.encoded_len(),
            open_vote_bytes = open,
            outside_window,
            "ACCEPT refused"
        );
    }
}

/// Logs the slots of a NEWROUND's plan that the acceptor, once it took the NEWROUND, holds no
/// vote of that round for, with its state after the step.
pub fn log_unvoted_plan(
    acceptor: &LogAcceptor<HmacSha256>,
    log: &LogAcceptorState<SlotValue>,
    msg: &LogMsg<SlotValue>,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let LogMsg::NewRound { round, accepts, .. } = msg else {
        return;
    };
    let unvoted: Vec<_> = accepts
        .iter()
        .filter(|(slot, _)| log.votes().get(slot).is_none_or(|v| v.round != *round))
        .map(|(slot, _)| *slot)
        .collect();
    if unvoted.is_empty() {
        return;
    }
    let prefix = log.learner().decided_prefix();
    let open = open_vote_bytes(log, prefix);
    tracing::debug!(
        acceptor = acceptor.id.0,
        round,
        rnd = log.rnd(),
        prefix,
        base = log.decided_base(),
        open_vote_bytes = open,
        planned = accepts.len(),
        first_planned = accepts.first().map(|(s, _)| *s),
        unvoted = unvoted.len(),
        first_unvoted = unvoted.first().copied(),
        "NEWROUND slots not voted"
    );
}

/// The bytes of the votes at or above `prefix`, as the open-vote bound counts them.
fn open_vote_bytes(log: &LogAcceptorState<SlotValue>, prefix: crate::log::Slot) -> usize {
    log.votes()
        .range(prefix..)
        .map(|(_, vote)| vote.value.encoded_len())
        .sum()
}

/// Logs a NEWROUND the acceptor took (`took`: the step changed its state) or ignored, with
/// its round and its state after: a NEWROUND that never arrives whole stops its round.
pub fn log_new_round(
    acceptor: &LogAcceptor<HmacSha256>,
    log: &LogAcceptorState<SlotValue>,
    msg: &LogMsg<SlotValue>,
    took: bool,
) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let LogMsg::NewRound { round, accepts, .. } = msg else {
        return;
    };
    tracing::debug!(
        acceptor = acceptor.id.0,
        round,
        rnd = log.rnd(),
        took,
        verified = log.verified_round() == Some(*round),
        planned = accepts.len(),
        "NEWROUND received"
    );
}
