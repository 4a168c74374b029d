//! The multipart operations: create, upload a part, complete, abort, list the parts —
//! with S3's checks of part numbers, ETags and checksums. The `S3` implementation in the
//! parent module delegates to these.

use s3s::dto::{self, ETag};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::checksums::{self, Claim};
use super::headers::headers_of;
use super::rules::{attrs, content_md5_of, etag_of, s3_err, timestamp};
use super::{Service, trailer_of};
use crate::store::{NewChecksum, Received};

/// S3's part numbers: 1 to 10,000.
pub(super) fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=10_000).contains(&n) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

/// Parts as the store completes them: `(number, ETag)`.
type Numbered = Vec<(i32, String)>;

/// The parts a `CompleteMultipartUpload` lists, each number once, and their
/// `(number, ETag)`s: when a number is listed more than once in a row (a client that
/// retried a part and kept both answers), the last listing counts, as in S3. Numbers
/// must still ascend (the store checks).
fn listed_parts(listed: Vec<dto::CompletedPart>) -> S3Result<(Vec<dto::CompletedPart>, Numbered)> {
    let mut kept: Vec<dto::CompletedPart> = Vec::with_capacity(listed.len());
    let mut numbered: Vec<(i32, String)> = Vec::with_capacity(listed.len());
    for p in listed {
        let (Some(n), Some(e)) = (p.part_number, &p.e_tag) else {
            return Err(s3_error!(
                MalformedXML,
                "each part needs a PartNumber and an ETag"
            ));
        };
        let entry = (n, e.value().to_owned());
        if numbered.last().is_some_and(|l| l.0 == n) {
            numbered.pop();
            kept.pop();
        }
        numbered.push(entry);
        kept.push(p);
    }
    Ok((kept, numbered))
}

/// Where a part goes: its upload and number.
pub(super) struct PartOf {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub number: i32,
}

impl Service {
    /// Stores a part received through `claim` (uploaded or copied), and gives the
    /// checksum fields its answer names: the claimed algorithm's.
    pub(super) async fn store_part(
        &self,
        to: PartOf,
        claim: &Claim,
        blob: crate::store::Blob,
        etag: String,
        computed: Vec<crate::checksum::Checksum>,
    ) -> S3Result<(crate::store::PartInfo, checksums::Fields)> {
        let answered = claim
            .algorithm
            .and_then(|a| computed.iter().find(|c| c.algorithm == a).cloned());
        let part = self
            .blocking(move |store| {
                store.put_part(
                    &to.bucket,
                    &to.key,
                    &to.upload_id,
                    to.number,
                    Received {
                        blob,
                        etag,
                        checksums: computed,
                    },
                )
            })
            .await?;
        Ok((part, checksums::fields(answered.as_ref())))
    }

    /// The checksum a `CompleteMultipartUpload` gives its object, from the parts it lists
    /// (their listed checksums checked against theirs), checked against the full-object
    /// checksum the request names; `None` when a listed part is missing (the store then
    /// refuses the request as S3 does).
    fn completed_checksum(
        &self,
        input: &dto::CompleteMultipartUploadInput,
        listed: &[dto::CompletedPart],
    ) -> S3Result<Option<crate::checksum::Checksum>> {
        let (b, k, id) = (&input.bucket, &input.key, &input.upload_id);
        let upload = self.store.upload_checksum(b, k, id).map_err(s3_err)?;
        let stored = self.store.list_parts(b, k, id).map_err(s3_err)?;
        let mut chosen = Vec::with_capacity(listed.len());
        for p in listed {
            let Some(info) = stored.iter().find(|s| Some(s.number) == p.part_number) else {
                return Ok(None);
            };
            checksums::check_listed(checksums::values_of(p), info)?;
            chosen.push(info);
        }
        if chosen.is_empty() {
            return Ok(None);
        }
        let made = checksums::of_parts(upload, &chosen)?;
        let claim = Claim::of(checksum_values!(input), None, None)?;
        if claim.algorithm.is_some() && made.kind == crate::checksum::Kind::FullObject {
            claim.verify(std::slice::from_ref(&made), None)?;
        }
        Ok(Some(made))
    }

