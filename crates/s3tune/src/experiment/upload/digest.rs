//! The digests that prove an upload: of the bytes the emulator stored, and of what S3
//! says it stored.
//!
//! S3 keeps, per object, the checksum the client asked for — full-object (the digest of
//! every byte: single PUTs, and CRC multipart uploads of the `FULL_OBJECT` type) or
//! composite (`BASE64-N`: the digest of the parts' digests, in order) — and an ETag that
//! is the MD5 of the bytes for a single PUT, or `MD5-N` of the parts' MD5s for a multipart
//! upload (unless the bucket encrypts with KMS). The source's digest is computed the same
//! way, with the part size S3 reports for part 1, and compared.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

use aws_sdk_s3::types::ChecksumMode;
use base64::Engine as _;
use md5::Digest as _;

/// Checks the object the emulator's `store` holds at `bucket/key`: `size` bytes, each
/// the synthetic pattern `pattern`'s.
pub fn check_stored(
    store: &s3tune_emulator::store::Store,
    bucket: &str,
    key: &str,
    size: u64,
    pattern: &str,
) -> Result<(), String> {
    use s3tune_emulator::store::Content;
    let obj = store
        .get_object(bucket, key)
        .map_err(|e| format!("the upload is not in the bucket: {e}"))?;
    if obj.meta.size != size {
        return Err(format!(
            "the stored object has {} bytes, the source {size}: not counted",
            obj.meta.size
        ));
    }
    let wrong =
        |at: u64| format!("byte {at} of the stored object is wrong: the upload corrupted data");
    let mut offset = 0u64;
    match &obj.content {
        Content::Memory(blob) => {
            for chunk in blob.chunks() {
                if let Some(bad) = s3tune_emulator::synthetic::verify(pattern, offset, chunk) {
                    return Err(wrong(bad));
                }
                offset += chunk.len() as u64;
            }
        }
        Content::File(path) => {
            let mut f = std::fs::File::open(path).map_err(|e| format!("reading back: {e}"))?;
            let mut buf = vec![0u8; 8 << 20];
            loop {
                let n = f.read(&mut buf).map_err(|e| format!("reading back: {e}"))?;
                if n == 0 {
                    break;
                }
                if let Some(bad) = s3tune_emulator::synthetic::verify(pattern, offset, &buf[..n]) {
                    return Err(wrong(bad));
                }
                offset += n as u64;
            }
        }
        Content::Synthetic(_) => return Err("the stored object was not uploaded".into()),
    }
    Ok(())
}

/// A digest algorithm S3 keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Algorithm {
    Md5,
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5 ETag",
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
        }
    }
}

