//! Server-side copies: CopyObject, and UploadPartCopy (a part of a multipart upload
//! copied from a range of another object: how boto3's and the AWS CLI's managed copies
//! move objects past one request's size).

use s3s::dto::{self, ETag, StreamingBlob, Timestamp};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use super::Service;
use super::checksums::Claim;
use super::headers::headers_of;
use super::multipart::{PartOf, check_part_number};
use super::rules::{Conditions, attrs, check_conditions, etag_of, s3_err, timestamp};
use crate::store::{ObjectMeta, ObjectStream};

/// Largest source one CopyObject, or one UploadPartCopy without a range, copies.
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// The bucket and key a copy reads from (a version other than `null` does not exist:
/// no bucket is versioned).
fn source(src: &dto::CopySource) -> S3Result<(&str, &str)> {
    match src {
        dto::CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(s3_error!(
                    NoSuchVersion,
                    "The specified version does not exist"
                ));
            }
            Ok((bucket, key))
        }
        _ => Err(s3_error!(
            NotImplemented,
            "copies from access points are not supported"
        )),
    }
}

/// [`check_copy_conditions`] of a copy input (CopyObject's and UploadPartCopy's name
/// the conditions alike).
macro_rules! copy_conditions {
    ($meta:expr, $input:expr) => {
        check_copy_conditions(
            $meta,
            $input.copy_source_if_match.as_ref(),
            $input.copy_source_if_none_match.as_ref(),
            $input.copy_source_if_modified_since.as_ref(),
            $input.copy_source_if_unmodified_since.as_ref(),
        )
    };
}

/// The `x-amz-copy-source-if-*` conditions, as S3 applies them: the GET rules, except
/// that every failure is `412 PreconditionFailed` (a copy has nothing to answer 304 with).
fn check_copy_conditions(
    meta: &ObjectMeta,
    if_match: Option<&dto::ETagCondition>,
    if_none_match: Option<&dto::ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let c = Conditions {
        if_match,
        if_none_match,
        if_modified_since,
        if_unmodified_since,
    };
    check_conditions(meta, &c).map_err(|e| {
        if *e.code() == S3ErrorCode::NotModified {
            s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            )
        } else {
            e
        }
    })
}

/// An `x-amz-copy-source-range` (`bytes=FIRST-LAST`, both inclusive and required) of an
/// object of `size` bytes, as `start..end`.
fn copy_range(range: &str, size: u64) -> S3Result<(u64, u64)> {
    let parsed = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    let Some((first, last)) = parsed else {
        return Err(s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        ));
    };
    if first > last || last >= size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("Range specified is not valid for source object of size: {size}"),
        ));
    }
    Ok((first, last + 1))
}

impl Service {
    pub(super) async fn copy_object_op(
        &self,
        mut input: dto::CopyObjectInput,
    ) -> S3Result<dto::CopyObjectOutput> {
        let (src_bucket, src_key) = source(&input.copy_source)?;
        let (sb, sk) = (src_bucket.to_owned(), src_key.to_owned());
        let src = self.store.get_object(&sb, &sk).map_err(s3_err)?;
        copy_conditions!(&src.meta, input)?;
        if src.meta.size > MAX_COPY {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
            ));
        }
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == dto::MetadataDirective::REPLACE);
        if !replace && sb == input.bucket && sk == input.key {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let new_attrs = replace.then(|| {
            let headers = headers_of!(input);
            attrs(input.content_type.take(), headers, input.metadata.take())
        });
        let (db, dk) = (input.bucket, input.key);
        let obj = self
            .blocking(move |store| store.copy_object(&sb, &sk, &db, &dk, new_attrs))
            .await?;
        Ok(dto::CopyObjectOutput {
            copy_object_result: Some(dto::CopyObjectResult {
                e_tag: Some(etag_of(&obj.meta)),
                last_modified: Some(timestamp(obj.meta.last_modified)),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    pub(super) async fn upload_part_copy_op(
        &self,
        input: dto::UploadPartCopyInput,
    ) -> S3Result<dto::UploadPartCopyOutput> {
        check_part_number(input.part_number)?;
        let upload = self
            .store
            .upload_checksum(&input.bucket, &input.key, &input.upload_id)
            .map_err(s3_err)?;
        let (src_bucket, src_key) = source(&input.copy_source)?;
        let src = self.store.get_object(src_bucket, src_key).map_err(s3_err)?;
        copy_conditions!(&src.meta, input)?;
        let (start, end) = match input.copy_source_range.as_deref() {
            Some(r) => copy_range(r, src.meta.size)?,
            None => (0, src.meta.size),
        };
        if end - start > MAX_COPY {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
            ));
        }
        let stream = ObjectStream::new(&src.content, start, end).map_err(|e| {
            tracing::error!(error = %e, key = %src.meta.key, "cannot open object data");
            s3_error!(InternalError, "cannot read the copy source's data")
        })?;
        // The part gets what an uploaded part gets: its MD5, CRC64NVME, and the upload's
        // algorithm (nothing is claimed, so nothing can mismatch).
        let claim = Claim::of([None; 5], None, None)?.within(upload.map(|(a, _)| a))?;
        let len = i64::try_from(end - start).unwrap_or(i64::MAX);
        let (blob, etag, computed) = claim
            .receive(Some(StreamingBlob::new(stream)), Some(len), None, None)
            .await?;
        let target = PartOf {
            bucket: input.bucket,
            key: input.key,
            upload_id: input.upload_id,
            number: input.part_number,
        };
        let (part, answered) = self
            .store_part(target, &claim, blob, etag, computed)
            .await?;
        let (crc32, crc32c, crc64nvme, sha1, sha256, _) = checksum_fields!(answered);
        Ok(dto::UploadPartCopyOutput {
            copy_part_result: Some(dto::CopyPartResult {
                e_tag: Some(ETag::Strong(part.etag)),
                last_modified: Some(timestamp(part.last_modified)),
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64nvme,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
            }),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_range_is_inclusive_and_within_the_source() {
        assert_eq!(copy_range("bytes=0-9", 10).unwrap(), (0, 10));
        assert_eq!(copy_range("bytes=5-5", 10).unwrap(), (5, 6));
        for bad in [
            "bytes=0-10",
            "bytes=6-5",
            "bytes=-5",
            "bytes=3-",
            "0-4",
            "bytes=a-b",
        ] {
            let e = copy_range(bad, 10).unwrap_err();
            assert_eq!(*e.code(), S3ErrorCode::InvalidArgument, "{bad}");
        }
    }
}
