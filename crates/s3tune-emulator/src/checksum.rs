//! S3's additional checksums: CRC32, CRC32C, CRC64NVME, SHA-1 and SHA-256, as S3 computes,
//! combines and spells them.
//!
//! An object's checksum is *full-object* (the digest of every byte: a single PUT, or a
//! multipart upload of the `FULL_OBJECT` type, whose part CRCs combine into the CRC of
//! the whole) or *composite* (`BASE64-N`: the digest of the parts' binary digests, in
//! order — the `COMPOSITE` type, the only one SHA digests allow). Values are the
//! base64 of the big-endian digest. When a client names no algorithm, S3 keeps a
//! full-object CRC64NVME, and so does the emulator.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha1::Digest as _;

/// An additional checksum algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// CRC-32 (ISO-HDLC, as zlib).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME.
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

/// Every algorithm, in the order S3 documents them.
pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64Nvme,
    Algorithm::Sha1,
    Algorithm::Sha256,
];

impl Algorithm {
    /// As S3 names it (`CRC32`, `CRC64NVME`, `SHA256`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer) that carries it: `x-amz-checksum-crc32`.
    #[must_use]
    pub fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }

    /// The algorithm S3 calls `name` (any case).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        ALGORITHMS
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether it is a CRC (which combine, so allow full-object multipart checksums).
    #[must_use]
    pub fn is_crc(self) -> bool {
        matches!(self, Self::Crc32 | Self::Crc32c | Self::Crc64Nvme)
    }

    /// Bytes of a digest.
    #[must_use]
    pub fn width(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    fn crc(self) -> Option<crc_fast::CrcAlgorithm> {
        use crc_fast::CrcAlgorithm as C;
        match self {
            Self::Crc32 => Some(C::Crc32IsoHdlc),
            Self::Crc32c => Some(C::Crc32Iscsi),
            Self::Crc64Nvme => Some(C::Crc64Nvme),
            Self::Sha1 | Self::Sha256 => None,
        }
    }
}

/// Whether an object's checksum covers its bytes or its parts' checksums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// The digest of every byte.
    FullObject,
    /// The digest of the parts' digests, `-N`.
    Composite,
}

impl Kind {
    /// As S3 names it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::FullObject => "FULL_OBJECT",
            Self::Composite => "COMPOSITE",
        }
    }
}

/// A checksum as stored and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// Base64 of the digest, with `-N` for a composite of N parts.
    pub value: String,
    /// Full-object or composite.
    pub kind: Kind,
    /// The raw digest of a CRC, with the length it covers, so full-object CRCs of parts
    /// combine (none for a composite).
    #[serde(default)]
    pub crc: Option<(u64, u64)>,
}

/// A running digest.
pub struct Hasher {
    algorithm: Algorithm,
    state: State,
    len: u64,
}

enum State {
    Crc(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// A digest of nothing yet.
    #[must_use]
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm.crc() {
            Some(c) => State::Crc(crc_fast::Digest::new(c)),
            None if algorithm == Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
            None => State::Sha256(sha2::Sha256::new()),
        };
        Self {
            algorithm,
            state,
            len: 0,
        }
    }

    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        match &mut self.state {
            State::Crc(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
        }
    }

    /// The full-object checksum of what was added.
    #[must_use]
    pub fn finish(self) -> Checksum {
        let (bytes, crc) = match self.state {
            State::Crc(h) => {
                let v = h.finalize();
                let w = self.algorithm.width();
                (v.to_be_bytes()[8 - w..].to_vec(), Some((v, self.len)))
            }
            State::Sha1(h) => (h.finalize().to_vec(), None),
            State::Sha256(h) => (h.finalize().to_vec(), None),
        };
        Checksum {
            algorithm: self.algorithm,
            value: encode(&bytes),
            kind: Kind::FullObject,
            crc,
        }
    }
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The digest a base64 `value` of `algorithm` stands for, or `None` when it is not one
/// (bad base64, or the wrong length).
#[must_use]
pub fn decode(algorithm: Algorithm, value: &str) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    (bytes.len() == algorithm.width()).then_some(bytes)
}

/// The composite checksum of `parts` (full-object checksums of one algorithm, in order).
#[must_use]
pub fn composite(algorithm: Algorithm, parts: &[&Checksum]) -> Option<Checksum> {
    let mut h = Hasher::new(algorithm);
    for p in parts {
        if p.algorithm != algorithm {
            return None;
        }
        h.update(&decode(algorithm, &p.value)?);
    }
    let whole = h.finish();
    Some(Checksum {
        algorithm,
        value: format!("{}-{}", whole.value, parts.len()),
        kind: Kind::Composite,
        crc: None,
    })
}

/// The full-object CRC of the concatenation of `parts` (full-object CRCs of one
/// algorithm, in order), combined without reading a byte again.
#[must_use]
pub fn combined(algorithm: Algorithm, parts: &[&Checksum]) -> Option<Checksum> {
    let crc = algorithm.crc()?;
    let mut acc: Option<(u64, u64)> = None;
    for p in parts {
        let (v, len) = p.crc.filter(|_| p.algorithm == algorithm)?;
        acc = Some(match acc {
            None => (v, len),
            Some((a, alen)) => (crc_fast::checksum_combine(crc, a, v, len), alen + len),
        });
    }
    let (v, len) = acc?;
    let w = algorithm.width();
    Some(Checksum {
        algorithm,
        value: encode(&v.to_be_bytes()[8 - w..]),
        kind: Kind::FullObject,
        crc: Some((v, len)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(a: Algorithm, data: &[u8]) -> Checksum {
        let mut h = Hasher::new(a);
        h.update(data);
        h.finish()
    }

    #[test]
    fn digests_are_s3s_and_parts_combine_into_the_whole() {
        // Known values of "hello world".
        assert_eq!(of(Algorithm::Crc32, b"hello world").value, "DUoRhQ==");
        assert_eq!(of(Algorithm::Crc32c, b"hello world").value, "yZRlqg==");
        assert_eq!(
            of(Algorithm::Sha256, b"hello world").value,
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        for a in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
            let (x, y) = (of(a, b"hello "), of(a, b"world"));
            assert_eq!(
                combined(a, &[&x, &y]).unwrap().value,
                of(a, b"hello world").value
            );
        }
        let (x, y) = (
            of(Algorithm::Sha1, b"hello "),
            of(Algorithm::Sha1, b"world"),
        );
        let c = composite(Algorithm::Sha1, &[&x, &y]).unwrap();
        assert!(c.value.ends_with("-2"));
        assert_eq!(c.kind, Kind::Composite);
        assert!(combined(Algorithm::Sha1, &[&x, &y]).is_none());
        assert!(decode(Algorithm::Crc32, "AAAA").is_none());
        assert_eq!(Algorithm::parse("crc64nvme"), Some(Algorithm::Crc64Nvme));
        assert_eq!(Algorithm::Crc32c.header(), "x-amz-checksum-crc32c");
    }
}