/// One running digest.
enum Hasher {
    Md5(md5::Md5),
    Crc(crc_fast::Digest, usize),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(a: Algorithm) -> Self {
        use crc_fast::CrcAlgorithm as C;
        match a {
            Algorithm::Md5 => Self::Md5(md5::Md5::new()),
            Algorithm::Crc32 => Self::Crc(crc_fast::Digest::new(C::Crc32IsoHdlc), 4),
            Algorithm::Crc32c => Self::Crc(crc_fast::Digest::new(C::Crc32Iscsi), 4),
            Algorithm::Crc64Nvme => Self::Crc(crc_fast::Digest::new(C::Crc64Nvme), 8),
            Algorithm::Sha1 => Self::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Md5(h) => h.update(data),
            Self::Crc(h, _) => h.update(data),
            Self::Sha1(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
        }
    }

    /// The digest's bytes, big-endian for CRCs (as S3 encodes them).
    fn finish(self) -> Vec<u8> {
        match self {
            Self::Md5(h) => h.finalize().to_vec(),
            Self::Crc(h, width) => h.finalize().to_be_bytes()[8 - width..].to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// The digest of each part of the source, in order.
type PartDigests = Vec<Vec<u8>>;

/// The source file's digests, computed when first asked for (by algorithm and part
/// size) and kept.
#[derive(Debug)]
pub struct SourceDigest {
    path: PathBuf,
    size: u64,
    cache: Mutex<HashMap<(Algorithm, u64), PartDigests>>,
}

impl SourceDigest {
    /// The digests of the `size`-byte file at `path`.
    pub fn new(path: PathBuf, size: u64) -> Self {
        Self {
            path,
            size,
            cache: Mutex::default(),
        }
    }

    /// The digests of each `part`-byte part of the source (one part: the whole file).
    fn parts(&self, a: Algorithm, part: u64) -> Result<PartDigests, String> {
        if let Some(d) = self.cache.lock().expect("digests").get(&(a, part)) {
            return Ok(d.clone());
        }
        let fail = |e: std::io::Error| format!("reading {}: {e}", self.path.display());
        let mut f = std::fs::File::open(&self.path).map_err(fail)?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut left = self.size;
        while left > 0 || out.is_empty() {
            let mut h = Hasher::new(a);
            let mut in_part = part.min(left);
            left -= in_part;
            while in_part > 0 {
                let n = usize::try_from(in_part.min(buf.len() as u64)).unwrap_or(buf.len());
                f.read_exact(&mut buf[..n]).map_err(fail)?;
                h.update(&buf[..n]);
                in_part -= n as u64;
            }
            out.push(h.finish());
        }
        self.cache
            .lock()
            .expect("digests")
            .insert((a, part), out.clone());
        Ok(out)
    }

    /// The value S3 would report for the source uploaded in `part`-byte parts, in S3's
    /// spelling: base64 for checksums, hex for the ETag, `-N` for a composite.
    fn expected(&self, a: Algorithm, part: Option<u64>) -> Result<String, String> {
        let encode = |bytes: &[u8]| match a {
            Algorithm::Md5 => hex::encode(bytes),
            _ => base64::engine::general_purpose::STANDARD.encode(bytes),
        };
        let Some(part) = part else {
            let whole = self.parts(a, self.size.max(1))?;
            return Ok(encode(&whole[0]));
        };
        let parts = self.parts(a, part)?;
        let mut h = Hasher::new(a);
        for p in &parts {
            h.update(p);
        }
        Ok(format!("{}-{}", encode(&h.finish()), parts.len()))
    }

    /// Checks what S3 says it stored at `bucket/key` against the source.
    pub async fn check_remote(
        self: &std::sync::Arc<Self>,
        client: &aws_sdk_s3::Client,
        bucket: &str,
        key: &str,
    ) -> Result<(), String> {
        let describe = |e: &(dyn std::error::Error + 'static)| {
            format!(
                "looking up the upload s3://{bucket}/{key}: {}",
                s3tune_transfer::error::describe(e)
            )
        };
        let head = client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let len = head.content_length().unwrap_or(-1);
        if u64::try_from(len).ok() != Some(self.size) {
            return Err(format!(
                "the stored object has {len} bytes, the source {}: not counted",
                self.size
            ));
        }
        let (a, got) = stored_digest(&head)
            .map_err(|why| format!("S3 keeps no checksum of s3://{bucket}/{key} and {why}"))?;
        let part = if got.contains('-') {
            let first = client
                .head_object()
                .bucket(bucket)
                .key(key)
                .part_number(1)
                .send()
                .await
                .map_err(|e| describe(&e))?;
            let p = first.content_length().and_then(|l| u64::try_from(l).ok());
            Some(p.filter(|p| *p > 0).ok_or("S3 gave no size for part 1")?)
        } else {
            None
        };
        let path = self.path.clone();
        let me = std::sync::Arc::clone(self);
        let want = tokio::task::spawn_blocking(move || me.expected(a, part))
            .await
            .map_err(|e| format!("computing the source's digest: {e}"))??;
        if got.eq_ignore_ascii_case(&want) {
            Ok(())
        } else {
            Err(format!(
                "S3's {} of the upload is {got}, the source's {want} ({}): the upload corrupted data, or the source changed",
                a.name(),
                path.display()
            ))
        }
    }
}

/// The digest S3 keeps of an object, as HEAD with checksums enabled reports it: its
/// checksum if it has one, else its ETag when that is an MD5 (else why not).
fn stored_digest(
    head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
) -> Result<(Algorithm, String), String> {
    let checksum = [
        (Algorithm::Crc64Nvme, head.checksum_crc64_nvme()),
        (Algorithm::Crc32, head.checksum_crc32()),
        (Algorithm::Crc32c, head.checksum_crc32_c()),
        (Algorithm::Sha256, head.checksum_sha256()),
        (Algorithm::Sha1, head.checksum_sha1()),
    ]
    .into_iter()
    .find_map(|(a, v)| v.map(|v| (a, v.to_owned())));
    if let Some(found) = checksum {
        return Ok(found);
    }
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    // With SSE-KMS or SSE-C, S3's ETag is no digest of the bytes, though it looks like one.
    let encrypted = head.sse_customer_algorithm().is_some()
        || head
            .server_side_encryption()
            .is_some_and(|s| s.as_str().starts_with("aws:kms"));
    let md5_like = !encrypted
        && etag
            .split('-')
            .next()
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if md5_like {
        Ok((Algorithm::Md5, etag))
    } else {
        Err(format!(
            "its ETag `{etag}` is not an MD5 (a KMS-encrypted bucket?), so the upload cannot be verified; tune against a bucket without SSE-KMS"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_and_full_digests_are_s3s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("src");
        std::fs::write(&path, b"hello world").unwrap();
        let d = SourceDigest::new(path, 11);
        // Known values: MD5 and CRC32 of "hello world".
        assert_eq!(
            d.expected(Algorithm::Md5, None).unwrap(),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(d.expected(Algorithm::Crc32, None).unwrap(), "DUoRhQ==");
        // Parts of 5 bytes: "hello", " worl", "d"; the composite is the digest of theirs.
        let parts: Vec<u8> = [b"hello".as_slice(), b" worl", b"d"]
            .iter()
            .flat_map(|p| md5::Md5::digest(p).to_vec())
            .collect();
        assert_eq!(
            d.expected(Algorithm::Md5, Some(5)).unwrap(),
            format!("{}-3", hex::encode(md5::Md5::digest(&parts)))
        );
    }
}
