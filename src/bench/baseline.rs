//! A baseline for `bpfp bench`: stateright's own `examples/paxos.rs`, built at bench time
//! from the stateright package in the local cargo registry and driven over UDP.
//!
//! The example is *Single Decree* Paxos: its register takes exactly one value. A server
//! answers the first `Put` it sees once that value is decided, and after the decision it
//! answers only `Get`s (every later `Put` is dropped without a reply; a `Get` before the
//! decision is dropped too). So the run decides one `Put` first, then the measured window is
//! closed-loop `Get`s: it measures stateright's UDP actor runtime (one JSON datagram each way,
//! served from the decided state), not a consensus round per operation.
//!
//! Wire format (`spawn` subcommand, no ordered reliable link): one JSON value per datagram,
//! serde's external tagging of `RegisterMsg<u64, char, PaxosMsg>`: `{"Put":[id,"X"]}`,
//! `{"Get":id}`, answered by `{"PutOk":id}` and `{"GetOk":[id,"X"]}`, sent back to the
//! requesting socket. The servers listen on 127.0.0.1:3000, 3001 and 3002 (hard-coded).

use super::percentile;
use std::fs;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What one baseline run measured (the `Get` window, see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineFigures {
    pub ops: u64,
    pub seconds: f64,
    /// Operations per second.
    pub throughput: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Requests not answered within [`REQUEST_TIMEOUT`], each retried with a new request id.
    pub timeouts: u64,
}

/// Either figures or why there are none: the baseline is optional, so it never fails the bench.
#[derive(Clone, Debug, PartialEq)]
pub enum BaselineOutcome {
    Ran(BaselineFigures),
    Skipped(String),
}

/// The ports `examples/paxos.rs spawn` binds on 127.0.0.1; it cannot be told otherwise.
pub const PORTS: [u16; 3] = [3000, 3001, 3002];
/// How long a client waits for a reply before retrying with a new request id.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the servers get to bind their ports, and then to decide the one `Put`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// The lockfile this crate was built with, so the example matches the stateright we use.
const CARGO_LOCK: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"));
const BIN_NAME: &str = "stateright-paxos";

/// Builds stateright's Paxos example under `work_dir`, spawns its three servers and drives
/// them with `clients` closed-loop clients for `duration`. Never panics: any failure is
/// `Skipped` with the reason.
pub fn run_stateright_paxos(
    work_dir: &Path,
    clients: usize,
    duration: Duration,
) -> BaselineOutcome {
    match run(work_dir, clients, duration) {
        Ok(figures) => BaselineOutcome::Ran(figures),
        Err(why) => BaselineOutcome::Skipped(why),
    }
}

fn run(work_dir: &Path, clients: usize, duration: Duration) -> Result<BaselineFigures, String> {
    if clients == 0 {
        return Err("no clients asked for".to_owned());
    }
    let version = stateright_version(CARGO_LOCK)?;
    let package = find_stateright_package(&version)?;
    let binary = build_example(work_dir, &package, &version)?;
    ensure_ports_free()?;
    let mut servers = Servers::spawn(&binary, work_dir)?;
    servers.wait_until_bound()?;
    let decided_in = decide_one_put()?;
    eprintln!("bench: stateright paxos decided its one Put in {decided_in:?}; measuring Gets");
    let figures = drive_gets(clients, duration)?;
    // A server that died mid-run makes the figures meaningless.
    servers.check_alive()?;
    Ok(figures)
}

/// The stateright version pinned in `lock` (a `Cargo.lock`).
fn stateright_version(lock: &str) -> Result<String, String> {
    let table: toml::Table =
        toml::from_str(lock).map_err(|e| format!("this crate's Cargo.lock does not parse: {e}"))?;
    table
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some("stateright"))
        .find_map(|p| p.get("version").and_then(|v| v.as_str()).map(str::to_owned))
        .ok_or_else(|| "stateright is not in this crate's Cargo.lock".to_owned())
}

/// `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo"))
}

/// The unpacked `stateright-<version>` package holding `examples/paxos.rs`, in any index dir.
fn find_stateright_package(version: &str) -> Result<PathBuf, String> {
    let not_found =
        || format!("examples/paxos.rs of stateright {version} not found in the cargo registry");
    let src = cargo_home()
        .ok_or_else(not_found)?
        .join("registry")
        .join("src");
    let mut index_dirs: Vec<PathBuf> = fs::read_dir(&src)
        .map_err(|_| not_found())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    // Deterministic choice when several index dirs hold the package.
    index_dirs.sort();
    index_dirs
        .into_iter()
        .map(|dir| dir.join(format!("stateright-{version}")))
        .find(|pkg| pkg.join("examples").join("paxos.rs").is_file())
        .ok_or_else(not_found)
}

