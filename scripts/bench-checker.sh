#!/usr/bin/env bash
# States per second of `check` beside stateright's own single-decree Paxos example, measured
# in the same run on the same machine (CHECKING.md, "Speed of the checker").
#
#   scripts/bench-checker.sh                  # the default model, 2 threads
#   scripts/bench-checker.sh --no-unproposed  # any `check` options
#
# stateright's example is built from the crate source cargo already holds (the version in
# Cargo.lock), copied to a temporary directory; its own dependencies come from crates.io the
# first time. Its build is cached in ~/.cache/bp-fast-paxos/stateright-target. It checks
# Paxos with PAXOS_CLIENTS clients (default 3) on one thread per core (the example's own
# setting); `check` runs with THREADS threads (default 2) and no random walks first.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-2}
clients=${PAXOS_CLIENTS:-3}
version=$(grep -A1 '^name = "stateright"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"stateright-$version" 2>/dev/null | head -1)
if [ -z "$src" ]; then
    echo "bench-checker: stateright $version is not in cargo's registry; run cargo build first" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/stateright"
target="$HOME/.cache/bp-fast-paxos/stateright-target"
echo "building stateright $version's paxos example ..." >&2
# Its own warnings (of a newer compiler than its release) are not ours to read.
CARGO_TARGET_DIR="$target" RUSTFLAGS="-A warnings" cargo build --quiet --release --example paxos \
    --manifest-path "$work/stateright/Cargo.toml"
echo "building check ..." >&2
cargo build --quiet --release --bin check

# states/s from a count and seconds.
rate() { awk -v s="$1" -v t="$2" 'BEGIN { printf "%.0f", s / t }'; }

echo "running stateright's paxos example: check $clients ..." >&2
paxos_out=$("$target/release/examples/paxos" check "$clients" | grep '^Done\.')
paxos_states=$(sed -n 's/.*states=\([0-9]*\),.*/\1/p' <<<"$paxos_out")
paxos_unique=$(sed -n 's/.*unique=\([0-9]*\),.*/\1/p' <<<"$paxos_out")
paxos_secs=$(sed -n 's/.*sec=\([0-9.]*\).*/\1/p' <<<"$paxos_out")

echo "running check --threads $threads $* ..." >&2
check_out=$(target/release/check --json --threads "$threads" --simulate-first 0 "$@" || true)
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$check_out" | head -1; }
check_states=$(field states)
check_unique=$(field unique_states)
check_secs=$(field seconds)
check_ok=$(sed -n 's/.*"ok":\(true\|false\).*/\1/p' <<<"$check_out")

printf '%-48s %12s %10s %9s %10s\n' checker states unique seconds states/s
printf '%-48s %12s %10s %9s %10s\n' "stateright paxos example ($clients clients)" \
    "$paxos_states" "$paxos_unique" "$paxos_secs" "$(rate "$paxos_states" "$paxos_secs")"
printf '%-48s %12s %10s %9.1f %10s\n' "check $* ($threads threads)" \
    "$check_states" "$check_unique" "$check_secs" "$(rate "$check_states" "$check_secs")"
echo "check: every verdict as expected: $check_ok"
