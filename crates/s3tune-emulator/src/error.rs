//! Errors of the emulator's configuration and start-up. Errors of S3 requests are S3
//! errors (`s3s::S3Error`), answered to the client, never returned here.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A configuration that cannot be used; each variant says what to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--network NAME` with a name that is neither a profile nor a file.
    #[error("unknown network profile `{0}`: use unlimited, s3-like, faulty or a .toml file")]
    UnknownProfile(String),
    /// A profile file that cannot be read or parsed.
    #[error("network profile file {path}: {reason}")]
    ProfileFile {
        /// The file as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A profile field outside its range.
    #[error("network profile field `{field}` out of range: {reason}")]
    OutOfRange {
        /// The field's name, as in TOML.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A malformed `--object BUCKET/KEY=SIZE`.
    #[error(
        "bad --object `{spec}`: {reason} (expected BUCKET/KEY=SIZE, e.g. data/big.bin=3GiB or data/img-{{0000..1999}}.jpg=lognormal(100KiB,0.5))"
    )]
    ObjectSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listen address could not be bound (in use, not local, no permission).
    #[error(
        "cannot listen on {addr}: {reason} (pick another with --listen, or 127.0.0.1:0 for any free port)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS's words (said once: not also a source of this error).
        reason: String,
    },
    /// The data directory cannot be created, read or written.
    #[error("data dir {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A runtime for the dedicated server thread could not be built.
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(std::io::Error),
}