/// The scratch project's manifest: stateright pinned, plus what the example `use`s, at the
/// versions stateright itself declares (its dev-dependencies build its examples).
fn scratch_manifest(stateright_manifest: &str, version: &str) -> Result<String, String> {
    let table: toml::Table = toml::from_str(stateright_manifest)
        .map_err(|e| format!("stateright {version}'s Cargo.toml does not parse: {e}"))?;
    let dep_version = |section: &str, name: &str| {
        table
            .get(section)
            .and_then(|s| s.get(name))
            .and_then(|d| {
                d.as_str()
                    .or_else(|| d.get("version").and_then(|v| v.as_str()))
            })
            .map(str::to_owned)
    };
    let mut lines = vec![
        format!("stateright = \"={version}\""),
        format!(
            "serde = {{ version = \"{}\", features = [\"derive\"] }}",
            dep_version("dependencies", "serde").unwrap_or_else(|| "1".to_owned())
        ),
        format!(
            "serde_json = \"{}\"",
            dep_version("dependencies", "serde_json").unwrap_or_else(|| "1".to_owned())
        ),
    ];
    // env_logger, pico-args, num_cpus (and any other example helper).
    if let Some(dev) = table.get("dev-dependencies").and_then(|d| d.as_table()) {
        for name in dev.keys() {
            let v = dep_version("dev-dependencies", name)
                .ok_or_else(|| format!("stateright's dev-dependency {name} has no version"))?;
            lines.push(format!("{name} = \"{v}\""));
        }
    }
    Ok(format!(
        "# Generated by `bpfp bench`: stateright's examples/paxos.rs, built as a baseline.\n\
         [package]\nname = \"{BIN_NAME}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{}\n\n\
         # Its own workspace, so that no enclosing Cargo.toml claims it.\n[workspace]\n",
        lines.join("\n")
    ))
}

/// Writes only when the content differs: a fresh mtime would make cargo rebuild every run.
fn write_if_changed(path: &Path, content: &str) -> Result<(), String> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Lays out the scratch project under `work_dir`, builds it, and returns the binary's path.
fn build_example(work_dir: &Path, package: &Path, version: &str) -> Result<PathBuf, String> {
    let read = |p: PathBuf| {
        fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let example = read(package.join("examples").join("paxos.rs"))?;
    let manifest = scratch_manifest(&read(package.join("Cargo.toml"))?, version)?;
    let src = work_dir.join("src");
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    write_if_changed(&work_dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&src.join("main.rs"), &example)?;

    eprintln!(
        "bench: building stateright {version} examples/paxos.rs in {} (cargo build --release)",
        work_dir.display()
    );
    // Offline first (works once the example's helpers are cached); online otherwise.
    let offline = cargo_build(work_dir, true);
    if offline.is_err() {
        cargo_build(work_dir, false)?;
    }
    let binary = work_dir.join("target").join("release").join(BIN_NAME);
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!("the build left no binary at {}", binary.display()))
    }
}

fn cargo_build(work_dir: &Path, offline: bool) -> Result<(), String> {
    // `CARGO` is set when we run under cargo, so the same toolchain builds the example.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--quiet"])
        .arg("--manifest-path")
        .arg(work_dir.join("Cargo.toml"))
        // Explicit, so that an inherited CARGO_TARGET_DIR does not move the binary.
        .arg("--target-dir")
        .arg(work_dir.join("target"))
        .stdin(Stdio::null());
    if offline {
        cmd.arg("--offline");
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "building stateright's paxos example failed ({}): {}",
        out.status,
        tail.join(" | ")
    ))
}

fn server_addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// The example panics a server thread (and hangs) if a port is taken, so check first.
fn ensure_ports_free() -> Result<(), String> {
    for port in PORTS {
        UdpSocket::bind(server_addr(port)).map_err(|e| {
            format!("UDP port 127.0.0.1:{port}, which stateright's paxos example hard-codes, is not free: {e}")
        })?;
    }
    Ok(())
}

/// The spawned example; killed on drop, so that no path leaves it running.
struct Servers {
    child: Child,
    log: PathBuf,
}

impl Servers {
    fn spawn(binary: &Path, work_dir: &Path) -> Result<Self, String> {
        let log = work_dir.join("spawn.log");
        let log_file =
            fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let child = Command::new(binary)
            .arg("spawn")
            // Its `{addr}.storage` files, if any, stay in the scratch dir.
            .current_dir(work_dir)
            // The default `info` logs every datagram to stderr, which would dominate the figures.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Servers { child, log })
    }

