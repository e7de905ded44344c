//! What one synced write costs on the disk the benchmark's stores are on, with as many writers
//! at once as the local cluster has acceptors. At one client every command waits for a quorum
//! of the acceptors' synced writes, so this is a floor under its latency that no protocol
//! that keeps its decisions on that disk can go below; the same holds for the peer's.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The size of a one-command vote's record, about.
const RECORD: [u8; 120] = [0x5a; 120];

/// The median time of one append of [`RECORD`] and its `fdatasync`, as the acceptors' stores
/// make them, with `writers` threads doing so at once, each to a file of its own in `dir`
/// (`appends` each). The files are removed.
pub fn synced_append(dir: &Path, writers: usize, appends: usize) -> io::Result<Duration> {
    fs::create_dir_all(dir)?;
    let start = Barrier::new(writers);
    let times = std::thread::scope(|scope| {
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
        let mut all = Vec::with_capacity(writers * appends);
        for thread in threads {
            let times = thread
                .join()
                .map_err(|_| io::Error::other("a writer panicked"))??;
            all.extend(times);
        }
        Ok::<_, io::Error>(all)
    })?;
    Ok(median(times))
}

fn time_appends(file: &mut File, appends: usize) -> io::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(appends);
    for _ in 0..appends {
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
    fn the_median_is_the_middle_time() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(Vec::new()), Duration::ZERO);
    }
}
