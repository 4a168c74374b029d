//! S3's rules that do not depend on the store: error mapping, conditional requests,
//! ranges, request bodies, listing encodings.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::{self, ETag, ETagCondition, StreamingBlob, Timestamp};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

use crate::store::{Blob, NewObject, ObjectMeta, StoreError};

/// A resolved byte range of an object: `start..end`.
pub(super) type ByteRange = (u64, u64);

/// Largest single PUT S3 accepts.
const MAX_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// Pieces of uploaded bodies are gathered into chunks of about this size.
const GATHER: usize = 1024 * 1024;

pub(super) fn s3_err(e: StoreError) -> S3Error {
    let code = match &e {
        StoreError::NoSuchBucket(_) => S3ErrorCode::NoSuchBucket,
        StoreError::NoSuchKey(_) => S3ErrorCode::NoSuchKey,
        StoreError::BucketExists(_) => S3ErrorCode::BucketAlreadyOwnedByYou,
        StoreError::BucketNotEmpty(_) => S3ErrorCode::BucketNotEmpty,
        StoreError::InvalidBucketName(_) => S3ErrorCode::InvalidBucketName,
        StoreError::NoSuchUpload(_) => S3ErrorCode::NoSuchUpload,
        StoreError::InvalidPart(_) => S3ErrorCode::InvalidPart,
        StoreError::InvalidPartOrder => S3ErrorCode::InvalidPartOrder,
        StoreError::EntityTooSmall(_) => S3ErrorCode::EntityTooSmall,
        StoreError::NoParts => S3ErrorCode::MalformedXML,
        _ => {
            tracing::error!(error = %e, "storage failure");
            S3ErrorCode::InternalError
        }
    };
    S3Error::with_message(code, e.to_string())
}

/// The one owner of everything the emulator stores (it has one account).
pub(super) fn owner() -> dto::Owner {
    dto::Owner {
        display_name: Some("s3tune".into()),
        id: Some("s3tune".into()),
    }
}

pub(super) fn timestamp(secs: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_secs(secs))
}

/// `secs` since the epoch as an HTTP date (`Last-Modified`).
fn http_date(secs: u64) -> String {
    let mut out = Vec::new();
    let _ = timestamp(secs).format(dto::TimestampFormat::HttpDate, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

pub(super) fn secs_of(ts: &Timestamp) -> i64 {
    time::OffsetDateTime::from(ts.clone()).unix_timestamp()
}

pub(super) fn etag_of(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag.clone())
}

pub(super) fn matches(cond: &ETagCondition, meta: &ObjectMeta) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == meta.etag,
    }
}

/// The conditional headers of a GET or HEAD.
pub(super) struct Conditions<'a> {
    pub(super) if_match: Option<&'a ETagCondition>,
    pub(super) if_none_match: Option<&'a ETagCondition>,
    pub(super) if_modified_since: Option<&'a Timestamp>,
    pub(super) if_unmodified_since: Option<&'a Timestamp>,
}

