//! Synthetic objects: bytes generated on the fly from the object's key.
//!
//! A 3 GiB test object should cost neither 3 GiB of memory nor of disk, yet a client must
//! be able to prove that every byte it received is right without keeping a second copy.
//! So the content is a pure function of `(key, offset)`:
//!
//! * the key is hashed into a seed, which expands into a table of 512 random words;
//! * the aligned 8-byte word number `i` (bytes `8i..8i+8`, little endian) is
//!   `table[i % 512] + i` (wrapping).
//!
//! Every word depends on its offset, so a range delivered at the wrong place, or twice,
//! differs from what [`fill`] produces there (a shift by `k` words changes each word by
//! `k`), and the bytes are not all zeros. Generation is a table lookup and an add per
//! word: several GB/s on one core, far above any emulated network.

use md5::{Digest, Md5};

const TABLE_WORDS: usize = 512;

/// The content generator of one synthetic object, keyed by the object's key.
///
/// Build it once per object and call [`Pattern::fill`] / [`Pattern::verify`] as often as
/// needed; the free functions [`fill`] and [`verify`] build one per call.
#[derive(Clone)]
pub struct Pattern {
    table: Box<[u64; TABLE_WORDS]>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern")
            .field("seed", &self.table[0])
            .finish()
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Pattern {
    /// The generator for the object stored under `key`.
    #[must_use]
    pub fn new(key: &str) -> Self {
        let digest = Md5::new_with_prefix(b"s3tune-synthetic-v1\0")
            .chain_update(key.as_bytes())
            .finalize();
        let mut state = u64::from_le_bytes(digest[..8].try_into().expect("md5 has 16 bytes"));
        let mut table = Box::new([0u64; TABLE_WORDS]);
        for word in table.iter_mut() {
            *word = splitmix64(&mut state);
        }
        Self { table }
    }

    #[inline]
    fn word(&self, index: u64) -> u64 {
        // `index % 512` fits in usize on every platform.
        self.table[(index % TABLE_WORDS as u64) as usize].wrapping_add(index)
    }

    /// Writes the object's bytes `offset..offset + buf.len()` into `buf`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let mut pos = offset;
        let mut rest = buf;
        // Unaligned head: part of one word.
        let skew = (pos % 8) as usize;
        if skew != 0 && !rest.is_empty() {
            let bytes = self.word(pos / 8).to_le_bytes();
            let n = (8 - skew).min(rest.len());
            rest[..n].copy_from_slice(&bytes[skew..skew + n]);
            rest = &mut rest[n..];
            pos += n as u64;
        }
        // Aligned body, word by word.
        let mut index = pos / 8;
        let mut words = rest.chunks_exact_mut(8);
        for chunk in &mut words {
            chunk.copy_from_slice(&self.word(index).to_le_bytes());
            index += 1;
        }
        // Tail: the first bytes of one more word.
        let tail = words.into_remainder();
        if !tail.is_empty() {
            let bytes = self.word(index).to_le_bytes();
            let n = tail.len();
            tail.copy_from_slice(&bytes[..n]);
        }
    }

    /// Checks `data` against the object's bytes at `offset`; returns the absolute offset of
    /// the first wrong byte, or `None` when every byte is right.
    #[must_use]
    pub fn verify(&self, offset: u64, data: &[u8]) -> Option<u64> {
        let mut expected = vec![0u8; data.len().min(1 << 20)];
        let mut done = 0usize;
        while done < data.len() {
            let n = expected.len().min(data.len() - done);
            let want = &mut expected[..n];
            self.fill(offset + done as u64, want);
            if let Some(i) = want
                .iter()
                .zip(&data[done..done + n])
                .position(|(a, b)| a != b)
            {
                return Some(offset + (done + i) as u64);
            }
            done += n;
        }
        None
    }
}

/// Writes bytes `offset..offset + buf.len()` of the synthetic object `key` into `buf`.
pub fn fill(key: &str, offset: u64, buf: &mut [u8]) {
    Pattern::new(key).fill(offset, buf);
}

/// Checks `data` against bytes at `offset` of the synthetic object `key`; returns the
/// absolute offset of the first wrong byte, or `None` when all are right.
#[must_use]
pub fn verify(key: &str, offset: u64, data: &[u8]) -> Option<u64> {
    Pattern::new(key).verify(offset, data)
}

