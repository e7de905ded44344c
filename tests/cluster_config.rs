//! The cluster config: generate, write, parse and validate; every validation error from a
//! hand-edited file; the key layout; and `bpfp config` as a user runs it.

use bp_fast_paxos::cluster_config::{
    ClusterConfig, ConfigError, GENERATED_KEY_BYTES, KeyField, KeyProblem, NodeId, Role, SecretKey,
};
use bp_fast_paxos::node::peer_of;
use bp_fast_paxos::step::Peer;
use bp_fast_paxos::types::{AcceptorId, ClientId, ProposerId};
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Output};

mod common;
use common::TempDir;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn acceptor(i: u16) -> NodeId {
    NodeId::Acceptor(AcceptorId(i))
}

fn proposer(i: u16) -> NodeId {
    NodeId::Proposer(ProposerId(i))
}

fn client(i: u16) -> NodeId {
    NodeId::Client(ClientId(i))
}

fn generated(acceptors: usize, proposers: usize, clients: usize) -> ClusterConfig {
    ClusterConfig::generate(acceptors, proposers, clients, 7000, LOCALHOST)
        .expect("a valid shape generates")
}

/// Every key of a config with the field it sits in.
fn all_keys(config: &ClusterConfig) -> Vec<(KeyField, SecretKey)> {
    let domain = config.domain_key().cloned().map(|k| (KeyField::Domain, k));
    let channels = (config.channel_keys.iter())
        .map(|c| (KeyField::channel(c.between[0], c.between[1]), c.key.clone()));
    let commands = (config.command_keys.iter())
        .map(|c| (KeyField::Command(ClientId(c.client)), c.key.clone()));
    domain.into_iter().chain(channels).chain(commands).collect()
}

#[test]
fn generate_write_parse_validate_round_trips() {
    for (acceptors, proposers, clients) in [(4, 1, 0), (4, 2, 1), (7, 3, 5), (10, 2, 2)] {
        let config = generated(acceptors, proposers, clients);
        config.validate().expect("a generated config is valid");
        let text = config.to_toml().expect("a config writes as TOML");
        let parsed = ClusterConfig::from_toml(&text).expect("the written config parses");
        assert_eq!(parsed, config, "{acceptors}/{proposers}/{clients}");
        assert_eq!(parsed.f, (acceptors - 1) / 3);
    }
}

#[test]
fn generated_nodes_take_consecutive_ports_acceptors_first() {
    let config = ClusterConfig::generate(4, 2, 2, 9100, "10.0.0.7".parse().unwrap()).unwrap();
    let nodes: Vec<NodeId> = config.nodes().collect();
    let expected = [
        acceptor(0),
        acceptor(1),
        acceptor(2),
        acceptor(3),
        proposer(0),
        proposer(1),
        client(0),
        client(1),
    ];
    assert_eq!(nodes, expected);
    for (port, node) in (9100..).zip(expected) {
        let addr: SocketAddr = format!("10.0.0.7:{port}").parse().unwrap();
        assert_eq!(config.address(node), Some(addr), "{node}");
    }
}

#[test]
fn every_generated_key_is_distinct_and_32_bytes() {
    let (n, m, c) = (7, 3, 4);
    let config = generated(n, m, c);
    let keys = all_keys(&config);
    // The domain key, one per client, and one per pair that talks.
    let pairs = n * (n - 1) / 2 + n * m + n * c + m * c;
    assert_eq!(keys.len(), 1 + c + pairs);
    let mut distinct = BTreeSet::new();
    for (field, key) in &keys {
        let bytes = key.to_bytes().unwrap_or_else(|e| panic!("{field}: {e}"));
        assert_eq!(bytes.len(), GENERATED_KEY_BYTES, "{field}");
        assert_eq!(key.as_hex().len(), 2 * GENERATED_KEY_BYTES, "{field}");
        assert!(distinct.insert(bytes), "{field} repeats a key");
        assert!(key.hmac().is_ok(), "{field}");
    }
    // Two configs never share a key.
    let other: BTreeSet<_> = all_keys(&generated(n, m, c))
        .into_iter()
        .map(|(_, k)| k.to_bytes().unwrap())
        .collect();
    assert!(distinct.is_disjoint(&other));
}

