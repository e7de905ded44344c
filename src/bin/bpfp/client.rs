//! `bpfp put`, `bpfp get` and `bpfp cas`: one command, its answer on stdout.

use crate::Failure;
use crate::serve::read_config;
use bp_fast_paxos::service::client::{Client, ClientError};
use bp_fast_paxos::service::{Op, Reply};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ClientArgs {
    /// The cluster config (from `bpfp config` or `bpfp local`).
    #[arg(long)]
    config: PathBuf,
    /// Which client of the config to be (each has its own keys).
    #[arg(long, default_value_t = 0)]
    client: u16,
    /// The key.
    key: String,
}

#[derive(Args, Debug)]
pub struct PutArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The value: the words given, joined by spaces.
    #[arg(required = true)]
    value: Vec<String>,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args, Debug)]
pub struct CasArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The value the key must have (omit with --if-absent).
    #[arg(
        long,
        conflicts_with = "if_absent",
        required_unless_present = "if_absent"
    )]
    expect: Option<String>,
    /// Swap only if the key has no value.
    #[arg(long)]
    if_absent: bool,
    /// The new value: the words given, joined by spaces.
    #[arg(required = true)]
    new: Vec<String>,
}

pub fn run_put(args: PutArgs) -> Result<(), Failure> {
    let op = Op::Put {
        key: args.client.key.clone(),
        value: args.value.join(" "),
    };
    run(&args.client, op)
}

pub fn run_get(args: GetArgs) -> Result<(), Failure> {
    let op = Op::Get {
        key: args.client.key.clone(),
    };
    run(&args.client, op)
}

pub fn run_cas(args: CasArgs) -> Result<(), Failure> {
    let op = Op::Cas {
        key: args.client.key.clone(),
        expected: args.expect,
        new: args.new.join(" "),
    };
    run(&args.client, op)
}

fn run(args: &ClientArgs, op: Op) -> Result<(), Failure> {
    let config = read_config(&args.config)?;
    let mut client = Client::connect(&config, args.client).map_err(|e| match e {
        ClientError::Config(why) => Failure::Usage(why),
        other => Failure::runtime("cannot start the client", other),
    })?;
    let reply = client.execute(op).map_err(|e| match e {
        ClientError::TooLarge { .. } => Failure::Runtime(e.to_string()),
        other => Failure::runtime(&format!("no answer for {:?}", args.key), other),
    })?;
    match reply {
        Reply::Stored => println!("OK"),
        Reply::Value(Some(value)) => println!("{value}"),
        Reply::Value(None) => println!("(absent)"),
        Reply::Cas { swapped: true, .. } => println!("swapped"),
        Reply::Cas {
            swapped: false,
            found,
        } => println!(
            "not swapped: the value is {}",
            found.map_or("(absent)".to_string(), |v| format!("{v:?}"))
        ),
    }
    Ok(())
}
