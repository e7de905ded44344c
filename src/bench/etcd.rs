//! The real peer of `bpfp bench --peer etcd`: a 3-member etcd cluster on loopback, started from
//! the `etcd` binary on `PATH` (Debian's `etcd-server`, 3.4) in a scratch data directory, and a
//! client of its HTTP/JSON gateway (`/v3/kv/put`, `/v3/kv/range`, keys and values base64).
//!
//! A range is linearizable by default (etcd's ReadIndex), as the service's get is (it goes
//! through the log); a put is acknowledged once committed by a majority and applied, each
//! member syncing its write-ahead log.

use super::base64;
use super::http::{HttpClient, Response};
use super::workload::Command;
use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

pub const MEMBERS: usize = 3;
/// How long the members get to elect a leader and answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a member gets to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// A request not answered in this long fails (and the client reconnects).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The `etcd` binary on `PATH`, or why there is none.
pub fn find_etcd(path: Option<&std::ffi::OsStr>) -> Result<PathBuf, String> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "etcd is not installed (no `etcd` on PATH); install it with `apt-get install etcd-server` (Debian) to compare with it".to_owned()
        })
}

/// The first line of `etcd --version`, e.g. `etcd Version: 3.4.23`.
pub fn version(binary: &Path) -> Result<String, String> {
    let out = Process::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").trim();
    Ok(first
        .strip_prefix("etcd Version:")
        .map_or(first, str::trim)
        .to_owned())
}

struct Member {
    name: String,
    child: Child,
    client: SocketAddr,
    log: PathBuf,
}

/// A running cluster: stopped (SIGTERM, then SIGKILL) and its data removed on drop, whatever
/// path the bench takes.
pub struct EtcdCluster {
    members: Vec<Member>,
    dir: PathBuf,
    pub version: String,
}

/// Ports the system had free a moment ago: bound, read, released. (etcd takes a port number,
/// not a socket; another process could take one in between, and the start then fails.)
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

impl EtcdCluster {
    /// Starts the members under `dir` (created, and removed on drop) and waits until each is
    /// healthy and a put through the first is committed.
    pub fn start(binary: &Path, dir: &Path) -> Result<EtcdCluster, String> {
        let version = version(binary)?;
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let ports = free_ports(2 * MEMBERS)?;
        let (client_ports, peer_ports) = ports.split_at(MEMBERS);
        let initial_cluster = (0..MEMBERS)
            .map(|i| format!("m{i}={}", url(peer_ports[i])))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members: Vec::new(),
            dir: dir.to_owned(),
            version,
        };
        for i in 0..MEMBERS {
            let name = format!("m{i}");
            let log = dir.join(format!("{name}.log"));
            let log_file = fs::File::create(&log)
                .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            let (client, peer) = (url(client_ports[i]), url(peer_ports[i]));
            let child = Process::new(binary)
                .arg("--name")
                .arg(&name)
                .arg("--data-dir")
                .arg(dir.join(&name))
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .args(["--listen-peer-urls", &peer])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--initial-cluster", &initial_cluster])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "bpfp-bench"])
                .args(["--logger", "zap", "--log-level", "warn"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            cluster.members.push(Member {
                name,
                child,
                client: SocketAddr::from((Ipv4Addr::LOCALHOST, client_ports[i])),
                log,
            });
        }
        cluster.wait_until_ready()?;
        Ok(cluster)
    }

    /// The members' client addresses, for the gateway.
    pub fn clients(&self) -> Vec<SocketAddr> {
        self.members.iter().map(|m| m.client).collect()
    }

    /// Fails with the end of a member's log if one has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        for m in &mut self.members {
            match m.child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => {
                    return Err(format!(
                        "etcd member {} exited ({status}): {}",
                        m.name,
                        log_tail(&m.log)
                    ));
                }
                Err(e) => return Err(format!("cannot watch etcd member {}: {e}", m.name)),
            }
        }
        Ok(())
    }

    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        for member in 0..MEMBERS {
            let mut client = HttpClient::new(self.members[member].client, REQUEST_TIMEOUT);
            loop {
                self.check_alive()?;
                let last_error = match client.request("GET", "/health", "") {
                    Ok(r) if r.status == 200 && r.body.starts_with(br#"{"health":"true""#) => {
                        break;
                    }
                    Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
                    Err(e) => e,
                };
                if Instant::now() > deadline {
                    return Err(format!(
                        "etcd member {member} was not healthy within {STARTUP_TIMEOUT:?}: {last_error}"
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let mut client = EtcdClient::new(self.members[0].client);
        client.execute(&Command::Put {
            key: "bpfp-bench-ready".into(),
            value: "yes".into(),
        })
    }

    fn stop_members(&mut self) {
        for m in &self.members {
            // SIGTERM lets a member close its store; std's `kill` only sends SIGKILL.
            let _ = Process::new("kill")
                .args(["-TERM", &m.child.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for m in &mut self.members {
            while matches!(m.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
        self.members.clear();
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.stop_members();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    let _ = fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// The gateway's request body for a command, and its path.
pub fn request_of(command: &Command) -> (&'static str, String) {
    match command {
        Command::Put { key, value } => (
            "/v3/kv/put",
            serde_json::json!({
                "key": base64::encode(key.as_bytes()),
                "value": base64::encode(value.as_bytes()),
            })
            .to_string(),
        ),
        Command::Get { key } => (
            "/v3/kv/range",
            serde_json::json!({ "key": base64::encode(key.as_bytes()) }).to_string(),
        ),
    }
}

/// A closed-loop client of one member's gateway over one kept-alive connection.
pub struct EtcdClient {
    http: HttpClient,
}

impl EtcdClient {
    pub fn new(member: SocketAddr) -> Self {
        EtcdClient {
            http: HttpClient::new(member, REQUEST_TIMEOUT),
        }
    }

    /// Runs one command.
    pub fn execute(&mut self, command: &Command) -> Result<(), String> {
        let (path, body) = request_of(command);
        let response = self.http.request("POST", path, &body)?;
        check_answer(path, &response)
    }
}

/// Whether the gateway's `response` to a request on `path` answers it: a 200 with the
/// gateway's JSON header.
pub fn check_answer(path: &str, response: &Response) -> Result<(), String> {
    let json: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("{path} answered {}, not JSON: {e}", response.status))?;
    if response.status == 200 && json.get("header").is_some() {
        Ok(())
    } else {
        Err(format!("{path} answered {}: {json}", response.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_the_gateways_json_with_base64() {
        let (path, body) = request_of(&Command::Put {
            key: "k1".into(),
            value: "foobar".into(),
        });
        assert_eq!(path, "/v3/kv/put");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"key": "azE=", "value": "Zm9vYmFy"})
        );
        let (path, body) = request_of(&Command::Get { key: "k1".into() });
        assert_eq!((path, body.as_str()), ("/v3/kv/range", r#"{"key":"azE="}"#));
    }

    #[test]
    fn etcd_is_looked_up_on_the_given_path_only() {
        let scratch = crate::temp_dir::TempDir::new("find-etcd");
        let dir = scratch.path();
        let err = find_etcd(Some(dir.as_os_str())).unwrap_err();
        assert!(err.contains("etcd is not installed"), "{err}");
        assert!(find_etcd(None).is_err());
        fs::write(dir.join("etcd"), "").unwrap();
        assert_eq!(find_etcd(Some(dir.as_os_str())), Ok(dir.join("etcd")));
    }
}
