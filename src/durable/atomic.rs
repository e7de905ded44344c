//! Replacing a file whole, so that after a crash it holds either the old or the new bytes.

use super::error::DurableError;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where the new contents are written before the rename; a leftover one is an unfinished
/// replacement, which the rename never made visible.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to a temporary file, syncs it, renames it over `path` and syncs the
/// directory, so that the rename itself survives a crash.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
    let temp = temp_path(path);
    let io = |action, source| DurableError::Io {
        path: temp.clone(),
        action,
        source,
    };
    drop(write_temp(&temp, bytes)?);
    fs::rename(&temp, path).map_err(|e| io("rename temporary file", e))?;
    sync_parent_dir(path)
}

/// Creates (or truncates) the temporary file `temp`, writes `bytes` and syncs them; returns
/// the file, open for writing at its end.
pub fn write_temp(temp: &Path, bytes: &[u8]) -> Result<File, DurableError> {
    let io = |action, source| DurableError::Io {
        path: temp.to_path_buf(),
        action,
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)
        .map_err(|e| io("create temporary file", e))?;
    file.write_all(bytes)
        .map_err(|e| io("write temporary file", e))?;
    file.sync_all().map_err(|e| io("sync temporary file", e))?;
    Ok(file)
}

/// Removes a temporary file left by a replacement that a crash interrupted.
pub fn remove_stale_temp(path: &Path) -> Result<(), DurableError> {
    let temp = temp_path(path);
    match fs::remove_file(&temp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(DurableError::Io {
            path: temp,
            action: "remove stale temporary file",
            source: e,
        }),
        _ => Ok(()),
    }
}

pub fn sync_parent_dir(path: &Path) -> Result<(), DurableError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| DurableError::Io {
            path: dir.to_path_buf(),
            action: "sync directory",
            source,
        })
}
