//! Starting the service's servers from a cluster config: each acceptor with its durable store,
//! each proposer, all on the UDP runtime; and a whole local cluster in one process.

use super::command::CommandKeys;
use super::node::{ServiceNode, Tuning};
use super::proposer_store::{ProposerStore, ServerDurable};
use super::store::{ServiceStore, open_floors};
use crate::auth::BadKey;
use crate::cluster_config::{ClusterConfig, Limits, NodeId, Role};
use crate::durable::DurableError;
use crate::log::Slot;
use crate::log::acceptor::{LogAcceptor, VoteLimits};
use crate::log::node::{LogNode, LogRole};
use crate::log::proposer::LogProposer;
use crate::node::Topology;
use crate::rules::Rules;
use crate::runtime::codec::{ServerCodec, WireCodec};
use crate::runtime::event_loop::{
    Addresses, NodeSpec, Observer, RunningNode, spawn, spawn_with_floors,
};
use crate::runtime::faults::Faults;
use crate::types::{AcceptorId, ClientId, Cluster, ProposerId};
use std::fmt::{self, Display};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::log::SLOT_WINDOW;

/// A server of the service, running.
pub type Server = RunningNode<ServiceNode>;

/// How servers run, beyond their config.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub tuning: Tuning,
    /// Faults injected into every server's datagrams (torture runs).
    pub faults: Option<Arc<Faults>>,
    /// A deliberately broken build, which a torture run must catch.
    pub broken: Option<Broken>,
    /// An acceptor may create its store: it is new. Otherwise a missing store is an error,
    /// since starting afresh would forget the votes of an acceptor that ran before.
    pub new_acceptor: bool,
    /// Where acceptors record their traces (`--trace`), if anywhere, and how.
    pub trace: Option<Trace>,
}

/// Where acceptors record their traces, and how a recorder is opened. The trace recorder
/// stands above the service (it reads the service's states), so it hands the server the
/// function that opens it rather than the server naming it.
#[derive(Clone, Debug)]
pub struct Trace {
    pub to: TraceTo,
    pub open: OpenTrace,
}

/// Opens the trace of acceptor `acceptor` at `path`, in `cluster`, for an acceptor whose slot
/// window is `window`: an observer of the acceptor's steps.
pub type OpenTrace = fn(&Path, u16, Cluster, Slot) -> io::Result<Box<dyn Observer<ServiceNode>>>;

/// Where an acceptor writes its trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceTo {
    /// This file (one acceptor).
    File(PathBuf),
    /// `acceptor-<i>.trace.jsonl` in this directory, for each acceptor `i`.
    Dir(PathBuf),
}

impl TraceTo {
    /// The trace file of acceptor `index`.
    pub fn file_for(&self, index: u16) -> PathBuf {
        match self {
            TraceTo::File(path) => path.clone(),
            TraceTo::Dir(dir) => trace_path(dir, index),
        }
    }
}

/// The trace file of acceptor `index` in `dir`.
pub fn trace_path(dir: &Path, index: u16) -> PathBuf {
    dir.join(format!("acceptor-{index}.trace.jsonl"))
}

/// Deliberately broken servers, to show that the torture checks have teeth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broken {
    /// Acceptors decide on `f + 1` LEARNs instead of a quorum of `2f + 1`.
    LearnerQuorumFPlus1,
    /// An acceptor votes again in a round in which it voted, when asked another value.
    VoteTwice,
}

