//! Listings: ListBuckets, ListObjects v1 and v2 over the store's pages (continuation
//! tokens are the hex of the last key, common prefix or bucket name returned), and
//! ListMultipartUploads.

use s3s::dto;
use s3s::{S3Result, s3_error};

use super::rules::{etag_of, owner, s3_err, timestamp, url_encode};
use crate::store::{Listing, Store};

/// Most keys (and uploads, and parts) one listing page holds.
const MAX_PAGE: i32 = 1000;

/// Most buckets one ListBuckets page holds.
const MAX_BUCKETS: i32 = 10_000;

/// A listing's request, as the store takes it.
pub(super) struct Page<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    /// `None` for none or an empty one: S3 takes an empty delimiter as none.
    pub delimiter: Option<&'a str>,
    /// Where the page starts: after this key or common prefix.
    pub after: Option<&'a str>,
    pub max_keys: Option<i32>,
}

impl Page<'_> {
    /// The page's `MaxKeys` (S3 clamps to 0..=1000) and its keys.
    pub fn read(&self, store: &Store) -> S3Result<(i32, Listing)> {
        let max_keys = self.max_keys.unwrap_or(MAX_PAGE).clamp(0, MAX_PAGE);
        let listing = store
            .list_objects(
                self.bucket,
                self.prefix,
                self.delimiter,
                self.after,
                usize::try_from(max_keys).unwrap_or(0),
            )
            .map_err(s3_err)?;
        Ok((max_keys, listing))
    }
}

/// The encoder of a listing's keys and prefixes: percent-encoding under
/// `encoding-type=url`, none otherwise.
pub(super) fn encoder(encoding: Option<&dto::EncodingType>) -> impl Fn(&str) -> String + use<> {
    let url = encoding.is_some_and(|e| e.as_str() == dto::EncodingType::URL);
    move |s: &str| if url { url_encode(s) } else { s.to_owned() }
}

/// An empty delimiter is none.
pub(super) fn delimiter_of(d: Option<&String>) -> Option<&str> {
    d.map(String::as_str).filter(|d| !d.is_empty())
}