    pub(super) async fn create_multipart_upload_op(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let mut input = req.input;
        let kind = checksums::upload_kind(
            input.checksum_algorithm.as_ref(),
            input.checksum_type.as_ref(),
        )?;
        let headers = headers_of!(input);
        let mut attrs = attrs(input.content_type, headers, input.metadata);
        if let Some((a, k)) = kind {
            attrs.checksum = NewChecksum::Upload(a, k);
        }
        let id = self
            .store
            .create_upload(&input.bucket, &input.key, attrs)
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            checksum_algorithm: kind
                .map(|(a, _)| dto::ChecksumAlgorithm::from(a.name().to_owned())),
            checksum_type: kind.map(|(_, k)| dto::ChecksumType::from(k.name().to_owned())),
            ..Default::default()
        }))
    }

    pub(super) async fn upload_part_op(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let trailer = trailer_of(&req.headers);
        let md5 = content_md5_of(&req.headers)?;
        let trailers = req.trailing_headers;
        let input = req.input;
        check_part_number(input.part_number)?;
        // Fail fast on an unknown upload, before reading a body that would be thrown away.
        let upload = self
            .store
            .upload_checksum(&input.bucket, &input.key, &input.upload_id)
            .map_err(s3_err)?;
        let claim = Claim::of(
            checksum_values!(input),
            trailer.as_deref(),
            input.checksum_algorithm.as_ref(),
        )?
        .within(upload.map(|(a, _)| a))?;
        let (blob, etag, computed) = claim
            .receive(input.body, input.content_length, md5, trailers.as_ref())
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
        Ok(S3Response::new(dto::UploadPartOutput {
            e_tag: Some(ETag::Strong(part.etag)),
            checksum_crc32: crc32,
            checksum_crc32c: crc32c,
            checksum_crc64nvme: crc64nvme,
            checksum_sha1: sha1,
            checksum_sha256: sha256,
            ..Default::default()
        }))
    }

    pub(super) async fn complete_multipart_upload_op(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let input = req.input;
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.clone())
            .unwrap_or_default();
        let (listed, parts) = listed_parts(listed)?;
        let (bucket, key, id) = (
            input.bucket.clone(),
            input.key.clone(),
            input.upload_id.clone(),
        );
        if let Some(obj) = self.store.completed_object(&bucket, &key, &id) {
            // A repeat of a completion that succeeded: S3 answers it again.
            return Ok(S3Response::new(completed_output(input, &obj.meta)));
        }
        let checksum = self.completed_checksum(&input, &listed)?;
        let (b, k, i) = (bucket.clone(), key.clone(), id.clone());
        let done = self
            .blocking(move |store| store.complete_upload(&b, &k, &i, &parts, checksum))
            .await;
        let obj = match done {
            Ok(obj) => obj,
            // The same completion, sent twice at once: the other one made the object.
            Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchUpload => {
                self.store.completed_object(&bucket, &key, &id).ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        Ok(S3Response::new(completed_output(input, &obj.meta)))
    }

    pub(super) async fn abort_multipart_upload_op(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let i = req.input;
        self.store
            .abort_upload(&i.bucket, &i.key, &i.upload_id)
            .map_err(s3_err)?;
        Ok(S3Response::new(dto::AbortMultipartUploadOutput::default()))
    }

    pub(super) async fn list_parts_op(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        let input = req.input;
        let all = self
            .store
            .list_parts(&input.bucket, &input.key, &input.upload_id)
            .map_err(s3_err)?;
        let marker = input.part_number_marker.unwrap_or(0);
        let max = usize::try_from(input.max_parts.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let after: Vec<_> = all.into_iter().filter(|p| p.number > marker).collect();
        let truncated = after.len() > max;
        let page: Vec<_> = after.into_iter().take(max).collect();
        let next = if truncated {
            page.last().map(|p| p.number)
        } else {
            None
        };
        let parts = page
            .into_iter()
            .map(|p| dto::Part {
                part_number: Some(p.number),
                e_tag: Some(ETag::Strong(p.etag)),
                size: Some(i64::try_from(p.size).unwrap_or(i64::MAX)),
                last_modified: Some(timestamp(p.last_modified)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(dto::ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: Some(marker),
            next_part_number_marker: next,
            max_parts: Some(i32::try_from(max).unwrap_or(1000)),
            is_truncated: Some(truncated),
            parts: Some(parts),
            ..Default::default()
        }))
    }
}

/// What a completion answers about the object it made.
fn completed_output(
    input: dto::CompleteMultipartUploadInput,
    meta: &crate::store::ObjectMeta,
) -> dto::CompleteMultipartUploadOutput {
    let (crc32, crc32c, crc64nvme, sha1, sha256, kind) =
        checksum_fields!(checksums::fields(meta.checksum.as_ref()));
    dto::CompleteMultipartUploadOutput {
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        bucket: Some(input.bucket),
        key: Some(input.key),
        e_tag: Some(etag_of(meta)),
        checksum_crc32: crc32,
        checksum_crc32c: crc32c,
        checksum_crc64nvme: crc64nvme,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        checksum_type: kind,
        ..Default::default()
    }
}
