//! Listings: ListObjectsV2 over the store's pages (continuation tokens are the hex of
//! the last key or common prefix returned).

use s3s::dto;
use s3s::{S3Result, s3_error};

use super::rules::{etag_of, s3_err, timestamp, url_encode};
use crate::store::Store;

/// ListObjectsV2: one page of `input.bucket`'s keys.
pub(super) fn objects_v2(
    store: &Store,
    input: dto::ListObjectsV2Input,
) -> S3Result<dto::ListObjectsV2Output> {
    let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000);
    let token = match &input.continuation_token {
        Some(t) => Some(
            hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    s3_error!(
                        InvalidArgument,
                        "The continuation token provided is incorrect"
                    )
                })?,
        ),
        None => None,
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let listing = store
        .list_objects(
            &input.bucket,
            &prefix,
            input.delimiter.as_deref(),
            input.start_after.as_deref(),
            token.as_deref(),
            usize::try_from(max_keys).unwrap_or(0),
        )
        .map_err(s3_err)?;
    let url = input
        .encoding_type
        .as_ref()
        .is_some_and(|e| e.as_str() == dto::EncodingType::URL);
    let enc = |s: &str| if url { url_encode(s) } else { s.to_owned() };
    let key_count = listing.objects.len() + listing.common_prefixes.len();
    let contents = listing
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
            ..Default::default()
        })
        .collect();
    let common_prefixes = listing
        .common_prefixes
        .iter()
        .map(|p| dto::CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    Ok(dto::ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(enc(&prefix)),
        delimiter: input.delimiter.as_deref().map(enc),
        max_keys: Some(max_keys),
        key_count: Some(i32::try_from(key_count).unwrap_or(i32::MAX)),
        is_truncated: Some(listing.truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: listing.next_token.map(hex::encode),
        start_after: input.start_after.as_deref().map(enc),
        encoding_type: input.encoding_type,
        contents: Some(contents),
        common_prefixes: Some(common_prefixes),
        request_charged: None,
    })
}
