//! Why a transfer failed, in words a user can act on.

use std::path::PathBuf;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

pub use crate::config::ConfigError;

/// A failed transfer. Each variant's message is one line saying what was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// A knob is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The bucket does not exist.
    #[error("bucket `{bucket}` does not exist")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
    },
    /// The key does not exist.
    #[error("s3://{bucket}/{key} does not exist")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The object was replaced while being downloaded (its ETag no longer matched).
    #[error(
        "s3://{bucket}/{key} changed during the download (412 Precondition Failed); run it again"
    )]
    Changed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// S3 refused the credentials or the access.
    #[error("access denied by S3 ({code}): check the credentials and the bucket's permissions")]
    Denied {
        /// S3's error code.
        code: String,
    },
    /// A request failed (after the client's retries), e.g. an unreachable endpoint.
    #[error("{operation} failed: {message}")]
    Request {
        /// The S3 operation.
        operation: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A part's body kept breaking off mid-stream.
    #[error(
        "bytes {start}-{end} failed {attempts} times (num_download_attempts); last error: {message}"
    )]
    BodyBroken {
        /// First byte of the part.
        start: u64,
        /// Last byte of the part.
        end: u64,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        message: String,
    },
    /// S3 answered with bytes other than those asked for.
    #[error("unexpected response: {0}")]
    BadResponse(String),
    /// The destination cannot be written.
    #[error("destination {path}: {reason}")]
    Destination {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The transfer was stopped (Ctrl-C); nothing was left behind.
    #[error("interrupted; nothing was left behind")]
    Cancelled,
    /// The reader of the output went away (e.g. `| head`).
    #[error("the output was closed before the download finished")]
    OutputClosed,
    /// The source cannot be read.
    #[error("source {path}: {reason}")]
    Source {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl TransferError {
    /// Maps an SDK error of `operation` on `bucket/key` to what the user needs to know.
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        bucket: &str,
        key: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_owned);
        match (code.as_deref(), status) {
            (Some("NoSuchBucket"), _) => TransferError::NoSuchBucket {
                bucket: bucket.to_owned(),
            },
            (Some("NoSuchKey" | "NotFound"), _) | (None, Some(404)) => TransferError::NoSuchKey {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            },
            (Some("PreconditionFailed"), _) | (None, Some(412)) => TransferError::Changed {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            },
            (
                Some(
                    c @ ("AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"),
                ),
                _,
            ) => TransferError::Denied { code: c.to_owned() },
            (None, Some(403)) => TransferError::Denied {
                code: "403 Forbidden".to_owned(),
            },
            _ => TransferError::Request {
                operation,
                message: describe(&err),
            },
        }
    }
}

/// The error and its causes on one line, each said once (Display, never Debug).
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
