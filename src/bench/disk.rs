//! What one synced write costs on the disk the benchmark's stores are on, with as many writers
//! at once as the local cluster has acceptors. At one client every command waits for a quorum
//! of the acceptors' synced writes, made at once on that disk: this is what such a write
//! typically costs there, most of what a command costs at one client.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The size of a one-command vote's record, about.
const RECORD: [u8; 120] = [0x5a; 120];

/// The median time of one append of [`RECORD`] and its `fdatasync`, as the acceptors' stores
/// make them, with `writers` threads doing so at once, each to a file of its own in `dir`:
/// `appends` each, or fewer if [`TIME_SPENT`] passes first. The files are removed.
pub fn synced_append(dir: &Path, writers: usize, appends: usize) -> io::Result<Duration> {
    if writers == 0 || appends == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no writer or no append to time",
        ));
    }
    fs::create_dir_all(dir)?;
    // Nothing before the barrier can panic, so no writer waits there for one that did.
    let start = Barrier::new(writers);
    let results: Vec<io::Result<Vec<Duration>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..writers)
            .map(|i| {
                let path = dir.join(format!("synced-append-{i}"));
                let start = &start;
                scope.spawn(move || {
                    let file = OpenOptions::new()
                        .create(true)
                        .truncate(true)
                        .write(true)
                        .open(&path);
                    start.wait();
                    let times = file.and_then(|mut file| time_appends(&mut file, appends));
                    let _ = fs::remove_file(&path);
                    times
                })
            })
            .collect();
        // Every writer is joined before any error is looked at: the scope would panic on a
        // writer that panicked and was left to it.
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a writer panicked")))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(writers * appends);
    for times in results {
        all.extend(times?);
    }
    Ok(median(all))
}

/// How long each writer goes on at most: a slow disk (a sync of 10 ms) would otherwise make
/// every local bench wait seconds for this figure.
const TIME_SPENT: Duration = Duration::from_millis(150);

fn time_appends(file: &mut File, appends: usize) -> io::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(appends);
    let first = Instant::now();
    for _ in 0..appends {
        if first.elapsed() > TIME_SPENT {
            break;
        }
        let began = Instant::now();
        file.write_all(&RECORD)?;
        file.sync_data()?;
        times.push(began.elapsed());
    }
    Ok(times)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_dir::TempDir;

    #[test]
    fn every_writer_appends_and_syncs_and_leaves_no_file() {
        let dir = TempDir::new("synced-append");
        let took = synced_append(dir.path(), 3, 5).unwrap();
        assert!(took > Duration::ZERO);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_that_cannot_be_made_is_an_error() {
        let dir = TempDir::new("synced-append-file");
        let file = dir.path().join("a-file");
        fs::write(&file, b"").unwrap();
        assert!(synced_append(&file.join("below"), 2, 1).is_err());
    }

    #[test]
    fn no_writer_or_no_append_is_an_error_not_a_zero() {
        let dir = TempDir::new("synced-append-none");
        for (writers, appends) in [(0, 5), (2, 0)] {
            let err = synced_append(dir.path(), writers, appends).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn the_median_is_the_middle_time() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(Vec::new()), Duration::ZERO);
    }
}
