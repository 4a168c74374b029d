//! What an emulator serves, and where.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::network::NetworkProfile;
use crate::units::parse_size;

/// Access key the emulator accepts unless told otherwise.
pub const DEFAULT_ACCESS_KEY: &str = "s3tune";
/// Secret key the emulator accepts unless told otherwise.
pub const DEFAULT_SECRET_KEY: &str = "s3tune-secret-key";
/// Region the emulator reports unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Everything an emulator needs to start. `Default` is an in-memory, unshaped server on a
/// free loopback port with the default key pair.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on (`127.0.0.1:0`: a free loopback port).
    pub listen: SocketAddr,
    /// The emulated network.
    pub network: NetworkProfile,
    /// Where to persist buckets and objects; `None` keeps them in memory.
    pub data_dir: Option<PathBuf>,
    /// Synthetic objects to create at start-up (their buckets too).
    pub objects: Vec<ObjectSpec>,
    /// The access key clients must sign with.
    pub access_key: String,
    /// The secret key clients must sign with.
    pub secret_key: String,
    /// The region reported to clients.
    pub region: String,
    /// Extra domains for virtual-host-style requests (`BUCKET.<domain>`), besides
    /// `localhost`.
    pub domains: Vec<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            network: NetworkProfile::unlimited(),
            data_dir: None,
            objects: Vec::new(),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key: DEFAULT_SECRET_KEY.to_owned(),
            region: DEFAULT_REGION.to_owned(),
            domains: Vec::new(),
        }
    }
}

/// A synthetic object to create: `BUCKET/KEY=SIZE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    /// Bucket (created if missing).
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

impl FromStr for ObjectSpec {
    type Err = ConfigError;

    /// Parses `BUCKET/KEY=SIZE` with a human size (`3GiB`, `512MiB`, `1000000`).
    fn from_str(spec: &str) -> Result<Self, ConfigError> {
        let err = |reason: &str| ConfigError::ObjectSpec {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (path, size) = spec.rsplit_once('=').ok_or_else(|| err("no `=SIZE`"))?;
        let (bucket, key) = path
            .split_once('/')
            .ok_or_else(|| err("no `/` between bucket and key"))?;
        if bucket.is_empty() {
            return Err(err("empty bucket name"));
        }
        crate::store::validate_bucket_name(bucket).map_err(|e| err(&e.to_string()))?;
        if key.is_empty() {
            return Err(err("empty key"));
        }
        let size = parse_size(size).map_err(|e| err(&e))?;
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_specs() {
        let s: ObjectSpec = "data/dir/big.bin=3GiB".parse().unwrap();
        assert_eq!(
            (s.bucket.as_str(), s.key.as_str(), s.size),
            ("data", "dir/big.bin", 3 << 30)
        );
        let s: ObjectSpec = "data/a=b=1000000".parse().unwrap();
        assert_eq!((s.key.as_str(), s.size), ("a=b", 1_000_000));
        for bad in [
            "data/key",
            "nokey=5",
            "/key=5",
            "data/=5",
            "data/key=lots",
            "UPPER/key=5",
        ] {
            let e = bad.parse::<ObjectSpec>().unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
