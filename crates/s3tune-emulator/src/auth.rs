//! Credentials and virtual-host parsing for the S3 service.

use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::{S3Result, s3_error};

/// The emulator's one key pair. Unknown access keys get S3's `InvalidAccessKeyId`
/// (s3s's own `SimpleAuth` answers `NotSignedUp`, which no S3 client expects).
#[derive(Debug, Clone)]
pub struct KeyPair {
    access_key: String,
    secret_key: SecretKey,
}

impl KeyPair {
    /// The pair `access_key` / `secret_key`.
    pub fn new(access_key: &str, secret_key: &str) -> Self {
        Self {
            access_key: access_key.to_owned(),
            secret_key: SecretKey::from(secret_key),
        }
    }
}

#[async_trait::async_trait]
impl S3Auth for KeyPair {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            ))
        }
    }
}

/// Virtual-host-style addressing: `BUCKET.localhost[:port]` or `BUCKET.<domain>[:port]`
/// names a bucket; any other host name (`localhost`, the machine's name) is path-style.
/// (IP addresses never reach this: s3s treats them as path-style itself.)
#[derive(Debug, Clone)]
pub struct Hosts {
    domains: Vec<String>,
}

impl Hosts {
    /// Virtual hosts under `localhost` and the extra `domains`.
    pub fn new(domains: &[String]) -> Self {
        let mut all = vec!["localhost".to_owned()];
        all.extend(domains.iter().map(|d| d.to_ascii_lowercase()));
        Self { domains: all }
    }
}

impl S3Host for Hosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        for domain in &self.domains {
            if let Some(bucket) = name
                .strip_suffix(domain.as_str())
                .and_then(|b| b.strip_suffix('.'))
                && !bucket.is_empty()
            {
                return Ok(VirtualHost::new(domain.as_str()).with_bucket(bucket));
            }
        }
        Ok(VirtualHost::new(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosts() {
        let h = Hosts::new(&["s3.test".into()]);
        assert_eq!(
            h.parse_host_header("data.localhost:9000").unwrap().bucket(),
            Some("data")
        );
        assert_eq!(
            h.parse_host_header("my.bucket.s3.test").unwrap().bucket(),
            Some("my.bucket")
        );
        assert_eq!(
            h.parse_host_header("localhost:9000").unwrap().bucket(),
            None
        );
        assert_eq!(h.parse_host_header("myhost").unwrap().bucket(), None);
    }
}