#[test]
fn channel_keys_are_symmetric_and_only_for_pairs_that_talk() {
    let config = generated(4, 2, 2);
    let nodes: Vec<NodeId> = config.nodes().collect();
    for &a in &nodes {
        for &b in &nodes {
            let talks = a != b
                && !(a.role() == Role::Proposer && b.role() == Role::Proposer)
                && !(a.role() == Role::Client && b.role() == Role::Client);
            assert_eq!(a.talks_with(b), talks, "{a} {b}");
            assert_eq!(
                config.channel_key(a, b),
                config.channel_key(b, a),
                "{a} {b}"
            );
            assert_eq!(config.channel_key(a, b).is_some(), talks, "{a} {b}");
        }
    }
    assert!(config.command_key(ClientId(1)).is_some());
    assert!(config.command_key(ClientId(2)).is_none());
}

#[test]
fn config_ids_map_onto_the_topology_layout() {
    let config = generated(4, 2, 3);
    let topology = config.topology();
    for node in config.nodes() {
        let id = config.stateright_id(node);
        assert_eq!(config.node_of(id), Some(node));
        let expected_peer = match node {
            NodeId::Acceptor(a) => {
                assert_eq!(id, topology.acceptor(a));
                Peer::Acceptor(a)
            }
            NodeId::Proposer(p) => {
                assert_eq!(id, topology.proposer(p));
                Peer::Proposer(p)
            }
            NodeId::Client(_) => Peer::Client,
        };
        assert_eq!(peer_of(&config.cluster(), id), expected_peer, "{node}");
    }
    assert_eq!(config.stateright_id(client(2)), Id::from(8));
    assert_eq!(config.node_of(Id::from(9)), None);
    let learners: Vec<Id> = [0, 1, 2, 3, 6, 7, 8].into_iter().map(Id::from).collect();
    assert_eq!(topology.learners, learners);
    assert_eq!(topology.suspect_after.start, config.timing.suspect_leader());
}

/// A fixed, valid config (4 acceptors, 2 proposers, 2 clients on ports 7000..7007) whose keys
/// are readable: the domain key is `d0` repeated, then key `i` is the byte `i + 1` repeated.
fn base() -> (ClusterConfig, String) {
    let mut config = generated(4, 2, 2);
    let numbered = |i: usize| SecretKey::from_hex(format!("{:02x}", i + 1).repeat(32));
    config.acceptor_secrets.as_mut().unwrap().domain_key =
        Some(SecretKey::from_hex("d0".repeat(32)));
    for (i, entry) in config.channel_keys.iter_mut().enumerate() {
        entry.key = numbered(i);
    }
    let channels = config.channel_keys.len();
    for (i, entry) in config.command_keys.iter_mut().enumerate() {
        entry.key = numbered(channels + i);
    }
    config.validate().expect("the base config is valid");
    let text = config.to_toml().unwrap();
    (config, text)
}

/// The text of the key in `field` of the base config.
fn key_text(config: &ClusterConfig, field: KeyField) -> String {
    let (_, key) = all_keys(config)
        .into_iter()
        .find(|(f, _)| *f == field)
        .unwrap();
    key.as_hex().to_owned()
}

/// Replaces `from`, which must occur exactly once, by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

struct Case {
    what: &'static str,
    edits: Vec<(String, String)>,
    expected: ConfigError,
    /// A word the message must contain, so that it names the field.
    mentions: &'static str,
}

fn case(
    what: &'static str,
    edits: &[(&str, &str)],
    expected: ConfigError,
    mentions: &'static str,
) -> Case {
    let edits = edits
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    Case {
        what,
        edits,
        expected,
        mentions,
    }
}

fn not_hex(text: &str) -> KeyProblem {
    KeyProblem::NotHex(hex::decode(text).unwrap_err().to_string())
}

fn unparsable(node: NodeId, addr: &str) -> ConfigError {
    let reason = addr.parse::<SocketAddr>().unwrap_err().to_string();
    ConfigError::UnparsableAddress {
        node,
        addr: addr.to_owned(),
        reason,
    }
}