/// HTTP conditional request rules as S3 applies them to GET and HEAD: a failed
/// `If-Match` / `If-Unmodified-Since` is 412; a matching `If-None-Match` or an unchanged
/// `If-Modified-Since` is 304 (each second of a pair only counts without the first).
pub(super) fn check_conditions(meta: &ObjectMeta, c: &Conditions<'_>) -> S3Result<()> {
    let modified = i64::try_from(meta.last_modified).unwrap_or(i64::MAX);
    match (c.if_match, c.if_unmodified_since) {
        (Some(c), _) if !matches(c, meta) => {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        (None, Some(t)) if modified > secs_of(t) => {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
        _ => {}
    }
    let not_modified = match (c.if_none_match, c.if_modified_since) {
        (Some(c), _) => matches(c, meta),
        (None, Some(t)) => modified <= secs_of(t),
        (None, None) => false,
    };
    if not_modified {
        // A 304 still names the object's version, so a cache can keep using its copy.
        let mut e = S3Error::new(S3ErrorCode::NotModified);
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", meta.etag)) {
            headers.insert(http::header::ETAG, v);
        }
        if let Ok(v) = http::HeaderValue::from_str(&http_date(meta.last_modified)) {
            headers.insert(http::header::LAST_MODIFIED, v);
        }
        e.set_headers(headers);
        return Err(e);
    }
    Ok(())
}

/// The request's `Content-MD5`, checked to be a digest before any body is read: an MD5
/// is 16 bytes, so anything else (empty, cut short, not base64) is `InvalidDigest`.
pub(super) fn content_md5_of(headers: &http::HeaderMap) -> S3Result<Option<[u8; 16]>> {
    let Some(v) = headers.get("content-md5") else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(v.as_bytes().trim_ascii())
        .ok()
        .and_then(|d| <[u8; 16]>::try_from(d).ok())
        .map(Some)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid"))
}

/// Reads a request body into a [`Blob`], computing its MD5 and the `checksums` on the way,
/// and checks it against `Content-MD5` and `Content-Length` when the client sent them.
pub(super) async fn gather(
    body: Option<StreamingBlob>,
    content_length: Option<i64>,
    content_md5: Option<[u8; 16]>,
    mut checksums: Vec<crate::checksum::Hasher>,
) -> S3Result<(Blob, String, Vec<crate::checksum::Checksum>)> {
    let mut chunks = Vec::new();
    let mut current = BytesMut::new();
    let mut md5 = Md5::new();
    let mut total = 0u64;
    if let Some(mut body) = body {
        while let Some(piece) = body.next().await {
            let piece: Bytes = piece.map_err(|e| {
                S3Error::with_message(
                    S3ErrorCode::IncompleteBody,
                    format!("reading the request body failed: {e}"),
                )
            })?;
            md5.update(&piece);
            for h in &mut checksums {
                h.update(&piece);
            }
            total += piece.len() as u64;
            if total > MAX_PUT {
                return Err(s3_error!(
                    EntityTooLarge,
                    "Your proposed upload exceeds the maximum allowed size"
                ));
            }
            if piece.len() >= GATHER && current.is_empty() {
                chunks.push(piece);
            } else {
                current.extend_from_slice(&piece);
                if current.len() >= GATHER {
                    chunks.push(current.split().freeze());
                }
            }
        }
    }
    if !current.is_empty() {
        chunks.push(current.freeze());
    }
    if let Some(len) = content_length
        && u64::try_from(len).ok() != Some(total)
    {
        return Err(s3_error!(
            IncompleteBody,
            "You did not provide the number of bytes specified by the Content-Length HTTP header"
        ));
    }
    let digest = md5.finalize();
    if content_md5.is_some_and(|want| want != digest.as_slice()) {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received"
        ));
    }
    let checksums = checksums
        .into_iter()
        .map(crate::checksum::Hasher::finish)
        .collect();
    Ok((Blob::from_chunks(chunks), hex::encode(digest), checksums))
}

pub(super) fn attrs(
    content_type: Option<String>,
    headers: crate::store::ObjectHeaders,
    metadata: Option<dto::Metadata>,
) -> NewObject {
    NewObject {
        content_type,
        headers,
        metadata: metadata
            .map(|m| m.into_iter().collect::<BTreeMap<_, _>>())
            .unwrap_or_default(),
        checksum: crate::store::NewChecksum::None,
    }
}

/// Percent-encodes a key for `encoding-type=url` listings (all but unreserved and `/`).
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The byte range a GET or HEAD asks for (`partNumber` or `Range`), or `None` for all.
pub(super) fn requested_range(
    meta: &ObjectMeta,
    range: Option<dto::Range>,
    part_number: Option<i32>,
) -> S3Result<Option<ByteRange>> {
    if let Some(n) = part_number {
        if range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        let sizes: &[u64] = if meta.part_sizes.is_empty() {
            &[meta.size]
        } else {
            &meta.part_sizes
        };
        super::multipart::check_part_number(n)?;
        let idx = usize::try_from(n)
            .ok()
            .filter(|&i| i <= sizes.len())
            .ok_or_else(|| s3_error!(InvalidPart, "The requested partnumber is not satisfiable"))?;
        let start: u64 = sizes[..idx - 1].iter().sum();
        return Ok(Some((start, start + sizes[idx - 1])));
    }
    match range {
        None => Ok(None),
        Some(r) => r
            .check(meta.size)
            .map(|r| Some((r.start, r.end)))
            .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable")),
    }
}

pub(super) fn parts_count(meta: &ObjectMeta, part_number: Option<i32>) -> Option<i32> {
    part_number.map(|_| i32::try_from(meta.part_sizes.len().max(1)).unwrap_or(i32::MAX))
}
