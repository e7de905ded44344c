//! What a search found: the verdicts, as text or as one JSON object, and the exit status.

use bp_fast_paxos::models::core::model::{Properties, ProtocolModel};
use bp_fast_paxos::models::core::property::VARIANT_MUST_VIOLATE;
use bp_fast_paxos::models::core::report::{Describe, Verdict, verdicts};
use bp_fast_paxos::models::core::symmetry::Symmetric;
use bp_fast_paxos::models::log;
use bp_fast_paxos::models::{ModelConfig, Shape, Variant};
use serde_json::json;
use stateright::Checker;
use std::process::ExitCode;

/// What `check` needs of a protocol's configuration beyond the model core: its JSON.
pub trait Checkable: Properties + Describe + Symmetric + Shape + std::fmt::Display {
    /// The keys of its own in the `--json` report's configuration, beside those of its
    /// [`Shape`] ([`config_json`]).
    fn own_json(&self) -> serde_json::Value;
}

impl Checkable for ModelConfig {
    fn own_json(&self) -> serde_json::Value {
        json!({
            "values": names(self.values()),
            "network": self.network.name(),
            "learners": self.learners.name(),
            "menu": self.menu.name(),
            "crash_pruning": self.prune_lossless_crashes,
        })
    }
}

impl Checkable for log::Config {
    fn own_json(&self) -> serde_json::Value {
        json!({
            "log": true,
            "slots": self.slots,
            "values": names(self.byzantine_values()),
            "learners": if self.client_learner { "client" } else { "abstract" },
            "max_open_vote_bytes": self.max_open_vote_bytes,
            "catch_up": self.catch_up_mode().name(),
        })
    }
}

/// The items as the report writes them.
fn names<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|item| item.to_string()).collect()
}

/// The configuration in the `--json` report: what every [`Shape`] has, the protocol's own
/// keys, and the search `settings`. serde_json's map keeps its keys sorted, so the merged
/// object prints as one literal of all the keys would.
fn config_json<P: Checkable>(cfg: &P, settings: serde_json::Value) -> serde_json::Value {
    let mut json = json!({
        "f": cfg.f(),
        "acceptors": cfg.acceptors(),
        "proposers": cfg.proposers(),
        "byzantine": names(cfg.byzantine()),
        "max_round": cfg.max_round(),
        "max_crashes": cfg.max_crashes(),
        "variant": cfg.variant().map(|v| v.name()),
        "settings": settings,
    });
    if let (serde_json::Value::Object(all), serde_json::Value::Object(own)) =
        (&mut json, cfg.own_json())
    {
        all.extend(own);
    }
    json
}

/// Peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The last line of a human-readable report.
fn conclusion(
    variant: Option<Variant>,
    verdicts: &[Verdict],
    ok: bool,
    inconclusive: usize,
) -> String {
    let Some(variant) = variant else {
        return if ok && inconclusive > 0 {
            format!(
                "Every property settled has its expected verdict; {inconclusive} need a \
                 state this search did not reach."
            )
        } else if ok {
            "Every property has its expected verdict.".to_string()
        } else {
            "Some property does not have its expected verdict.".to_string()
        };
    };
    let violated: Vec<&str> = verdicts
        .iter()
        .filter(|v| VARIANT_MUST_VIOLATE.contains(&v.name) && !v.holds)
        .map(|v| v.name)
        .collect();
    if violated.is_empty() && inconclusive > 0 {
        format!(
            "Variant {} was not rejected by this search, which was not exhaustive: it found no \
             violation of agreement or votes safe.",
            variant.name()
        )
    } else if violated.is_empty() {
        format!(
            "Variant {} was NOT rejected: agreement and votes safe hold in this configuration.",
            variant.name()
        )
    } else {
        format!(
            "Variant {} is rejected: {} violated (counterexample above).",
            variant.name(),
            violated.join(" and ")
        )
    }
}

/// How a search is reported.
pub struct How {
    pub as_json: bool,
    pub settings: serde_json::Value,
    pub mode: &'static str,
    pub exhaustive: bool,
}

/// Whether the search saw a state that settles `verdict`: a violation of an `always`
/// property or an example of a `sometimes` one.
fn found_a_state(verdict: &Verdict) -> bool {
    (verdict.expectation == "sometimes") == verdict.holds
}