/// A listing's common prefixes, encoded.
pub(super) fn prefixes(listing: &Listing, enc: &impl Fn(&str) -> String) -> dto::CommonPrefixList {
    listing
        .common_prefixes
        .iter()
        .map(|p| dto::CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect()
}

/// A listing's objects, encoded, with their owner when `with_owner`.
fn contents(listing: &Listing, enc: &impl Fn(&str) -> String, with_owner: bool) -> dto::ObjectList {
    listing
        .objects
        .iter()
        .map(|o| dto::Object {
            key: Some(enc(&o.meta.key)),
            size: Some(i64::try_from(o.meta.size).unwrap_or(i64::MAX)),
            e_tag: Some(etag_of(&o.meta)),
            last_modified: Some(timestamp(o.meta.last_modified)),
            storage_class: Some(dto::ObjectStorageClass::from_static(
                dto::ObjectStorageClass::STANDARD,
            )),
            owner: with_owner.then(owner),
            ..Default::default()
        })
        .collect()
}

fn decode_token(t: &str) -> S3Result<String> {
    hex::decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

/// ListBuckets: one page of the buckets, by name, after the continuation token, whose
/// names start with `Prefix`.
pub(super) fn buckets(
    store: &Store,
    region: &str,
    input: dto::ListBucketsInput,
) -> S3Result<dto::ListBucketsOutput> {
    let max = input.max_buckets.unwrap_or(MAX_BUCKETS);
    if !(1..=MAX_BUCKETS).contains(&max) {
        return Err(s3_error!(
            InvalidArgument,
            "Argument max-buckets must be an integer between 1 and 10000"
        ));
    }
    let after = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let in_region = input.bucket_region.as_deref().is_none_or(|r| r == region);
    let mut names = store
        .list_buckets()
        .into_iter()
        .filter(|(name, _)| in_region && name.starts_with(&prefix))
        .filter(|(name, _)| after.as_deref().is_none_or(|a| name.as_str() > a))
        .peekable();
    let mut page = Vec::new();
    while page.len() < usize::try_from(max).unwrap_or(0) {
        let Some((name, created)) = names.next() else {
            break;
        };
        page.push(dto::Bucket {
            name: Some(name),
            creation_date: Some(timestamp(created)),
            bucket_region: Some(region.to_owned()),
        });
    }
    let next = names
        .peek()
        .and(page.last())
        .and_then(|b| b.name.as_deref().map(hex::encode));
    Ok(dto::ListBucketsOutput {
        buckets: Some(page),
        continuation_token: next,
        owner: Some(owner()),
        prefix: input.prefix,
    })
}

/// ListObjectsV2: one page of `input.bucket`'s keys.
pub(super) fn objects_v2(
    store: &Store,
    input: dto::ListObjectsV2Input,
) -> S3Result<dto::ListObjectsV2Output> {
    let token = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = delimiter_of(input.delimiter.as_ref());
    let (max_keys, listing) = Page {
        bucket: &input.bucket,
        prefix: &prefix,
        delimiter,
        after: token.as_deref().or(input.start_after.as_deref()),
        max_keys: input.max_keys,
    }
    .read(store)?;
    let enc = encoder(input.encoding_type.as_ref());
    let key_count = listing.objects.len() + listing.common_prefixes.len();
    Ok(dto::ListObjectsV2Output {
        name: Some(input.bucket.clone()),
        prefix: Some(enc(&prefix)),
        delimiter: delimiter.map(&enc),
        max_keys: Some(max_keys),
        key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
        is_truncated: Some(listing.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: listing.next_token.as_deref().map(hex::encode),
        start_after: input.start_after.as_deref().map(&enc),
        contents: Some(contents(&listing, &enc, input.fetch_owner == Some(true))),
        common_prefixes: Some(prefixes(&listing, &enc)),
        encoding_type: input.encoding_type,
        request_charged: None,
    })
}

/// ListObjects (v1): one page after `Marker`. `NextMarker` is given with a delimiter
/// only, as S3 does (without one, the last key is the next marker); every entry names
/// its owner.
pub(super) fn objects_v1(
    store: &Store,
    input: dto::ListObjectsInput,
) -> S3Result<dto::ListObjectsOutput> {
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = delimiter_of(input.delimiter.as_ref());
    let (max_keys, listing) = Page {
        bucket: &input.bucket,
        prefix: &prefix,
        delimiter,
        after: input.marker.as_deref().filter(|m| !m.is_empty()),
        max_keys: input.max_keys,
    }
    .read(store)?;
    let enc = encoder(input.encoding_type.as_ref());
    let next_marker = listing
        .next_token
        .as_deref()
        .filter(|_| delimiter.is_some())
        .map(&enc);
    Ok(dto::ListObjectsOutput {
        name: Some(input.bucket.clone()),
        prefix: Some(enc(&prefix)),
        marker: Some(enc(input.marker.as_deref().unwrap_or_default())),
        max_keys: Some(max_keys),
        is_truncated: Some(listing.truncated),
        contents: Some(contents(&listing, &enc, true)),
        common_prefixes: Some(prefixes(&listing, &enc)),
        delimiter: delimiter.map(&enc),
        next_marker,
        encoding_type: input.encoding_type,
        request_charged: None,
    })
}

/// ListMultipartUploads: one page of the uploads in progress in `input.bucket`, by key
/// and then by start time, after `KeyMarker` (and, for that key, after `UploadIdMarker`);
/// with a delimiter, keys past it are rolled up into common prefixes.
pub(super) fn multipart_uploads(
    store: &Store,
    input: dto::ListMultipartUploadsInput,
) -> S3Result<dto::ListMultipartUploadsOutput> {
    let max =
        usize::try_from(input.max_uploads.unwrap_or(MAX_PAGE).clamp(0, MAX_PAGE)).unwrap_or(0);
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    let all = store.list_uploads(&input.bucket, &prefix).map_err(s3_err)?;
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let id_marker = input.upload_id_marker.clone();
    let after = all.into_iter().filter(|u| match &id_marker {
        Some(id) if u.key == key_marker => u.id.as_str() > id.as_str(),
        _ => u.key.as_str() > key_marker.as_str(),
    });
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last: Option<(String, Option<String>)> = None;
    for u in after {
        let rolled = delimiter.as_ref().and_then(|d| {
            u.key[prefix.len()..]
                .find(d.as_str())
                .map(|i| u.key[..prefix.len() + i + d.len()].to_owned())
        });
        if let Some(p) = &rolled
            && prefixes.last() == Some(p)
        {
            continue;
        }
        if uploads.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        match rolled {
            Some(p) => {
                last = Some((p.clone(), None));
                prefixes.push(p);
            }
            None => {
                last = Some((u.key.clone(), Some(u.id.clone())));
                uploads.push(dto::MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.id),
                    initiated: Some(timestamp(u.initiated)),
                    storage_class: Some(dto::StorageClass::from_static(
                        dto::StorageClass::STANDARD,
                    )),
                    ..Default::default()
                });
            }
        }
    }
    let (next_key, next_id) = match last.filter(|_| truncated) {
        Some((k, id)) => (Some(k), id),
        None => (None, None),
    };
    Ok(dto::ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(i32::try_from(max).unwrap_or(1000)),
        is_truncated: Some(truncated),
        next_key_marker: next_key,
        next_upload_id_marker: next_id,
        uploads: Some(uploads),
        common_prefixes: Some(
            prefixes
                .into_iter()
                .map(|p| dto::CommonPrefix { prefix: Some(p) })
                .collect(),
        ),
        ..Default::default()
    })
}