    /// Fails with the end of the servers' log if they have exited.
    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "stateright's paxos servers exited ({status}): {}",
                self.log_tail()
            )),
            Err(e) => Err(format!("cannot watch stateright's paxos servers: {e}")),
        }
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        let _ = fs::File::open(&self.log).and_then(|mut f| f.read_to_string(&mut text));
        let lines: Vec<&str> = text.lines().rev().take(4).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// A `Put` reaching a server whose peers are not bound yet is lost for good (the example
    /// has no timers), so wait until all three ports answer.
    fn wait_until_bound(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        for port in PORTS {
            loop {
                self.check_alive()?;
                if is_bound(port)? {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "stateright's paxos server on port {port} never came up"
                    ));
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something listens on `port`: loopback answers a datagram to a closed port with
/// ICMP "port unreachable", which a connected socket reports as `ConnectionRefused`. The
/// probe is not JSON, so a server ignores it. (Binding the port to test it could steal it.)
fn is_bound(port: u16) -> Result<bool, String> {
    let probe = || -> std::io::Result<()> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        socket.connect(server_addr(port))?;
        socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        socket.send(b"probe")?;
        socket.recv(&mut [0; 64]).map(|_| ())
    };
    match probe() {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Ok(false),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(true),
        Err(e) => Err(format!("cannot probe 127.0.0.1:{port}: {e}")),
    }
}

/// A reply of the example's register protocol.
#[derive(Debug, PartialEq)]
enum Reply {
    PutOk(u64),
    GetOk(u64, char),
}

fn put_request(id: u64, value: char) -> Vec<u8> {
    serde_json::json!({ "Put": [id, value] })
        .to_string()
        .into_bytes()
}

fn get_request(id: u64) -> Vec<u8> {
    serde_json::json!({ "Get": id }).to_string().into_bytes()
}

/// `None` for anything that is not a client reply (the example never sends us others).
fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if let Some(id) = value.get("PutOk").and_then(|id| id.as_u64()) {
        return Some(Reply::PutOk(id));
    }
    let get_ok = value.get("GetOk")?.as_array()?;
    let id = get_ok.first()?.as_u64()?;
    let mut chars = get_ok.get(1)?.as_str()?.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(Reply::GetOk(id, c)),
        _ => None,
    }
}

/// Waits until `deadline` for a datagram that `wanted` accepts; `Ok(false)` on timeout.
/// Stale replies (to requests already given up on) are skipped.
fn await_reply(
    socket: &UdpSocket,
    deadline: Instant,
    wanted: impl Fn(&Reply) -> bool,
) -> Result<bool, String> {
    let mut buf = [0; 1024];
    loop {
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            return Ok(false);
        };
        socket
            .set_read_timeout(Some(left))
            .map_err(|e| format!("cannot set a socket timeout: {e}"))?;
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                if parse_reply(&buf[..n]).is_some_and(|r| wanted(&r)) {
                    return Ok(true);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(false);
            }
            Err(e) => return Err(format!("stateright's paxos servers stopped answering: {e}")),
        }
    }
}

fn client_socket() -> Result<UdpSocket, String> {
    // IPv4 on purpose: the example turns the sender's IPv4 address into its actor id.
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a client socket: {e}"))
}

/// Decides the register's one value; returns how long the decided `Put` took. A server keeps
/// the first `Put` it sees, so a `PutOk` for any id sent so far counts.
fn decide_one_put() -> Result<Duration, String> {
    let socket = client_socket()?;
    let target = server_addr(PORTS[0]);
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let first_sent = Instant::now();
    for id in 1u64.. {
        if Instant::now() > deadline {
            break;
        }
        socket
            .send_to(&put_request(id, 'X'), target)
            .map_err(|e| format!("cannot send to {target}: {e}"))?;
        let attempt_deadline = (Instant::now() + REQUEST_TIMEOUT).min(deadline);
        if await_reply(
            &socket,
            attempt_deadline,
            |r| matches!(r, Reply::PutOk(got) if *got <= id),
        )? {
            return Ok(first_sent.elapsed());
        }
    }
    Err(format!(
        "stateright's paxos servers never answered a Put within {STARTUP_TIMEOUT:?}"
    ))
}

/// What one client thread measured.
#[derive(Default)]
struct ClientTally {
    latencies: Vec<Duration>,
    timeouts: u64,
}

/// Closed-loop `Get`s from one socket to one server until `end`. Request ids are unique
/// across clients (the client's number in the high bits), so a stale reply never matches.
fn client_loop(client: usize, end: Instant) -> Result<ClientTally, String> {
    let socket = client_socket()?;
    // Spread the clients over the three servers; all hold the decided value.
    let target = server_addr(PORTS[client % PORTS.len()]);
    let mut tally = ClientTally::default();
    let mut next_id = ((client as u64) + 1) << 40;
    while Instant::now() < end {
        let id = next_id;
        next_id += 1;
        let sent = Instant::now();
        socket
            .send_to(&get_request(id), target)
            .map_err(|e| format!("cannot send to {target}: {e}"))?;
        if await_reply(
            &socket,
            sent + REQUEST_TIMEOUT,
            |r| matches!(r, Reply::GetOk(got, _) if *got == id),
        )? {
            tally.latencies.push(sent.elapsed());
        } else {
            tally.timeouts += 1;
        }
    }
    Ok(tally)
}