fn validation_cases(config: &ClusterConfig) -> Vec<Case> {
    use ConfigError::*;
    let domain = key_text(config, KeyField::Domain);
    let a1_p0 = KeyField::channel(acceptor(1), proposer(0));
    let a1_p0_key = key_text(config, a1_p0);
    let a1_p0_entry = format!(
        "[[channel_keys]]\nbetween = [\"acceptor 1\", \"proposer 0\"]\nkey = \"{a1_p0_key}\"\n\n"
    );
    let c1_entry = format!(
        "[[command_keys]]\nclient = 1\nkey = \"{}\"\n",
        key_text(config, KeyField::Command(ClientId(1)))
    );
    let a3_block = "[[acceptors]]\nid = 3\naddr = \"127.0.0.1:7003\"\n\n";
    let p_blocks = [
        "[[proposers]]\nid = 0\naddr = \"127.0.0.1:7004\"\n\n",
        "[[proposers]]\nid = 1\naddr = \"127.0.0.1:7005\"\n\n",
    ];
    let domain_line = format!("domain_key = \"{domain}\"");
    let odd = "abc".repeat(11);
    let short = "ab".repeat(15);
    let zz = format!("zz{}", &domain[2..]);
    vec![
        case(
            "f too big for 4 acceptors",
            &[("f = 1", "f = 2")],
            AcceptorCount {
                f: 2,
                expected: 7,
                found: 4,
            },
            "acceptors",
        ),
        case("f = 0", &[("f = 1", "f = 0")], NoFaultTolerance, "f:"),
        case(
            "one acceptor missing",
            &[(a3_block, "")],
            AcceptorCount {
                f: 1,
                expected: 4,
                found: 3,
            },
            "3f + 1",
        ),
        case(
            "no proposers",
            &[(p_blocks[0], ""), (p_blocks[1], "")],
            NoProposers,
            "proposers",
        ),
        case(
            "two acceptors with id 2",
            &[(
                "id = 3\naddr = \"127.0.0.1:7003\"",
                "id = 2\naddr = \"127.0.0.1:7003\"",
            )],
            DuplicateId {
                role: Role::Acceptor,
                id: 2,
            },
            "acceptors: id 2",
        ),
        case(
            "proposer ids with a gap",
            &[(
                "id = 1\naddr = \"127.0.0.1:7005\"",
                "id = 5\naddr = \"127.0.0.1:7005\"",
            )],
            IdOutOfRange {
                role: Role::Proposer,
                id: 5,
                count: 2,
            },
            "proposers: id 5",
        ),
        case(
            "two clients with id 0",
            &[(
                "id = 1\naddr = \"127.0.0.1:7007\"",
                "id = 0\naddr = \"127.0.0.1:7007\"",
            )],
            DuplicateId {
                role: Role::Client,
                id: 0,
            },
            "clients",
        ),
        case(
            "address without a port",
            &[("\"127.0.0.1:7002\"", "\"127.0.0.1\"")],
            unparsable(acceptor(2), "127.0.0.1"),
            "acceptor 2",
        ),
        case(
            "host name instead of an IP",
            &[("\"127.0.0.1:7005\"", "\"localhost:7005\"")],
            unparsable(proposer(1), "localhost:7005"),
            "proposer 1",
        ),
        case(
            "port out of range",
            &[("\"127.0.0.1:7006\"", "\"127.0.0.1:70000\"")],
            unparsable(client(0), "127.0.0.1:70000"),
            "client 0",
        ),
        case(
            "two nodes on one address",
            &[("\"127.0.0.1:7007\"", "\"127.0.0.1:7001\"")],
            DuplicateAddress {
                addr: "127.0.0.1:7001".parse().unwrap(),
                first: acceptor(1),
                second: client(1),
            },
            "127.0.0.1:7001",
        ),
        case(
            "zero suspect timeout",
            &[("suspect_leader_ms = 1000", "suspect_leader_ms = 0")],
            ZeroTimeout {
                field: "suspect_leader_ms",
            },
            "timing.suspect_leader_ms",
        ),
        case(
            "no domain key",
            &[(&format!("[acceptor_secrets]\n{domain_line}\n\n"), "")],
            MissingKey(KeyField::Domain),
            "domain_key",
        ),
        case(
            "empty [acceptor_secrets]",
            &[(&domain_line, "")],
            MissingKey(KeyField::Domain),
            "domain_key",
        ),
        case(
            "domain key not hex",
            &[(&domain, &zz)],
            BadKey {
                field: KeyField::Domain,
                problem: not_hex(&zz),
            },
            "domain_key",
        ),
        case(
            "domain key of odd length",
            &[(&domain, &odd)],
            BadKey {
                field: KeyField::Domain,
                problem: not_hex(&odd),
            },
            "not hex",
        ),
        case(
            "domain key of 15 bytes",
            &[(&domain, &short)],
            BadKey {
                field: KeyField::Domain,
                problem: KeyProblem::TooShort { bytes: 15 },
            },
            "15 bytes",
        ),
        case(
            "channel key too short",
            &[(&a1_p0_key, &short)],
            BadKey {
                field: a1_p0,
                problem: KeyProblem::TooShort { bytes: 15 },
            },
            "channel key between acceptor 1 and proposer 0",
        ),
        case(
            "a pair without a key",
            &[(&a1_p0_entry, "")],
            MissingKey(a1_p0),
            "channel key between acceptor 1 and proposer 0 is missing",
        ),
        case(
            "key entry for an unknown acceptor",
            &[(
                "[\"acceptor 1\", \"proposer 0\"]",
                "[\"acceptor 4\", \"proposer 0\"]",
            )],
            UnknownNode {
                field: KeyField::channel(acceptor(4), proposer(0)),
                node: acceptor(4),
            },
            "acceptor 4",
        ),
        case(
            "key entry for an unknown client",
            &[(
                "[\"proposer 1\", \"client 1\"]",
                "[\"proposer 1\", \"client 2\"]",
            )],
            UnknownNode {
                field: KeyField::channel(proposer(1), client(2)),
                node: client(2),
            },
            "client 2",
        ),
        case(
            "key for two proposers",
            &[(
                "[\"acceptor 1\", \"proposer 0\"]",
                "[\"proposer 1\", \"proposer 0\"]",
            )],
            SilentPair {
                a: proposer(1),
                b: proposer(0),
            },
            "never talk",
        ),
        case(
            "key for a node and itself",
            &[(
                "[\"acceptor 1\", \"proposer 0\"]",
                "[\"acceptor 1\", \"acceptor 1\"]",
            )],
            SilentPair {
                a: acceptor(1),
                b: acceptor(1),
            },
            "acceptor 1",
        ),
        case(
            "one pair twice, in the other order",
            &[(
                "[\"acceptor 1\", \"proposer 0\"]",
                "[\"proposer 1\", \"acceptor 0\"]",
            )],
            DuplicateKeyEntry(KeyField::channel(acceptor(0), proposer(1))),
            "given twice",
        ),
        case(
            "a client without a command key",
            &[(&c1_entry, "")],
            MissingKey(KeyField::Command(ClientId(1))),
            "command key of client 1",
        ),
        case(
            "command key for an unknown client",
            &[("client = 1\n", "client = 7\n")],
            UnknownNode {
                field: KeyField::Command(ClientId(7)),
                node: client(7),
            },
            "client 7",
        ),
        case(
            "two command keys for client 0",
            &[("client = 1\n", "client = 0\n")],
            DuplicateKeyEntry(KeyField::Command(ClientId(0))),
            "command key of client 0",
        ),
        case(
            "a channel key reused as the domain key",
            &[(&a1_p0_key, &domain)],
            ReusedKey {
                first: KeyField::Domain,
                second: a1_p0,
            },
            "the same key",
        ),
        case(
            "not TOML",
            &[("f = 1", "f = = 1")],
            Parse(String::new()),
            "TOML",
        ),
        case(
            "unknown field",
            &[("domain_key", "domian_key")],
            Parse("domian_key".into()),
            "domian_key",
        ),
        case(
            "node not of the form role N",
            &[(
                "\"acceptor 1\", \"proposer 0\"",
                "\"replica 1\", \"proposer 0\"",
            )],
            Parse("replica 1".into()),
            "acceptor N",
        ),
        case(
            "negative id",
            &[("id = 3\n", "id = -3\n")],
            Parse(String::new()),
            "id",
        ),
        case(
            "address that is not a string",
            &[("\"127.0.0.1:7003\"", "7003")],
            Parse(String::new()),
            "addr",
        ),
    ]
}

