//! What an emulator serves, and where.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub use crate::dataset::ObjectSpec;
use crate::network::NetworkProfile;

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
    /// Synthetic objects and datasets to create at start-up (their buckets too).
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
