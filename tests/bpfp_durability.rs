//! The `bpfp` processes lose no acknowledged write when every acceptor is killed with
//! SIGKILL and restarted from its store, and `bpfp local` on a directory it used before
//! serves the same cluster and data.

use bp_fast_paxos::cluster_config::ClusterConfig;
use bp_fast_paxos::service::Op;
use bp_fast_paxos::service::client::Client;
use bp_fast_paxos::service::kv::Reply;
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::{TempDir, get, put};

fn bpfp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bpfp"))
}

/// A server process, killed with SIGKILL when dropped. Declared after the directory it
/// writes into, so that it is gone before the directory is removed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str], paths: &[(&str, &Path)]) -> Process {
    let mut command = bpfp();
    command.args(args);
    for (flag, path) in paths {
        command.arg(flag).arg(path);
    }
    let child = command
        .args(["--log-level", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bpfp starts");
    Process(child)
}

/// The first of `count` consecutive UDP ports of 127.0.0.1 that are free now.
fn free_ports(count: u16) -> u16 {
    let seed = 20_000 + (std::process::id() % 20_000) as u16;
    (0..200u16)
        .map(|i| seed.wrapping_add(i * 37) % 40_000 + 20_000)
        .find(|base| (0..count).all(|i| UdpSocket::bind(("127.0.0.1", base + i)).is_ok()))
        .expect("free ports")
}

fn read_config(path: &Path) -> ClusterConfig {
    ClusterConfig::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn acceptor(dir: &Path, id: u16, init: bool) -> Process {
    let id = id.to_string();
    let mut args = vec!["acceptor", "--id", &id];
    if init {
        args.push("--init");
    }
    spawn(
        &args,
        &[
            ("--config", &dir.join("cluster.toml")),
            ("--data", &dir.join("data")),
        ],
    )
}

fn execute(client: &mut Client, op: Op) -> Reply {
    client.execute(op).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_acceptor_killed_with_sigkill_and_restarted_loses_no_acknowledged_write() {
    let dir = TempDir::new("sigkill-all");
    let dir = dir.path();
    let base = free_ports(7).to_string();
    let made = bpfp()
        .args([
            "config",
            "--acceptors",
            "4",
            "--proposers",
            "2",
            "--clients",
            "1",
        ])
        .args(["--base-port", &base, "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // Acceptors that suspect a silent leader quickly, so the test does not wait for it.
    let path = dir.join("cluster.toml");
    let mut config = read_config(&path);
    config.timing.suspect_leader_ms = 300;
    std::fs::write(&path, config.to_toml().unwrap()).unwrap();

    let mut acceptors: Vec<Process> = (0..4).map(|i| acceptor(dir, i, true)).collect();
    let _proposers: Vec<Process> = (0..2)
        .map(|i| {
            let share = dir.join(format!("proposer-{i}.toml"));
            spawn(
                &["proposer", "--id", &i.to_string()],
                &[("--config", &share)],
            )
        })
        .collect();
    let mut client = Client::connect(&read_config(&dir.join("client-0.toml")), 0).unwrap();
    client.set_timeout(Duration::from_secs(20));
    // More slots than a replica keeps before it snapshots and drops decided votes.
    let keys = 300;
    for i in 0..keys {
        let reply = execute(&mut client, put(&format!("k{i}"), &format!("v{i}")));
        assert_eq!(reply, Reply::Stored);
    }
    for a in &mut acceptors {
        a.0.kill().expect("SIGKILL");
        a.0.wait().unwrap();
    }
    assert!(
        dir.join("data/acceptor-0.snapshot").exists(),
        "the run was long enough for a snapshot"
    );
    let _restarted: Vec<Process> = (0..4).map(|i| acceptor(dir, i, false)).collect();
    for i in 0..keys {
        let reply = execute(&mut client, get(&format!("k{i}")));
        assert_eq!(reply, Reply::Value(Some(format!("v{i}"))), "k{i}");
    }
    drop(acceptors);
}

/// `bpfp local --dir DIR`: the config path it prints on its first line, and the process.
fn local(dir: &Path) -> (PathBuf, Process) {
    // Killed even if its first line never comes.
    let mut process = Process(
        bpfp()
            .args(["local", "--dir"])
            .arg(dir)
            .args(["--log-level", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bpfp local starts"),
    );
    let mut first_line = String::new();
    BufReader::new(process.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    (PathBuf::from(first_line.trim()), process)
}

#[test]
fn local_on_a_directory_it_used_serves_the_same_cluster_and_data() {
    let dir = TempDir::new("local-again");
    let (config, running) = local(dir.path());
    let before = std::fs::read_to_string(&config).unwrap();
    let mut client = Client::connect(&read_config(&config), 0).unwrap();
    assert_eq!(execute(&mut client, put("kept", "yes")), Reply::Stored);
    drop(running); // SIGKILL

    let (again, _running) = local(dir.path());
    assert_eq!(again, config);
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        before,
        "the same config and keys"
    );
    let mut client = Client::connect(&read_config(&again), 0).unwrap();
    client.set_timeout(Duration::from_secs(20));
    assert_eq!(
        execute(&mut client, get("kept")),
        Reply::Value(Some("yes".into()))
    );
}
