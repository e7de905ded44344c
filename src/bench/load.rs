//! Closed-loop load: each client thread sends the workload's next command only once the last
//! one is answered, timing each; and the figures of what they timed (throughput, percentiles,
//! latency over time). The same driver runs against every system the bench compares.

use super::percentile;
use super::workload::{Command, Workload};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One answered command: when it was answered (since the load started) and how long it took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    pub at: Duration,
    pub latency: Duration,
}

/// What a load measured.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub completions: Vec<Completion>,
    /// Commands that got no answer (or an error).
    pub failed: u64,
    pub seconds: f64,
}

/// The summary of [`Samples`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub commands: u64,
    pub failed: u64,
    pub seconds: f64,
    pub throughput: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// The commands answered in one interval of a load's run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bucket {
    /// The interval's start, in seconds since the load started.
    pub start_s: f64,
    pub commands: u64,
    pub p50_us: f64,
    pub max_us: f64,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl Samples {
    pub fn figures(&self) -> Figures {
        let mut latencies: Vec<Duration> = self.completions.iter().map(|c| c.latency).collect();
        latencies.sort_unstable();
        let commands = latencies.len() as u64;
        Figures {
            commands,
            failed: self.failed,
            seconds: self.seconds,
            throughput: if self.seconds > 0.0 {
                commands as f64 / self.seconds
            } else {
                0.0
            },
            p50_us: micros(percentile(&latencies, 0.50)),
            p99_us: micros(percentile(&latencies, 0.99)),
            max_us: latencies.last().copied().map_or(0.0, micros),
        }
    }

    /// The samples of the commands sent after `warm_up` (a system's first commands may wait
    /// for connections and caches), timed from its end; failures are those of the whole run.
    pub fn after_warm_up(self, warm_up: Duration) -> Samples {
        Samples {
            completions: self
                .completions
                .into_iter()
                .filter(|c| c.at.saturating_sub(c.latency) >= warm_up)
                .map(|c| Completion {
                    at: c.at - warm_up,
                    latency: c.latency,
                })
                .collect(),
            failed: self.failed,
            seconds: (self.seconds - warm_up.as_secs_f64()).max(0.0),
        }
    }

    /// Latency over time: the commands answered in each `width` of the run, by the time they
    /// were answered (so a command stalled by a failure shows where it ends, with its wait).
    /// Intervals in which nothing was answered are there too, with zero commands.
    pub fn timeline(&self, width: Duration) -> Vec<Bucket> {
        if width.is_zero() {
            return Vec::new();
        }
        let index = |at: Duration| (at.as_nanos() / width.as_nanos()) as usize;
        let last = self.completions.iter().map(|c| index(c.at)).max();
        let mut buckets: Vec<Vec<Duration>> = vec![Vec::new(); last.map_or(0, |l| l + 1)];
        for c in &self.completions {
            buckets[index(c.at)].push(c.latency);
        }
        buckets
            .into_iter()
            .enumerate()
            .map(|(i, mut latencies)| {
                latencies.sort_unstable();
                Bucket {
                    start_s: (width * i as u32).as_secs_f64(),
                    commands: latencies.len() as u64,
                    p50_us: micros(percentile(&latencies, 0.50)),
                    max_us: latencies.last().copied().map_or(0.0, micros),
                }
            })
            .collect()
    }
}

/// What one client thread measured.
type Tally = (Vec<Completion>, u64);

/// Closed-loop clients at work until [`Load::finish`].
pub struct Load {
    start: Instant,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    clients: Vec<JoinHandle<Tally>>,
}

/// The completions a client has room for before its record grows: over 4 s of the fast path
/// at the throughputs measured here, per client.
const COMPLETIONS_RESERVED: usize = 16_384;

/// After a failed command, a client waits this long: a refused connection fails at once, and
/// a client must not spin on it.
const AFTER_FAILURE: Duration = Duration::from_millis(10);

