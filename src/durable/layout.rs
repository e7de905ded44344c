//! The fixed numbers of the store's two files, below every other part of the store: the
//! readers and writers lay the bytes out by them, and the error messages name them.

/// The durable log (`format.rs`, `log.rs`).
pub mod log_file {
    /// The format this code writes and reads; any other is refused. Version 2: an acceptor's
    /// records are changes to fold (`AcceptorRecord`), no longer whole states, so a version-1
    /// file must not be read as one.
    pub const VERSION: u32 = 2;
    /// magic (8) + version (4) + generation (8) + sealed length (8) + header checksum (4).
    pub const HEADER_LEN: usize = 32;
    /// Recovery reads the whole file into memory; compaction keeps it near its threshold, so a
    /// larger file is not one of this store's.
    pub const MAX_FILE_LEN: u64 = 1 << 30;
}

/// A snapshot (`snapshot.rs`).
pub mod snapshot_file {
    pub const VERSION: u32 = 1;
    /// magic (8) + version (4) + payload length (8) + checksum (4).
    pub const HEADER_LEN: usize = 24;
}