#[test]
fn every_validation_error_from_a_hand_edited_file() {
    let (config, text) = base();
    for case in validation_cases(&config) {
        let mut edited = text.clone();
        for (from, to) in &case.edits {
            edited = edit(&edited, from, to);
        }
        let error = ClusterConfig::from_toml(&edited).expect_err(case.what);
        match (&case.expected, &error) {
            // A parse error's message is the TOML parser's; check only what it mentions.
            (ConfigError::Parse(part), ConfigError::Parse(message)) => {
                assert!(message.contains(part.as_str()), "{}: {message}", case.what)
            }
            (expected, actual) => assert_eq!(actual, expected, "{}", case.what),
        }
        let message = error.to_string();
        assert!(
            message.contains(case.mentions),
            "{}: {message:?} should mention {:?}",
            case.what,
            case.mentions
        );
    }
}

#[test]
fn optional_parts_may_be_left_out_or_reordered() {
    let (config, text) = base();
    let defaults = edit(
        &text,
        "[timing]\nsuspect_leader_ms = 1000\nclient_timeout_ms = 3000\n",
        "",
    );
    assert_eq!(ClusterConfig::from_toml(&defaults).unwrap(), config);

    let no_client_addr = edit(&text, "addr = \"127.0.0.1:7006\"\n", "");
    let parsed = ClusterConfig::from_toml(&no_client_addr).unwrap();
    assert_eq!(parsed.address(client(0)), None);
    assert_eq!(parsed.clients[0].addr, None);
    assert!(
        !parsed.to_toml().unwrap().contains("7006"),
        "an absent addr is not written"
    );

    let reordered = edit(
        &text,
        "[[acceptors]]\nid = 0\naddr = \"127.0.0.1:7000\"\n\n[[acceptors]]\nid = 1\naddr = \"127.0.0.1:7001\"\n",
        "[[acceptors]]\nid = 1\naddr = \"127.0.0.1:7001\"\n\n[[acceptors]]\nid = 0\naddr = \"127.0.0.1:7000\"\n",
    );
    let parsed = ClusterConfig::from_toml(&reordered).unwrap();
    assert_eq!(parsed.stateright_id(acceptor(0)), Id::from(0));
    assert_eq!(parsed.address(acceptor(0)), config.address(acceptor(0)));
}

