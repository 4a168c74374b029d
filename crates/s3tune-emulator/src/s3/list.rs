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

/// ListMultipartUploads: one page of the uploads in progress in `input.bucket`, by key
/// and then by start time, after `KeyMarker` (and, for that key, after `UploadIdMarker`);
/// with a delimiter, keys past it are rolled up into common prefixes.
pub(super) fn multipart_uploads(
    store: &Store,
    input: dto::ListMultipartUploadsInput,
) -> S3Result<dto::ListMultipartUploadsOutput> {
    let max = usize::try_from(input.max_uploads.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
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