impl Load {
    /// Starts one client thread per executor; client `i` runs `executors[i]` on the workload's
    /// commands for client `i`. An executor returns once its command is answered, or with an
    /// error when it is not.
    pub fn start<E>(executors: Vec<E>, workload: Workload) -> Load
    where
        E: FnMut(&Command) -> Result<(), String> + Send + 'static,
    {
        let start = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let clients = executors
            .into_iter()
            .enumerate()
            .map(|(i, mut execute)| {
                let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
                std::thread::spawn(move || {
                    // Reserved up front: growing it by copies into fresh pages took a few
                    // percent of the CPU the measured servers share with the clients.
                    let mut completions = Vec::with_capacity(COMPLETIONS_RESERVED);
                    let mut failed = 0;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let command = workload.command(i, n);
                        let sent = Instant::now();
                        match execute(&command) {
                            Ok(()) => {
                                completions.push(Completion {
                                    at: start.elapsed(),
                                    latency: sent.elapsed(),
                                });
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                failed += 1;
                                std::thread::sleep(AFTER_FAILURE);
                            }
                        }
                        n += 1;
                    }
                    (completions, failed)
                })
            })
            .collect();
        Load {
            start,
            stop,
            answered,
            clients,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Commands answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Stops the clients (each finishes the command it is waiting for) and gathers their
    /// samples, in the order they were answered.
    pub fn finish(self) -> Result<Samples, String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples = Samples::default();
        for client in self.clients {
            let (completions, failed) = client
                .join()
                .map_err(|_| "a client thread panicked".to_owned())?;
            samples.completions.extend(completions);
            samples.failed += failed;
        }
        samples.seconds = self.start.elapsed().as_secs_f64();
        samples.completions.sort_by_key(|c| c.at);
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, latency_ms: u64) -> Completion {
        Completion {
            at: Duration::from_millis(ms),
            latency: Duration::from_millis(latency_ms),
        }
    }

    #[test]
    fn figures_and_timeline_of_known_samples() {
        let samples = Samples {
            completions: vec![at(10, 1), at(20, 3), at(30, 2), at(350, 300)],
            failed: 2,
            seconds: 0.5,
        };
        let f = samples.figures();
        assert_eq!((f.commands, f.failed, f.throughput), (4, 2, 8.0));
        assert_eq!(
            (f.p50_us, f.p99_us, f.max_us),
            (2000.0, 300_000.0, 300_000.0)
        );
        let timeline = samples.timeline(Duration::from_millis(100));
        let counts: Vec<u64> = timeline.iter().map(|b| b.commands).collect();
        assert_eq!(counts, vec![3, 0, 0, 1], "{timeline:?}");
        assert_eq!(timeline[0].p50_us, 2000.0);
        assert_eq!(timeline[3].start_s, 0.3);
        assert_eq!(timeline[3].max_us, 300_000.0);
        assert_eq!(timeline[1].max_us, 0.0);
        // Sent at 9, 17, 28 and 50 ms: the first two are left out, the others timed from 20 ms.
        let warm = samples.after_warm_up(Duration::from_millis(20));
        assert_eq!(warm.completions, vec![at(10, 2), at(330, 300)]);
        assert_eq!(warm.failed, 2);
        assert!((warm.seconds - 0.48).abs() < 1e-9);
    }

    #[test]
    fn a_load_runs_every_client_on_its_own_commands_until_finished() {
        let refused = Arc::new(AtomicU64::new(0));
        let executors: Vec<_> = (0..3)
            .map(|client| {
                let refused = Arc::clone(&refused);
                move |command: &Command| match command {
                    Command::Put { value, .. } if !value.starts_with(&format!("{client}-")) => {
                        Err(format!("client {client} got {value}"))
                    }
                    // Client 2 fails every get: counted, not timed.
                    Command::Get { .. } if client == 2 => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        Err("no".into())
                    }
                    _ => Ok(()),
                }
            })
            .collect();
        let load = Load::start(executors, Workload { value_size: 8 });
        while load.answered() < 100 || refused.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let samples = load.finish().unwrap();
        assert!(samples.failed >= 1);
        assert_eq!(samples.failed, refused.load(Ordering::Relaxed));
        assert!(samples.completions.len() as u64 >= 100);
        assert!(samples.completions.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(samples.figures().commands, samples.completions.len() as u64);
    }
}