impl Broken {
    pub const ALL: [(&'static str, Broken); 2] = [
        ("learner-f-plus-1", Broken::LearnerQuorumFPlus1),
        ("vote-twice", Broken::VoteTwice),
    ];
}

/// Why a server cannot start.
#[derive(Debug)]
pub enum ServerError {
    /// The node is not in the config, or the config lacks what it needs.
    Config(String),
    Key(BadKey),
    Storage(DurableError),
    /// An acceptor that is not new has no store.
    NoStore(PathBuf),
    /// A proposer's round file is damaged. It serves liveness only, so it may be deleted; the
    /// proposer still refuses it rather than guess what else its disk lost.
    DamagedRoundFile {
        path: PathBuf,
        source: DurableError,
    },
    Socket {
        addr: SocketAddr,
        source: io::Error,
    },
}

impl Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Config(why) => write!(f, "{why}"),
            ServerError::Key(BadKey(why)) => write!(f, "bad key: {why}"),
            ServerError::Storage(e) => write!(f, "{e}"),
            ServerError::NoStore(path) => write!(
                f,
                "no acceptor store at {}: if this acceptor is new, start it with --init; if it \
                 ran before, its votes are lost, and starting it afresh could break agreement",
                path.display()
            ),
            ServerError::DamagedRoundFile { path, source } => write!(
                f,
                "{source}. That file only holds the NEWROUND this proposer began last, sent \
                 again after a restart to spare the acceptors a wait: {} is safe to delete, at \
                 the cost of at most a trust change",
                path.display()
            ),
            ServerError::Socket { addr, source } => write!(f, "cannot bind {addr}: {source}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// The topology of the service: acceptors and proposers learn (a proposer to know how many
/// slots are in flight); clients get replies instead of LEARNs.
pub fn service_topology(config: &ClusterConfig) -> Topology {
    let mut topology = config.topology();
    topology.learners = config
        .nodes()
        .filter(|node| matches!(node.role(), Role::Acceptor | Role::Proposer))
        .map(|node| config.stateright_id(node))
        .collect();
    topology
}

/// The actor of `node`: an acceptor with the domain key and the clients' command keys, or a
/// proposer with neither.
pub fn service_node(
    config: &ClusterConfig,
    node: NodeId,
    options: &ServerOptions,
) -> Result<ServiceNode, ServerError> {
    if !config.contains(node) {
        return Err(ServerError::Config(format!("{node} is not in the config")));
    }
    // Another node's share has none of this one's keys: a proposer would serve and no one
    // hear it, and an acceptor needs the whole config.
    config
        .check_share_for(node)
        .map_err(|e| ServerError::Config(e.to_string()))?;
    let cluster = config.cluster();
    let rules = Rules::standard(cluster.f);
    let acceptor_rules = match options.broken {
        Some(Broken::LearnerQuorumFPlus1) => Rules {
            quorum: cluster.f + 1,
            ..rules
        },
        Some(Broken::VoteTwice) => Rules {
            vote_once: false,
            ..rules
        },
        None => rules,
    };
    let (role, keys) = match node.role() {
        Role::Acceptor => {
            let domain_key = config.domain_key().ok_or_else(|| {
                ServerError::Config("the config has no [acceptor_secrets] domain_key".into())
            })?;
            let auth = domain_key.hmac().map_err(ServerError::Key)?;
            let acceptor = LogAcceptor {
                id: AcceptorId(node.index()),
                cluster,
                rules: acceptor_rules,
                auth,
                window: SLOT_WINDOW,
                limits: vote_limits(&config.limits),
            };
            (LogRole::Acceptor(acceptor), command_keys(config)?)
        }
        Role::Proposer => {
            let proposer = LogProposer {
                id: ProposerId(node.index()),
                cluster,
                rules,
                batches: Vec::new(),
            };
            (LogRole::Proposer(proposer), CommandKeys::default())
        }
        Role::Client => {
            return Err(ServerError::Config(format!(
                "{node} is a client, not a server"
            )));
        }
    };
    let log = LogNode {
        role,
        topology: service_topology(config),
    };
    Ok(ServiceNode {
        log,
        keys,
        tuning: options.tuning.clone(),
        limits: config.limits.clone(),
    })
}

/// The acceptor's bounds on its votes, from the config's limits: a slot value is a batch.
pub fn vote_limits(limits: &Limits) -> VoteLimits {
    let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    VoteLimits {
        value_bytes: bytes(limits.max_batch_bytes),
        open_vote_bytes: bytes(limits.max_open_vote_bytes),
    }
}

fn command_keys(config: &ClusterConfig) -> Result<CommandKeys, ServerError> {
    let mut keys = CommandKeys::default();
    for entry in &config.command_keys {
        let bytes = entry.key.to_bytes().map_err(|e| {
            ServerError::Key(BadKey(format!(
                "command key of client {}: {e}",
                entry.client
            )))
        })?;
        keys.insert(ClientId(entry.client), bytes);
    }
    Ok(keys)
}

/// Where every server listens, in `Id` order; clients are learned from their datagrams.
pub fn server_addresses(config: &ClusterConfig) -> Result<Addresses, ServerError> {
    config
        .nodes()
        .filter(|node| node.role() != Role::Client)
        .map(|node| {
            config
                .address(node)
                .ok_or_else(|| ServerError::Config(format!("{node} has no address")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Arc::new)
}

pub use super::proposer_store::proposer_path;
pub use super::store::{floors_path, snapshot_path, store_path};

/// Starts `node` on its address (or on `socket`, already bound to it). An acceptor recovers
/// its round and votes from its store in `data_dir` first, a proposer the NEWROUND of the
/// round it began last.
pub fn start_server(
    config: &ClusterConfig,
    node: NodeId,
    data_dir: &Path,
    socket: Option<UdpSocket>,
    options: &ServerOptions,
) -> Result<Server, ServerError> {
    let actor = service_node(config, node, options)?;
    let faults = options.faults.clone();
    let addresses = server_addresses(config)?;
    let id = config.stateright_id(node);
    // Bound only once the node's files are found good, so that what is wrong with them is
    // said even when the port is taken too.
    let addr = addresses[usize::from(id)];
    let socket = move || match socket {
        Some(socket) => Ok(socket),
        None => UdpSocket::bind(addr).map_err(|source| ServerError::Socket { addr, source }),
    };
    let codec = ServerCodec::new(WireCodec::from_config(config, node).map_err(ServerError::Key)?);
    std::fs::create_dir_all(data_dir).map_err(|source| {
        ServerError::Config(format!("cannot create {}: {source}", data_dir.display()))
    })?;
    let started = match node.role() {
        Role::Acceptor => {
            let path = store_path(data_dir, node.index());
            if !options.new_acceptor && !path.exists() {
                return Err(ServerError::NoStore(path));
            }
            let opened =
                ServiceStore::open(data_dir, node.index()).map_err(ServerError::Storage)?;
            let floors = open_floors(data_dir, node.index()).map_err(ServerError::Storage)?;
            if let Some(torn) = &opened.torn_tail {
                tracing::warn!(%torn, "cut a torn tail off the acceptor's store");
            }
            let observer = match &options.trace {
                Some(trace) => {
                    let path = trace.to.file_for(node.index());
                    let recorder = (trace.open)(&path, node.index(), config.cluster(), SLOT_WINDOW)
                        .map_err(|e| {
                            ServerError::Config(format!(
                                "cannot write the trace {}: {e}",
                                path.display()
                            ))
                        })?;
                    Some(recorder)
                }
                None => None,
            };
            spawn_with_floors(
                NodeSpec {
                    actor,
                    id,
                    socket: socket()?,
                    addresses,
                    codec,
                    storage: opened.store,
                    recovered: opened.state.map(ServerDurable::from),
                    faults: faults.clone(),
                    observer,
                },
                floors,
            )
        }
        _ => {
            let (storage, stored) =
                ProposerStore::open(data_dir, node.index()).map_err(round_file_error)?;
            spawn(NodeSpec {
                actor,
                id,
                socket: socket()?,
                addresses,
                codec,
                storage,
                recovered: stored.map(ServerDurable::Proposer),
                faults,
                observer: None,
            })
        }
    };
    started.map_err(|source| ServerError::Socket {
        addr: config
            .address(node)
            .unwrap_or_else(|| ([0, 0, 0, 0], 0).into()),
        source,
    })
}

/// Why a proposer's round file cannot be read: a damaged one says that it may go.
fn round_file_error(e: DurableError) -> ServerError {
    match e {
        DurableError::Corrupt { ref path, .. } => ServerError::DamagedRoundFile {
            path: path.clone(),
            source: e,
        },
        other => ServerError::Storage(other),
    }
}

/// A config for `f`, `proposers` and `clients` with fresh keys, its servers on free loopback
/// ports (bound here, in `Id` order, ready for [`LocalCluster::start_with`]) and its clients
/// on any port.
pub fn loopback_config(
    f: usize,
    proposers: usize,
    clients: usize,
) -> Result<(ClusterConfig, Vec<UdpSocket>), ServerError> {
    let acceptors = 3 * f + 1;
    let mut config =
        ClusterConfig::generate(acceptors, proposers, clients, 1, [127, 0, 0, 1].into())
            .map_err(|e| ServerError::Config(e.to_string()))?;
    let mut sockets = Vec::new();
    for entry in config
        .acceptors
        .iter_mut()
        .chain(config.proposers.iter_mut())
    {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let socket =
            UdpSocket::bind(addr).map_err(|source| ServerError::Socket { addr, source })?;
        let bound = socket
            .local_addr()
            .map_err(|source| ServerError::Socket { addr, source })?;
        entry.addr = bound.to_string();
        sockets.push(socket);
    }
    for client in &mut config.clients {
        client.addr = None; // a client binds any free port
    }
    Ok((config, sockets))
}

/// Every server of a config, in one process.
pub struct LocalCluster {
    pub config: ClusterConfig,
    pub data_dir: PathBuf,
    pub servers: Vec<(NodeId, Server)>,
    pub options: ServerOptions,
}

impl LocalCluster {
    /// A config for `f`, `proposers` and `clients` on free loopback ports, with fresh keys,
    /// and every server started on it.
    pub fn start(
        f: usize,
        proposers: usize,
        clients: usize,
        data_dir: &Path,
        options: ServerOptions,
    ) -> Result<Self, ServerError> {
        let (config, sockets) = loopback_config(f, proposers, clients)?;
        Self::start_with(config, data_dir, sockets, options)
    }

    /// Starts every server of `config`, on `sockets` (in `Id` order) if given.
    pub fn start_with(
        config: ClusterConfig,
        data_dir: &Path,
        sockets: Vec<UdpSocket>,
        options: ServerOptions,
    ) -> Result<Self, ServerError> {
        Self::start_except(config, data_dir, sockets, options, &[])
    }

    /// Starts every server of `config` but those in `skip`, on `sockets` (in `Id` order, one
    /// for each server started) if given.
    pub fn start_except(
        config: ClusterConfig,
        data_dir: &Path,
        sockets: Vec<UdpSocket>,
        options: ServerOptions,
        skip: &[NodeId],
    ) -> Result<Self, ServerError> {
        let mut sockets = sockets.into_iter();
        let new = ServerOptions {
            new_acceptor: true,
            ..options.clone()
        };
        let servers = config
            .nodes()
            .filter(|node| node.role() != Role::Client && !skip.contains(node))
            .map(|node| {
                start_server(&config, node, data_dir, sockets.next(), &new)
                    .map(|server| (node, server))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LocalCluster {
            config,
            data_dir: data_dir.to_path_buf(),
            servers,
            options,
        })
    }

    /// Starts every server of `config` again on its address, each acceptor from its store in
    /// `data_dir` (which must exist): the same cluster, with the same data, after a stop.
    pub fn reopen(
        config: ClusterConfig,
        data_dir: &Path,
        options: ServerOptions,
    ) -> Result<Self, ServerError> {
        let old = ServerOptions {
            new_acceptor: false,
            ..options.clone()
        };
        let servers = config
            .nodes()
            .filter(|node| node.role() != Role::Client)
            .map(|node| {
                start_server(&config, node, data_dir, None, &old).map(|server| (node, server))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LocalCluster {
            config,
            data_dir: data_dir.to_path_buf(),
            servers,
            options,
        })
    }

    /// The running server `node`, if it runs.
    pub fn server(&self, node: NodeId) -> Option<&Server> {
        self.servers
            .iter()
            .find(|(n, _)| *n == node)
            .map(|(_, s)| s)
    }

    /// Stops `node` as a crash would: only its durable store survives.
    pub fn kill(&mut self, node: NodeId) -> bool {
        match self.servers.iter().position(|(n, _)| *n == node) {
            Some(i) => {
                let (_, server) = self.servers.remove(i);
                let _ = server.stop();
                true
            }
            None => false,
        }
    }

    /// Starts `node` again on its address, from its durable store (which must exist).
    pub fn restart(&mut self, node: NodeId) -> Result<(), ServerError> {
        let server = start_server(&self.config, node, &self.data_dir, None, &self.options)?;
        self.servers.push((node, server));
        Ok(())
    }
}