#[test]
fn a_damaged_file_is_an_error_never_a_panic() {
    let (_, text) = base();
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let damaged: Vec<&str> = (lines.iter().enumerate())
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        let _ = ClusterConfig::from_toml(&damaged.join("\n"));
    }
    for cut in (0..text.len()).step_by(37) {
        let _ = ClusterConfig::from_toml(&text[..cut]);
    }
    let huge_f = edit(&text, "f = 1", &format!("f = {}", u64::MAX));
    assert!(ClusterConfig::from_toml(&huge_f).is_err());
}

#[test]
fn generate_refuses_shapes_that_are_not_a_cluster() {
    for acceptors in [0, 1, 3, 5, 6] {
        assert!(
            ClusterConfig::generate(acceptors, 1, 0, 7000, LOCALHOST).is_err(),
            "{acceptors}"
        );
    }
    assert!(ClusterConfig::generate(4, 0, 0, 7000, LOCALHOST).is_err());
    assert!(ClusterConfig::generate(4, 2, 1, 65530, LOCALHOST).is_err());
    assert!(ClusterConfig::generate(4, 2, 0, 65530, LOCALHOST).is_ok());
}

#[test]
fn keys_never_show_in_debug_output() {
    let config = generated(4, 1, 1);
    let debug = format!("{config:?}");
    for (field, key) in all_keys(&config) {
        assert!(!debug.contains(key.as_hex()), "{field} leaks");
    }
}

fn bpfp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfp"))
        .args(args)
        .output()
        .expect("the bpfp binary runs")
}

