//! Listings: pages of a bucket's keys in order, with common prefixes.

use std::sync::Arc;

use super::{Object, Store, StoreError};

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects in key order.
    pub objects: Vec<Arc<Object>>,
    /// Common prefixes (with a delimiter).
    pub common_prefixes: Vec<String>,
    /// Whether more keys follow.
    pub truncated: bool,
    /// Where the next page starts (opaque continuation token), when truncated.
    pub next_token: Option<String>,
}

impl Store {
    /// One page of a listing: keys under `prefix` after `after` (a key, or a common
    /// prefix returned before, whose keys it then covers), rolled up at `delimiter`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: usize,
    ) -> Result<Listing, StoreError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| StoreError::NoSuchBucket(bucket.to_owned()))?;
        let mut out = Listing::default();
        if max_keys == 0 {
            // S3 answers MaxKeys=0 with an empty page that is not truncated.
            return Ok(out);
        }
        let delimiter = delimiter.filter(|d| !d.is_empty());
        // Keys sort, so the page starts at the prefix, or after `after` when that is later.
        let start = match after {
            Some(a) if a >= prefix => std::ops::Bound::Excluded(a),
            _ => std::ops::Bound::Included(prefix),
        };
        let range = b
            .objects
            .range::<str, _>((start, std::ops::Bound::Unbounded));
        let mut count = 0usize;
        let mut last: Option<String> = None;
        for (key, obj) in range {
            if !key.starts_with(prefix) {
                if key.as_str() > prefix {
                    break;
                }
                continue;
            }
            // A marker that names a common prefix of this listing covers every key
            // under it (a key that merely ends with the delimiter, a folder marker
            // listed under its own prefix, does not).
            if let (Some(t), Some(d)) = (after, delimiter)
                && is_common_prefix(t, prefix, d)
                && key.starts_with(t)
            {
                continue;
            }
            let group = delimiter.and_then(|d| {
                key[prefix.len()..]
                    .find(d)
                    .map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(g) = &group
                && out.common_prefixes.last() == Some(g)
            {
                continue;
            }
            if count == max_keys {
                out.truncated = true;
                out.next_token = last;
                return Ok(out);
            }
            count += 1;
            match group {
                Some(g) => {
                    last = Some(g.clone());
                    out.common_prefixes.push(g);
                }
                None => {
                    last = Some(key.clone());
                    out.objects.push(Arc::clone(obj));
                }
            }
        }
        Ok(out)
    }
}

/// Whether `marker` is one of the common prefixes a listing of `prefix` rolled up at
/// `delimiter` gives: the prefix, then up to and including the delimiter's first place.
fn is_common_prefix(marker: &str, prefix: &str, delimiter: &str) -> bool {
    marker
        .strip_prefix(prefix)
        .and_then(|rest| {
            rest.find(delimiter)
                .map(|i| i + delimiter.len() == rest.len())
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::is_common_prefix;

    #[test]
    fn only_a_rolled_up_prefix_covers_the_keys_under_it() {
        assert!(is_common_prefix("a/", "", "/"));
        assert!(is_common_prefix("p/a/", "p/", "/"));
        assert!(
            !is_common_prefix("a/", "a/", "/"),
            "a folder marker under its own prefix"
        );
        assert!(
            !is_common_prefix("a/b/", "", "/"),
            "two levels down is a key"
        );
        assert!(!is_common_prefix("a", "", "/"));
    }
}
