//! ListObjectVersions of an unversioned bucket, as S3 answers it: every object is its
//! key's one version, `null`, and the latest; there are no delete markers. Clients that
//! empty a bucket (the AWS CLI's `rb --force` paths, rclone's purges, test clean-ups)
//! list versions whatever the bucket's state.

use s3s::dto;
use s3s::{S3Result, s3_error};

use super::list::{Page, delimiter_of, encoder, prefixes};
use super::rules::{etag_of, owner, timestamp};
use crate::store::Store;

/// The version id of an object in a bucket that never had versioning.
const NULL_VERSION: &str = "null";

/// One page of versions after `KeyMarker` (a key's only version is the one before any
/// other key's, so the version-id marker never splits a key).
pub(super) fn list(
    store: &Store,
    input: dto::ListObjectVersionsInput,
) -> S3Result<dto::ListObjectVersionsOutput> {
    if input.version_id_marker.is_some() && input.key_marker.as_deref().is_none_or(str::is_empty) {
        return Err(s3_error!(
            InvalidArgument,
            "A version-id marker cannot be specified without a key marker."
        ));
    }
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = delimiter_of(input.delimiter.as_ref());
    let (max_keys, listing) = Page {
        bucket: &input.bucket,
        prefix: &prefix,
        delimiter,
        after: input.key_marker.as_deref().filter(|m| !m.is_empty()),
        max_keys: input.max_keys,
    }
    .read(store)?;
    let enc = encoder(input.encoding_type.as_ref());
    let versions = listing
        .objects
        .iter()
        .map(|o| dto::ObjectVersion {
            key: Some(enc(&o.meta.key)),
            version_id: Some(NULL_VERSION.to_owned()),
            is_latest: Some(true),
            size: Some(i64::try_from(o.meta.size).unwrap_or(i64::MAX)),
            e_tag: Some(etag_of(&o.meta)),
            last_modified: Some(timestamp(o.meta.last_modified)),
            owner: Some(owner()),
            storage_class: Some(dto::ObjectVersionStorageClass::from_static(
                dto::ObjectVersionStorageClass::STANDARD,
            )),
            ..Default::default()
        })
        .collect();
    // The next page starts after the last entry: a key (then its version is named too)
    // or a common prefix.
    let next_is_key = listing
        .next_token
        .as_deref()
        .is_some_and(|t| listing.objects.last().is_some_and(|o| o.meta.key == t));
    Ok(dto::ListObjectVersionsOutput {
        name: Some(input.bucket.clone()),
        prefix: Some(enc(&prefix)),
        delimiter: delimiter.map(&enc),
        key_marker: Some(enc(input.key_marker.as_deref().unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.clone().unwrap_or_default()),
        max_keys: Some(max_keys),
        is_truncated: Some(listing.truncated),
        next_key_marker: listing.next_token.as_deref().map(&enc),
        next_version_id_marker: next_is_key.then(|| NULL_VERSION.to_owned()),
        versions: Some(versions),
        delete_markers: Some(Vec::new()),
        common_prefixes: Some(prefixes(&listing, &enc)),
        encoding_type: input.encoding_type,
        request_charged: None,
    })
}
