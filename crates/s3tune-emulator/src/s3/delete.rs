//! DeleteObjects: up to 1,000 keys in one request, each deleted or answered with an error
//! of its own (the request as a whole fails only when it is malformed or its bucket is
//! missing). `Quiet` answers only the errors.

use s3s::dto;
use s3s::{S3Result, s3_error};

use super::Service;
use crate::store::{Found, Store, StoreError};

/// Most keys one DeleteObjects names.
const MAX_KEYS: usize = 1000;

/// What became of one key.
enum Outcome {
    Deleted(dto::DeletedObject),
    Failed(dto::Error),
}

fn failed(id: &dto::ObjectIdentifier, code: &str, message: &str) -> Outcome {
    Outcome::Failed(dto::Error {
        code: Some(code.to_owned()),
        key: Some(id.key.clone()),
        message: Some(message.to_owned()),
        version_id: id.version_id.clone(),
    })
}

/// Deletes one key as S3 does: a missing key is deleted all the same; a version other
/// than `null` does not exist (no bucket is versioned); an `ETag` given must match.
fn delete_one(store: &Store, bucket: &str, id: &dto::ObjectIdentifier) -> Outcome {
    if id.version_id.as_deref().is_some_and(|v| v != "null") {
        return failed(id, "NoSuchVersion", "The specified version does not exist");
    }
    let etag = id.e_tag.as_ref().map(dto::ETag::value);
    match store.delete_object_if(bucket, &id.key, etag) {
        Ok(Found::Deleted) => deleted(id),
        Ok(Found::Missing) if etag.is_some() => {
            failed(id, "NoSuchKey", "The specified key does not exist.")
        }
        Ok(Found::Missing) => deleted(id),
        Ok(Found::Other) => failed(
            id,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
        Err(e) => {
            tracing::error!(error = %e, key = %id.key, "delete failed");
            failed(
                id,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        }
    }
}

fn deleted(id: &dto::ObjectIdentifier) -> Outcome {
    Outcome::Deleted(dto::DeletedObject {
        key: Some(id.key.clone()),
        version_id: id.version_id.clone(),
        ..Default::default()
    })
}

impl Service {
    pub(super) async fn delete_objects_op(
        &self,
        headers: &http::HeaderMap,
        input: dto::DeleteObjectsInput,
    ) -> S3Result<dto::DeleteObjectsOutput> {
        // S3 takes a bulk delete only with a digest of its body (a corrupted key list
        // must not delete other keys): Content-MD5 or one of the additional checksums.
        let digested = headers.contains_key("content-md5")
            || headers.keys().any(|h| {
                h.as_str().starts_with("x-amz-checksum-") && h.as_str() != "x-amz-checksum-type"
            });
        if !digested {
            return Err(s3_error!(
                InvalidRequest,
                "Missing required header for this request: Content-MD5"
            ));
        }
        let dto::Delete { objects, quiet } = input.delete;
        if objects.is_empty() || objects.len() > MAX_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema"
            ));
        }
        let bucket = input.bucket;
        let outcomes = self
            .blocking(move |store| {
                store.check_bucket(&bucket)?;
                Ok::<_, StoreError>(
                    objects
                        .iter()
                        .map(|id| delete_one(store, &bucket, id))
                        .collect::<Vec<_>>(),
                )
            })
            .await?;
        let quiet = quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Deleted(d) if !quiet => deleted.push(d),
                Outcome::Deleted(_) => {}
                Outcome::Failed(e) => errors.push(e),
            }
        }
        Ok(dto::DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            ..Default::default()
        })
    }
}