/// An unexpected verdict that rests on finding no state, in a search that did not cover
/// every state: it says nothing of the protocol, only of the search's reach.
fn inconclusive(verdict: &Verdict, exhaustive: bool) -> bool {
    !verdict.as_expected() && !exhaustive && !found_a_state(verdict)
}

pub fn report<P: Checkable, C: Checker<ProtocolModel<P>>>(
    cfg: &P,
    checker: &C,
    seconds: f64,
    how: How,
) -> ExitCode {
    let How {
        as_json,
        settings,
        mode,
        exhaustive,
    } = how;
    let verdicts = verdicts(checker);
    let ok = verdicts
        .iter()
        .all(|v| v.as_expected() || inconclusive(v, exhaustive));
    let peak = peak_rss_mib();
    if as_json {
        let out = json!({
            "config": config_json(cfg, settings),
            "mode": mode,
            "states": checker.state_count(),
            "unique_states": checker.unique_state_count(),
            "max_depth": checker.max_depth(),
            "seconds": seconds,
            "peak_rss_mib": peak,
            "ok": ok,
            "properties": verdicts
                .iter()
                .map(|v| verdict_json(v, exhaustive))
                .collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "Done ({mode}): {} states, {} unique, max depth {}, {:.1} s, peak memory {}",
            checker.state_count(),
            checker.unique_state_count(),
            checker.max_depth(),
            seconds,
            peak.map_or("unknown".to_string(), |m| format!("{m:.0} MiB"))
        );
        for v in &verdicts {
            let verdict = match (v.expectation, v.holds) {
                ("sometimes", true) => "reached",
                ("sometimes", false) => "not reached",
                (_, true) => "holds",
                (_, false) => "VIOLATED",
            };
            // A variant's check stops at its first violation: only the rejection matters.
            let (mark, expected) = match (cfg.variant(), v.as_expected()) {
                (Some(_), _) => ("    ", ""),
                (None, true) => ("ok  ", ""),
                (None, false) if inconclusive(v, exhaustive) => {
                    ("--  ", " (inconclusive: the search was not exhaustive)")
                }
                (None, false) => ("FAIL", " (unexpected)"),
            };
            println!(
                "  {mark} {:9} {:30} {verdict}{expected}",
                v.expectation, v.name
            );
        }
        for v in verdicts.iter().filter(|v| v.counterexample.is_some()) {
            let steps = v.counterexample.as_ref().expect("filtered");
            let kind = if v.holds { "Example" } else { "Counterexample" };
            println!("\n{kind} for \"{}\" ({} steps):", v.name, steps.len());
            for s in steps {
                if s.outcome.is_empty() {
                    println!("  {:>3}. {}", s.step, s.action);
                } else {
                    println!("  {:>3}. {}\n       => {}", s.step, s.action, s.outcome);
                }
            }
        }
        let unsettled = verdicts
            .iter()
            .filter(|v| inconclusive(v, exhaustive))
            .count();
        println!("\n{}", conclusion(cfg.variant(), &verdicts, ok, unsettled));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A verdict in the `--json` report, with `"inconclusive": true` when
/// [`inconclusive`].
fn verdict_json(verdict: &Verdict, exhaustive: bool) -> serde_json::Value {
    let mut json = serde_json::to_value(verdict).expect("a verdict serializes");
    if inconclusive(verdict, exhaustive)
        && let serde_json::Value::Object(fields) = &mut json
    {
        fields.insert("inconclusive".into(), true.into());
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(expectation: &'static str, holds: bool, expected: bool) -> Verdict {
        Verdict {
            name: "p",
            tla_name: "P",
            expectation,
            holds,
            expected,
            counterexample: None,
        }
    }

    #[test]
    fn only_a_state_not_found_by_a_partial_search_is_inconclusive() {
        // Not found: a `sometimes` not reached, an `always` expected violated that held.
        for unfound in [
            verdict("sometimes", false, true),
            verdict("always", true, false),
        ] {
            assert!(inconclusive(&unfound, false));
            assert!(
                !inconclusive(&unfound, true),
                "an exhaustive search settles it"
            );
        }
        // Found: a violation, an example; and verdicts as expected are never inconclusive.
        for settled in [
            verdict("always", false, true),
            verdict("sometimes", true, false),
            verdict("sometimes", false, false),
            verdict("always", true, true),
        ] {
            assert!(!inconclusive(&settled, false));
        }
    }
}
