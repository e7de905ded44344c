//! Reading trace files and merging them into one history.
//!
//! The merge orders events by their time stamps while keeping each file's own order. The
//! stamps come from one clock when the acceptors run on one machine (as in `bpfp local` and
//! `bpfp torture`); a recorder stamps an event before its step's messages are sent, so a
//! message's effects at its receiver are always stamped later than the event that sent it.

use super::event::{Event, FORMAT, Header, Record};
use crate::log::Slot;
use std::fmt::{self, Display};
use std::fs;
use std::path::{Path, PathBuf};

/// One acceptor's trace.
#[derive(Clone, Debug)]
pub struct TraceFile {
    pub path: PathBuf,
    pub header: Header,
    pub records: Vec<Record>,
    /// Its last line was torn, and left out as a write cut short by a crash.
    pub torn: bool,
}

/// An event of the merged history, with where it came from.
#[derive(Clone, Debug)]
pub struct Step {
    pub acceptor: u16,
    pub t: u64,
    /// The file and line it was read from, for error messages.
    pub origin: String,
    pub event: Event,
}

/// The merged traces of a cluster.
#[derive(Clone, Debug)]
pub struct History {
    pub f: usize,
    pub proposers: usize,
    /// The acceptors' slot window, if their traces record it.
    pub window: Option<Slot>,
    pub steps: Vec<Step>,
    /// The files whose torn last line was left out ([`TraceFile::torn`]).
    pub torn: Vec<PathBuf>,
}

/// Why trace files cannot be read.
#[derive(Debug)]
pub enum ReadError {
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    Empty(PathBuf),
    Malformed {
        path: PathBuf,
        line: usize,
        why: String,
    },
    /// The files are of different clusters, or two are of one acceptor.
    Mismatch(String),
}

impl Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            ReadError::Empty(path) => write!(f, "{}: empty, not a trace", path.display()),
            ReadError::Malformed { path, line, why } => {
                write!(f, "{}:{line}: {why}", path.display())
            }
            ReadError::Mismatch(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads one trace file: its header, then one record per line.
pub fn read_trace(path: &Path) -> Result<TraceFile, ReadError> {
    let text = fs::read_to_string(path).map_err(|error| ReadError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let malformed = |line: usize, why: String| ReadError::Malformed {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(ReadError::Empty(path.to_path_buf()));
    };
    let header: Header = serde_json::from_str(first)
        .map_err(|e| malformed(1, format!("not a trace header: {e}")))?;
    if header.format != FORMAT {
        return Err(malformed(
            1,
            format!("format {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    let mut records = Vec::new();
    let mut torn = false;
    let last = text.lines().count();
    for (index, line) in lines {
        match serde_json::from_str::<Record>(line) {
            Ok(record) => records.push(record),
            // A node killed in the middle of a write leaves a torn last line: not an event.
            Err(_) if index + 1 == last && !text.ends_with('\n') => {
                torn = true;
                break;
            }
            Err(e) => return Err(malformed(index + 1, e.to_string())),
        }
    }
    Ok(TraceFile {
        path: path.to_path_buf(),
        header,
        records,
        torn,
    })
}

/// Reads the trace files of one cluster's acceptors and merges them.
pub fn read_history(paths: &[PathBuf]) -> Result<History, ReadError> {
    let files = paths
        .iter()
        .map(|p| read_trace(p))
        .collect::<Result<Vec<_>, _>>()?;
    merge(files)
}

/// Merges traces by time stamp, each file in its own order.
pub fn merge(files: Vec<TraceFile>) -> Result<History, ReadError> {
    let Some(first) = files.first() else {
        return Err(ReadError::Mismatch("no trace files".into()));
    };
    let (f, proposers) = (first.header.f, first.header.proposers);
    let window = first.header.window;
    let mut seen = Vec::new();
    for file in &files {
        let h = &file.header;
        if h.window != window {
            return Err(ReadError::Mismatch(format!(
                "{} has the slot window {:?}, {} has {window:?}",
                file.path.display(),
                h.window,
                first.path.display()
            )));
        }
        if (h.f, h.proposers) != (f, proposers) {
            return Err(ReadError::Mismatch(format!(
                "{} is of a cluster with f = {} and {} proposers, {} of f = {f} and {proposers}",
                file.path.display(),
                h.f,
                h.proposers,
                first.path.display()
            )));
        }
        if usize::from(h.acceptor) > 3 * f || seen.contains(&h.acceptor) {
            return Err(ReadError::Mismatch(format!(
                "{}: acceptor {} is out of range or has two traces",
                file.path.display(),
                h.acceptor
            )));
        }
        seen.push(h.acceptor);
    }
    if seen.len() != 3 * f + 1 {
        // A decision rests on the votes of a quorum: without every acceptor's trace, the
        // replay would refuse decisions that were right.
        return Err(ReadError::Mismatch(format!(
            "traces of all {} acceptors are needed, {} given",
            3 * f + 1,
            seen.len()
        )));
    }
    let mut next = vec![0usize; files.len()];
    let mut steps = Vec::with_capacity(files.iter().map(|f| f.records.len()).sum());
    loop {
        let earliest = files
            .iter()
            .enumerate()
            .filter_map(|(i, file)| file.records.get(next[i]).map(|r| (r.t, i)))
            .min();
        let Some((_, i)) = earliest else {
            break;
        };
        let file = &files[i];
        let record = &file.records[next[i]];
        next[i] += 1;
        steps.push(Step {
            acceptor: file.header.acceptor,
            t: record.t,
            origin: format!("{} (record {})", file.path.display(), next[i]),
            event: record.event.clone(),
        });
    }
    Ok(History {
        f,
        proposers,
        window,
        steps,
        torn: files
            .iter()
            .filter(|file| file.torn)
            .map(|file| file.path.clone())
            .collect(),
    })
}
