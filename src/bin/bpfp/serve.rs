//! `bpfp acceptor`, `bpfp proposer` and `bpfp local`: servers that run until Ctrl-C, or until
//! one of them fails (then the process exits 1 with the reason).

use crate::Failure;
use bp_fast_paxos::cluster_config::{ClusterConfig, NodeId, Role};
use bp_fast_paxos::service::server::{
    LocalCluster, Server, ServerError, ServerOptions, TraceTo, loopback_config, start_server,
};
use bp_fast_paxos::trace::record::TraceRecorder;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct AcceptorArgs {
    /// The cluster config (from `bpfp config`).
    #[arg(long)]
    config: PathBuf,
    /// This acceptor's id in the config.
    #[arg(long)]
    id: u16,
    /// The directory of this acceptor's durable store.
    #[arg(long)]
    data: PathBuf,
    /// This acceptor is new: create its store. Without it, a missing store is an error,
    /// because an acceptor that forgot its votes could break agreement.
    #[arg(long)]
    init: bool,
    /// Record this acceptor's trace (JSON lines) in FILE, for `check trace`.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ProposerArgs {
    /// The cluster config (from `bpfp config`).
    #[arg(long)]
    config: PathBuf,
    /// This proposer's id in the config.
    #[arg(long)]
    id: u16,
    /// The directory of this proposer's file (`proposer-N.round`: the NEWROUND of the round it
    /// began last, which it sends again after a restart). Losing it costs time, never safety.
    #[arg(long, default_value = ".")]
    data: PathBuf,
}

#[derive(Args, Debug)]
pub struct LocalArgs {
    /// Where to write `cluster.toml` and the acceptors' stores. A directory used before is
    /// served again: the same config, keys and stores.
    #[arg(long)]
    dir: PathBuf,
    /// How many clients the config lists, at least 1 (`bpfp put --client N` picks one).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    clients: u16,
    /// Record each acceptor's trace in DIR (`acceptor-<i>.trace.jsonl`), for `check trace`.
    #[arg(long, value_name = "DIR")]
    trace: Option<PathBuf>,
}

pub fn read_config(path: &Path) -> Result<ClusterConfig, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::runtime(&format!("cannot read {}", path.display()), e))?;
    ClusterConfig::from_toml(&text)
        .map_err(|e| Failure::runtime(&format!("bad config {}", path.display()), e))
}

pub fn run_acceptor(args: AcceptorArgs) -> Result<(), Failure> {
    let config = read_config(&args.config)?;
    let node = NodeId::new(Role::Acceptor, args.id);
    let options = ServerOptions {
        new_acceptor: args.init,
        trace: args.trace.map(TraceTo::File).map(TraceRecorder::to),
        ..ServerOptions::default()
    };
    let server = start_server(&config, node, &args.data, None, &options)
        .map_err(|e| Failure::runtime(&format!("{node} cannot start"), e))?;
    tracing::info!(%node, data = %args.data.display(), "serving");
    serve(vec![(node, server)])
}

pub fn run_proposer(args: ProposerArgs) -> Result<(), Failure> {
    let config = read_config(&args.config)?;
    let node = NodeId::new(Role::Proposer, args.id);
    let server = start_server(&config, node, &args.data, None, &ServerOptions::default())
        .map_err(|e| Failure::runtime(&format!("{node} cannot start"), e))?;
    tracing::info!(%node, "serving");
    serve(vec![(node, server)])
}

pub fn run_local(args: LocalArgs) -> Result<(), Failure> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|e| Failure::runtime(&format!("cannot create {}", args.dir.display()), e))?;
    let path = args.dir.join("cluster.toml");
    let options = ServerOptions {
        trace: trace_dir(args.trace)?.map(TraceRecorder::to),
        ..ServerOptions::default()
    };
    let data = args.dir.join("data");
    // A directory used before holds the cluster: serve it again, with its keys and stores.
    let cluster = if path.exists() {
        let config = read_config(&path)?;
        LocalCluster::reopen(config, &data, options).map_err(|e| restart_failure(&path, e))?
    } else {
        let (config, sockets) = loopback_config(1, 2, usize::from(args.clients))
            .map_err(|e| Failure::runtime("cannot set up the cluster", e))?;
        let toml = config
            .to_toml()
            .map_err(|e| Failure::runtime("cannot write the config", e))?;
        std::fs::write(&path, toml)
            .map_err(|e| Failure::runtime(&format!("cannot write {}", path.display()), e))?;
        LocalCluster::start_with(config, &data, sockets, options)
            .map_err(|e| Failure::runtime("cannot start the cluster", e))?
    };
    println!("{}", path.display());
    eprintln!(
        "bpfp: 4 acceptors and 2 proposers serve on 127.0.0.1; try\n  \
         bpfp put --config {0} greeting hello\n  bpfp get --config {0} greeting\n\
         Ctrl-C stops them; `bpfp local --dir` on this directory serves them again.",
        path.display()
    );
    serve(cluster.servers)
}

/// Why a directory with a config cannot be served again. A missing store gets advice of its
/// own: the server's (`--init`) is for `bpfp acceptor`, and `local` never creates the store
/// of an acceptor its config names, since that acceptor may have run and voted.
fn restart_failure(config: &Path, e: ServerError) -> Failure {
    match e {
        ServerError::NoStore(store) => Failure::Runtime(format!(
            "cannot serve {} again: no acceptor store at {}; `bpfp local` serves again only a \
             directory it set up, with all its stores. Give it a new --dir, or serve this \
             config with `bpfp acceptor` and `bpfp proposer`",
            config.display(),
            store.display()
        )),
        other => Failure::runtime("cannot restart the cluster", other),
    }
}

/// Waits until a server stops on its own, which only an error makes it do.
fn serve(mut servers: Vec<(NodeId, Server)>) -> Result<(), Failure> {
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(i) = servers.iter().position(|(_, s)| s.is_finished()) {
            let (node, server) = servers.swap_remove(i);
            let why = match server.stop() {
                Err(e) => e.to_string(),
                Ok(()) => "it stopped".to_string(),
            };
            return Err(Failure::Runtime(format!("{node} stopped: {why}")));
        }
    }
}

/// A trace directory, created.
fn trace_dir(dir: Option<PathBuf>) -> Result<Option<TraceTo>, Failure> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::runtime(&format!("cannot create {}", dir.display()), e))?;
    Ok(Some(TraceTo::Dir(dir)))
}