#[test]
fn bpfp_config_prints_a_config_that_parses_and_validates() {
    let out = bpfp(&[
        "config",
        "--acceptors",
        "4",
        "--proposers",
        "2",
        "--base-port",
        "7000",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = ClusterConfig::from_toml(std::str::from_utf8(&out.stdout).unwrap())
        .expect("bpfp config prints a valid config");
    assert_eq!(
        (config.f, config.acceptors.len(), config.proposers.len()),
        (1, 4, 2)
    );
    assert_eq!(config.clients.len(), 1, "one client by default");
    assert_eq!(
        config.address(acceptor(0)),
        Some("127.0.0.1:7000".parse().unwrap())
    );

    let out = bpfp(&[
        "config",
        "--acceptors",
        "7",
        "--proposers",
        "3",
        "--clients",
        "2",
        "--base-port",
        "9000",
        "--host",
        "10.1.2.3",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let config = ClusterConfig::from_toml(std::str::from_utf8(&out.stdout).unwrap()).unwrap();
    assert_eq!((config.f, config.clients.len()), (2, 2));
    assert_eq!(
        config.address(proposer(2)),
        Some("10.1.2.3:9009".parse().unwrap())
    );
}

#[test]
fn bpfp_config_rejects_bad_arguments_with_exit_2() {
    let bad = [
        (
            vec![
                "--acceptors",
                "5",
                "--proposers",
                "2",
                "--base-port",
                "7000",
            ],
            "3f + 1",
        ),
        (
            vec![
                "--acceptors",
                "1",
                "--proposers",
                "2",
                "--base-port",
                "7000",
            ],
            "3f + 1",
        ),
        (
            vec![
                "--acceptors",
                "4",
                "--proposers",
                "0",
                "--base-port",
                "7000",
            ],
            "proposers",
        ),
        (
            vec![
                "--acceptors",
                "4",
                "--proposers",
                "2",
                "--base-port",
                "65533",
            ],
            "ports",
        ),
        (
            vec![
                "--acceptors",
                "4",
                "--proposers",
                "2",
                "--base-port",
                "7000",
                "--host",
                "my-host",
            ],
            "host",
        ),
        (
            vec!["--acceptors", "4", "--proposers", "2", "--base-port", "0"],
            "--base-port",
        ),
        (
            vec![
                "--acceptors",
                "4",
                "--proposers",
                "2",
                "--clients",
                "0",
                "--base-port",
                "7000",
            ],
            "--clients",
        ),
    ];
    for (args, mentions) in bad {
        let out = bpfp(&[&["config"], args.as_slice()].concat());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    }
}

/// New keys in place of a config's would make every store and share made with it wrong:
/// `bpfp config --out` replaces nothing unless told to.
#[test]
fn bpfp_config_out_replaces_an_existing_config_only_with_force() {
    let scratch = TempDir::new("config-force");
    let dir = scratch.path();
    let out_to = |proposers: &str, extra: &[&str]| {
        let dir = dir.to_str().unwrap();
        let args = ["config", "--acceptors", "4", "--proposers", proposers];
        bpfp(&[&args[..], &["--base-port", "7000", "--out", dir], extra].concat())
    };
    assert_eq!(out_to("2", &[]).status.code(), Some(0));
    let cluster = dir.join("cluster.toml");
    let first = std::fs::read_to_string(&cluster).unwrap();

    let again = out_to("2", &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&cluster.display().to_string()), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&cluster).unwrap(), first, "kept");

    assert_eq!(out_to("1", &["--force"]).status.code(), Some(0));
    assert_ne!(
        std::fs::read_to_string(&cluster).unwrap(),
        first,
        "replaced"
    );
    // The share of a proposer the new config does not have holds old keys: gone with them.
    assert!(dir.join("proposer-0.toml").exists());
    assert!(
        !dir.join("proposer-1.toml").exists(),
        "a stale share was left"
    );
}

#[test]
fn a_share_holds_only_its_nodes_keys_and_nothing_foreign_passes() {
    let config = generated(4, 2, 2);
    let p1 = NodeId::new(Role::Proposer, 1);
    let share = config.share_for(p1);
    share.validate().expect("a share is valid");
    assert_eq!(share.share_of, Some(p1));
    assert!(share.domain_key().is_none(), "no domain key");
    assert!(share.command_keys.is_empty(), "no command key");
    assert!(share.channel_keys.iter().all(|k| k.between.contains(&p1)));
    assert_eq!(
        share.channel_keys.len(),
        4 + 2,
        "one per acceptor and client"
    );
    let round_trip = ClusterConfig::from_toml(&share.to_toml().unwrap()).unwrap();
    assert_eq!(round_trip, share);

    let c0 = NodeId::new(Role::Client, 0);
    let client = config.share_for(c0);
    client.validate().expect("a client's share is valid");
    assert_eq!(client.command_keys.len(), 1);
    assert_eq!(client.command_keys[0].client, 0);

    // A share with a key that is not its node's is refused, naming the key.
    let mut leaky = share.clone();
    leaky.command_keys.push(config.command_keys[0].clone());
    let e = leaky.validate().unwrap_err();
    assert!(e.to_string().contains("share of proposer 1"), "{e}");
    let mut leaky = share.clone();
    leaky.acceptor_secrets = config.acceptor_secrets.clone();
    assert!(leaky.validate().is_err());
    let mut leaky = share.clone();
    leaky.channel_keys.push(
        config
            .channel_keys
            .iter()
            .find(|k| !k.between.contains(&p1))
            .unwrap()
            .clone(),
    );
    assert!(leaky.validate().is_err());
    // Acceptors read the whole config: no acceptor has a share.
    let mut wrong = share.clone();
    wrong.share_of = Some(NodeId::new(Role::Acceptor, 0));
    assert!(wrong.validate().is_err());
}

#[test]
fn limits_default_when_left_out_and_bad_ones_are_named() {
    let (config, text) = base();
    let table = "[limits]\nmax_command_bytes = 16384\nmax_batch_bytes = 49152\nmax_open_vote_bytes = 262144\nmax_slots_in_flight = 1\n";
    assert_eq!(
        ClusterConfig::from_toml(&edit(&text, table, "")).unwrap(),
        config
    );
    let bad = [
        (
            "max_command_bytes = 16384",
            "max_command_bytes = 0",
            "limits.max_command_bytes",
        ),
        // A command at the limit would fit no batch.
        (
            "max_batch_bytes = 49152",
            "max_batch_bytes = 16392",
            "limits.max_batch_bytes",
        ),
        // An ACCEPT with the batch would not fit a datagram.
        (
            "max_batch_bytes = 49152",
            "max_batch_bytes = 60001",
            "limits.max_batch_bytes",
        ),
        (
            "max_open_vote_bytes = 262144",
            "max_open_vote_bytes = 49151",
            "limits.max_open_vote_bytes",
        ),
        (
            "max_slots_in_flight = 1",
            "max_slots_in_flight = 0",
            "limits.max_slots_in_flight",
        ),
        // 6 full batches of 48 KiB are over the 256 KiB of open votes an acceptor holds.
        (
            "max_slots_in_flight = 1",
            "max_slots_in_flight = 6",
            "limits.max_slots_in_flight",
        ),
    ];
    for (from, to, mentions) in bad {
        let message = ClusterConfig::from_toml(&edit(&text, from, to))
            .expect_err(to)
            .to_string();
        assert!(message.contains(mentions), "{to}: {message}");
    }
    // The tightest legal limits are accepted.
    let tight = edit(&text, "max_batch_bytes = 49152", "max_batch_bytes = 16393");
    let tight = edit(
        &tight,
        "max_open_vote_bytes = 262144",
        "max_open_vote_bytes = 16393",
    );
    assert!(ClusterConfig::from_toml(&tight).is_ok());
    // There, a second slot in flight could hold a batch that acceptors must refuse.
    let two = edit(&tight, "max_slots_in_flight = 1", "max_slots_in_flight = 2");
    let message = ClusterConfig::from_toml(&two).expect_err("two").to_string();
    assert!(message.contains("limits.max_slots_in_flight"), "{message}");
    let widest = edit(&text, "max_slots_in_flight = 1", "max_slots_in_flight = 5");
    assert!(ClusterConfig::from_toml(&widest).is_ok());
}
