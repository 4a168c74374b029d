//! The S3 protocol layer: S3 semantics over the [`Store`], with no state of its own and
//! no knowledge of the network (shaping wraps it in `crate::server`).
//!
//! Implemented: buckets, objects (single and multipart, copies of objects and of parts,
//! bulk deletes), and the listings clients use (ListObjects v1 and v2, ListObjectVersions
//! of an unversioned bucket, ListMultipartUploads, ListParts). Every other operation
//! (versioning, ACLs, policies, tagging, lifecycle, …) answers a one-line
//! `501 NotImplemented` naming it, as s3s does by default.

mod checksums;
mod delete;
mod headers;
mod list;
mod rules;
mod versions;

use std::sync::Arc;

use s3s::dto::{self, StreamingBlob};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};

use headers::{Overrides, headers_of};
use rules::{
    ByteRange, Conditions, attrs, check_conditions, content_md5_of, etag_of, parts_count,
    requested_range, s3_err,
};

use checksums::{Claim, Fields};

use crate::store::{
    NewChecksum, Object, ObjectHeaders, ObjectMeta, ObjectStream, Store, StoreError,
};

/// The checksum header values of an input, in the order of `checksum::ALGORITHMS`.
macro_rules! checksum_values {
    ($input:expr) => {
        [
            $input.checksum_crc32.as_deref(),
            $input.checksum_crc32c.as_deref(),
            $input.checksum_crc64nvme.as_deref(),
            $input.checksum_sha1.as_deref(),
            $input.checksum_sha256.as_deref(),
        ]
    };
}

/// An output's checksum fields from [`Fields`] (plus its `checksum_type` when `$kind`).
macro_rules! checksum_fields {
    ($f:expr) => {{
        let f: $crate::s3::checksums::Fields = $f;
        (f.crc32, f.crc32c, f.crc64nvme, f.sha1, f.sha256, f.kind)
    }};
}

// After the macros they use.
mod copy;
mod multipart;

/// The checksum fields of a GET or HEAD: the object's, when the client asked
/// (`ChecksumMode=ENABLED`) for the whole object.
fn answered(mode: Option<&dto::ChecksumMode>, meta: &ObjectMeta, whole: bool) -> Fields {
    let enabled = mode.is_some_and(|m| m.as_str() == dto::ChecksumMode::ENABLED);
    if enabled && whole {
        checksums::fields(meta.checksum.as_ref())
    } else {
        Fields::default()
    }
}

/// [`Service::locate`] for a GET or HEAD input: the two input types carry the same
/// conditional and range fields under the same names.
macro_rules! locate {
    ($service:expr, $input:expr) => {
        $service.locate(
            &$input.bucket,
            &$input.key,
            &Conditions {
                if_match: $input.if_match.as_ref(),
                if_none_match: $input.if_none_match.as_ref(),
                if_modified_since: $input.if_modified_since.as_ref(),
                if_unmodified_since: $input.if_unmodified_since.as_ref(),
            },
            $input.range,
            $input.part_number,
        )
    };
}

/// The object headers GET and HEAD share, in either output type (plus `extra` fields):
/// `content_type` and `headers` as answered (a GET may override the stored ones).
macro_rules! object_output {
    ($output:ident, $meta:expr, $range:expr, $part_number:expr, $content_type:expr, $headers:expr, { $($extra:tt)* }) => {{
        let meta: &ObjectMeta = $meta;
        let range: Option<ByteRange> = $range;
        let h: ObjectHeaders = $headers;
        let (start, end) = range.unwrap_or((0, meta.size));
        dto::$output {
            accept_ranges: Some("bytes".into()),
            content_length: Some(i64::try_from(end - start).unwrap_or(i64::MAX)),
            content_range: range
                .filter(|(s, e)| e > s)
                .map(|(s, e)| format!("bytes {s}-{}/{}", e - 1, meta.size)),
            content_type: $content_type,
            expires: headers::expires(&h),
            cache_control: h.cache_control,
            content_disposition: h.content_disposition,
            content_encoding: h.content_encoding,
            content_language: h.content_language,
            e_tag: Some(etag_of(meta)),
            last_modified: Some(rules::timestamp(meta.last_modified)),
            metadata: Some(
                meta.metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            parts_count: parts_count(meta, $part_number),
            $($extra)*
            ..Default::default()
        }
    }};
}

/// The S3 service of the emulator.
#[derive(Debug, Clone)]
pub struct Service {
    store: Arc<Store>,
    region: String,
}

impl Service {
    /// Serves `store`, saying it lives in `region`.
    pub fn new(store: Arc<Store>, region: String) -> Self {
        Self { store, region }
    }

    /// Runs a store operation that does file I/O (in disk mode) on the blocking pool, so
    /// the async threads keep serving other connections meanwhile.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> S3Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || op(&store))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(s3_err)
    }

    /// What GET and HEAD share: find the object, apply the conditions, resolve the
    /// requested range (`None`: the whole object).
    fn locate(
        &self,
        bucket: &str,
        key: &str,
        conditions: &Conditions<'_>,
        range: Option<dto::Range>,
        part_number: Option<i32>,
    ) -> S3Result<(Arc<Object>, Option<ByteRange>)> {
        let obj = self.store.get_object(bucket, key).map_err(s3_err)?;
        check_conditions(&obj.meta, conditions)?;
        let range = requested_range(&obj.meta, range, part_number)?;
        Ok((obj, range))
    }
}