fn drive_gets(clients: usize, duration: Duration) -> Result<BaselineFigures, String> {
    let start = Instant::now();
    let end = start + duration;
    let results: Vec<Result<ClientTally, String>> = thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| s.spawn(move || client_loop(c, end)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".to_owned()))
            })
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    let mut timeouts = 0;
    for tally in results {
        let tally = tally?;
        latencies.extend(tally.latencies);
        timeouts += tally.timeouts;
    }
    figures(latencies, timeouts, seconds)
}

fn figures(
    mut latencies: Vec<Duration>,
    timeouts: u64,
    seconds: f64,
) -> Result<BaselineFigures, String> {
    if latencies.is_empty() {
        return Err(format!(
            "stateright's paxos servers answered no Get ({timeouts} timeouts)"
        ));
    }
    latencies.sort_unstable();
    let ops = latencies.len() as u64;
    Ok(BaselineFigures {
        ops,
        seconds,
        throughput: ops as f64 / seconds,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies[latencies.len() - 1],
        timeouts,
    })
}

/// Nearest-rank percentile of a sorted, non-empty slice.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_stateright_version_in_a_lockfile() {
        let lock = "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n\n\
                    [[package]]\nname = \"stateright\"\nversion = \"0.31.0\"\n";
        assert_eq!(stateright_version(lock), Ok("0.31.0".to_owned()));
        assert!(stateright_version("version = 4\n").is_err());
        // And this crate's own lockfile pins one.
        assert!(stateright_version(CARGO_LOCK).is_ok());
    }

    #[test]
    fn the_scratch_manifest_pins_stateright_and_takes_its_dev_dependencies() {
        let stateright_toml = "[package]\nname = \"stateright\"\n\n[dependencies.serde]\nversion = \"1.0\"\n\
                               features = [\"rc\", \"derive\"]\n\n[dependencies.serde_json]\nversion = \"1.0\"\n\n\
                               [dev-dependencies.env_logger]\nversion = \"0.11\"\n\n\
                               [dev-dependencies]\npico-args = \"0.5\"\n";
        let manifest = scratch_manifest(stateright_toml, "0.31.0").unwrap();
        let parsed: toml::Table = toml::from_str(&manifest).unwrap();
        let deps = parsed["dependencies"].as_table().unwrap();
        assert_eq!(deps["stateright"].as_str(), Some("=0.31.0"));
        assert_eq!(deps["serde_json"].as_str(), Some("1.0"));
        assert_eq!(deps["env_logger"].as_str(), Some("0.11"));
        assert_eq!(deps["pico-args"].as_str(), Some("0.5"));
        assert_eq!(deps["serde"]["features"].as_array().unwrap().len(), 1);
        assert!(parsed.contains_key("workspace"));
    }

    #[test]
    fn speaks_the_examples_register_json() {
        assert_eq!(put_request(7, 'X'), br#"{"Put":[7,"X"]}"#);
        assert_eq!(get_request(8), br#"{"Get":8}"#);
        assert_eq!(parse_reply(br#"{"PutOk":7}"#), Some(Reply::PutOk(7)));
        assert_eq!(
            parse_reply(br#"{"GetOk":[8,"X"]}"#),
            Some(Reply::GetOk(8, 'X'))
        );
        assert_eq!(
            parse_reply(br#"{"Internal":{"Accepted":{"ballot":[1,0]}}}"#),
            None
        );
        assert_eq!(parse_reply(b"not json"), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted[..1], 0.99), Duration::from_millis(1));
        let f = figures(sorted, 3, 2.0).unwrap();
        assert_eq!((f.ops, f.timeouts, f.throughput), (100, 3, 50.0));
        assert_eq!(f.max, Duration::from_millis(100));
        assert!(figures(Vec::new(), 5, 1.0).is_err());
    }

    /// Builds and runs the example (needs cargo, and the network the first time):
    /// `cargo test --release -- --ignored baseline`.
    #[test]
    #[ignore]
    fn baseline_stateright_paxos_4_clients_5_s() {
        let work_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("bpfp-baseline");
        let outcome = run_stateright_paxos(&work_dir, 4, Duration::from_secs(5));
        eprintln!("{outcome:?}");
        assert!(matches!(outcome, BaselineOutcome::Ran(_)), "{outcome:?}");
    }
}