/// The user metadata (`x-amz-meta-s3tune-synthetic: v1`) every synthetic object carries:
/// a client that sees it may check each byte with [`verify`] (the value names the
/// generator's version).
pub const SYNTHETIC_METADATA: (&str, &str) = ("s3tune-synthetic", "v1");

/// [`SYNTHETIC_METADATA`] as an object's metadata, one map shared by every synthetic
/// object (a dataset of a million objects holds one).
#[must_use]
pub fn metadata() -> std::sync::Arc<std::collections::BTreeMap<String, String>> {
    static SHARED: std::sync::LazyLock<std::sync::Arc<std::collections::BTreeMap<String, String>>> =
        std::sync::LazyLock::new(|| {
            std::sync::Arc::new(std::collections::BTreeMap::from([(
                SYNTHETIC_METADATA.0.to_owned(),
                SYNTHETIC_METADATA.1.to_owned(),
            )]))
        });
    std::sync::Arc::clone(&SHARED)
}

/// The ETag (without quotes) of the synthetic object `key` of `size` bytes.
///
/// S3's ETag of a single-part object is the MD5 of its bytes; hashing gigabytes at start-up
/// would cost seconds, so the ETag is the MD5 of a description of the content instead. It is
/// stable across restarts and changes with the key, the size and the generator's version.
///
/// It has the form of a multipart upload's ETag (`…-1`, one part), which S3 gives objects
/// whose ETag is not the MD5 of their bytes: a client that checks a download's MD5
/// against a plain ETag (rclone does) must not take this one for a digest.
#[must_use]
pub fn etag(key: &str, size: u64) -> String {
    let digest = Md5::new_with_prefix(b"s3tune-synthetic-v1\0")
        .chain_update(key.as_bytes())
        .chain_update(b"\0")
        .chain_update(size.to_le_bytes())
        .finalize();
    format!("{}-1", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bytes_are_not_all_zero_and_depend_on_key() {
        let mut a = vec![0u8; 4096];
        let mut b = vec![0u8; 4096];
        fill("a", 0, &mut a);
        fill("b", 0, &mut b);
        assert!(a.iter().any(|&x| x != 0));
        assert_ne!(a, b);
    }

    #[test]
    fn shifted_or_repeated_ranges_are_detected() {
        let p = Pattern::new("k");
        let mut whole = vec![0u8; 64 * 1024];
        p.fill(0, &mut whole);
        // A window taken from 4 KiB further on, presented as if it were at 0.
        let shifted = &whole[4096..4096 + 8192];
        assert!(p.verify(0, shifted).is_some());
        // The same window at its true offset verifies.
        assert_eq!(p.verify(4096, shifted), None);
        // A repeated block (the first 4 KiB twice) is caught at the repeat.
        let mut repeated = whole[..8192].to_vec();
        repeated.copy_within(..4096, 4096);
        let first_bad = p.verify(0, &repeated).expect("repeat detected");
        assert!(
            (4096..4104).contains(&first_bad),
            "caught in the first repeated word: {first_bad}"
        );
    }

    #[test]
    fn etag_is_stable_and_distinct() {
        assert_eq!(etag("k", 10), etag("k", 10));
        assert_ne!(etag("k", 10), etag("k", 11));
        assert_ne!(etag("k", 10), etag("j", 10));
        assert_eq!(etag("k", 10).len(), 34);
        assert!(etag("k", 10).ends_with("-1"), "a multipart-form ETag");
    }

    proptest! {
        /// Any sub-range filled on its own equals the same bytes of a larger fill.
        #[test]
        fn fill_is_offset_consistent(start in 0u64..5000, len in 0usize..3000, cut in 0usize..3000) {
            let p = Pattern::new("prop");
            let mut whole = vec![0u8; len];
            p.fill(start, &mut whole);
            let cut = cut.min(len);
            let mut part = vec![0u8; len - cut];
            p.fill(start + cut as u64, &mut part);
            prop_assert_eq!(&whole[cut..], &part[..]);
            prop_assert_eq!(p.verify(start, &whole), None);
        }
    }
}