/// The checksum an aws-chunked body announces in `x-amz-trailer`, if any.
fn trailer_of(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("x-amz-trailer")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[async_trait::async_trait]
impl S3 for Service {
    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        list::buckets(&self.store, &self.region, req.input).map(S3Response::new)
    }

    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let bucket = req.input.bucket;
        self.store.create_bucket(&bucket).map_err(s3_err)?;
        Ok(S3Response::new(dto::CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        self.store.check_bucket(&req.input.bucket).map_err(s3_err)?;
        Ok(S3Response::new(dto::HeadBucketOutput {
            bucket_region: Some(self.region.clone()),
            ..Default::default()
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        self.store
            .delete_bucket(&req.input.bucket)
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::DeleteBucketOutput {}))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        self.store.check_bucket(&req.input.bucket).map_err(s3_err)?;
        // S3 reports us-east-1 as no constraint at all.
        let location = (self.region != "us-east-1")
            .then(|| dto::BucketLocationConstraint::from(self.region.clone()));
        Ok(S3Response::new(dto::GetBucketLocationOutput {
            location_constraint: location,
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        list::objects_v2(&self.store, req.input).map(S3Response::new)
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        list::objects_v1(&self.store, req.input).map(S3Response::new)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<dto::ListObjectVersionsInput>,
    ) -> S3Result<S3Response<dto::ListObjectVersionsOutput>> {
        versions::list(&self.store, req.input).map(S3Response::new)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        list::multipart_uploads(&self.store, req.input).map(S3Response::new)
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let input = req.input;
        let (obj, range) = locate!(self, input)?;
        let (crc32, crc32c, crc64nvme, sha1, sha256, kind) = checksum_fields!(answered(
            input.checksum_mode.as_ref(),
            &obj.meta,
            range.is_none()
        ));
        Ok(S3Response::new(object_output!(
            HeadObjectOutput,
            &obj.meta,
            range,
            input.part_number,
            obj.meta.content_type.clone(),
            obj.meta.headers.clone(),
            {
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64nvme,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_type: kind,
            }
        )))
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let mut input = req.input;
        let overrides = Overrides::of(&mut input);
        let (obj, range) = locate!(self, input)?;
        let (start, end) = range.unwrap_or((0, obj.meta.size));
        let mut content_type = obj.meta.content_type.clone();
        let answered_headers = overrides.apply(&mut content_type, &obj.meta.headers);
        let (crc32, crc32c, crc64nvme, sha1, sha256, kind) = checksum_fields!(answered(
            input.checksum_mode.as_ref(),
            &obj.meta,
            range.is_none()
        ));
        let stream = ObjectStream::new(&obj.content, start, end).map_err(|e| {
            tracing::error!(error = %e, key = %obj.meta.key, "cannot open object data");
            s3_error!(InternalError, "cannot read the object's data")
        })?;
        Ok(S3Response::new(object_output!(
            GetObjectOutput,
            &obj.meta,
            range,
            input.part_number,
            content_type,
            answered_headers,
            {
                body: Some(StreamingBlob::new(stream)),
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64nvme,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                checksum_type: kind,
            }
        )))
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let trailer = trailer_of(&req.headers);
        let md5 = content_md5_of(&req.headers)?;
        let trailers = req.trailing_headers;
        let mut input = req.input;
        self.store.check_bucket(&input.bucket).map_err(s3_err)?;
        let claim = Claim::of(
            checksum_values!(input),
            trailer.as_deref(),
            input.checksum_algorithm.as_ref(),
        )?;
        let (blob, etag, computed) = claim
            .receive(input.body, input.content_length, md5, trailers.as_ref())
            .await?;
        let headers = headers_of!(input);
        let mut attrs = attrs(input.content_type, headers, input.metadata);
        if let Some(c) = claim.object(&computed) {
            attrs.checksum = NewChecksum::Object(c);
        }
        let obj = self
            .blocking(move |store| store.put_object(&input.bucket, &input.key, blob, attrs, etag))
            .await?;
        let (crc32, crc32c, crc64nvme, sha1, sha256, kind) =
            checksum_fields!(checksums::fields(obj.meta.checksum.as_ref()));
        Ok(S3Response::new(dto::PutObjectOutput {
            e_tag: Some(etag_of(&obj.meta)),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            checksum_type: kind,
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        self.store
            .delete_object(&req.input.bucket, &req.input.key)
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        self.delete_objects_op(&req.headers, req.input)
            .await
            .map(S3Response::new)
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        self.copy_object_op(req.input).await.map(S3Response::new)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        self.upload_part_copy_op(req.input)
            .await
            .map(S3Response::new)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        self.create_multipart_upload_op(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        self.upload_part_op(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        self.complete_multipart_upload_op(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        self.abort_multipart_upload_op(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        self.list_parts_op(req).await
    }
}
