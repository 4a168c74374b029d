//! Why a transfer failed, in words a user can act on: the one place where SDK, HTTP and
//! I/O errors become one-line messages.
//!
//! S3's own answers keep S3's code and message (`InvalidBucketName: The specified bucket
//! is not valid.`). Failures to reach S3 name their cause — refused, unresolvable, TLS,
//! silent past a timeout, cut off — and the endpoint they were trying, which
//! [`crate::timeout`]'s connector attaches to every connection error. No message carries
//! Rust's debug text.

use std::path::PathBuf;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

pub use crate::config::ConfigError;
use crate::timeout::{AtEndpoint, Silent};

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
    #[error("s3://{bucket}/{} does not exist", short(.key))]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// The object was replaced while being downloaded (its ETag no longer matched).
    #[error(
        "s3://{bucket}/{} changed during the download (412 Precondition Failed); run it again", short(.key)
    )]
    Changed {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// S3 refused the credentials or the access.
    #[error("access denied by S3 ({code}{}): check the credentials and the bucket's permissions", message_part(.message))]
    Denied {
        /// S3's error code.
        code: String,
        /// S3's message, if it gave one.
        message: String,
    },
    /// S3 answered a request with an error of its own.
    #[error("{operation} s3://{bucket}/{}: S3 answered {status} {code}{}{}", short(.key), message_part(.message), hint(.code, *.status))]
    Service {
        /// The S3 operation.
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The HTTP status.
        status: u16,
        /// S3's error code (`InvalidBucketName`, `SlowDown`, …).
        code: String,
        /// S3's message.
        message: String,
    },
    /// S3 could not be reached, or stopped answering (after the client's retries).
    #[error("{operation}: {cause}")]
    Connection {
        /// The S3 operation.
        operation: &'static str,
        /// What went wrong, with the endpoint.
        cause: Cause,
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
    #[error("destination {}: {reason}", .path.display())]
    Destination {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The transfer was stopped (Ctrl-C); nothing was left behind.
    #[error("interrupted; nothing was left behind")]
    Cancelled,
    /// The reader of the output went away (e.g. `| head`) before the download ended.
    #[error("the reader of {} closed it after {written} of {total} bytes: the download did not complete", output_name(.path))]
    OutputClosed {
        /// Where the bytes went (`-`: standard output).
        path: PathBuf,
        /// Bytes written before it closed.
        written: u64,
        /// The object's size.
        total: u64,
    },
    /// The source cannot be read.
    #[error("source {}: {reason}", .path.display())]
    Source {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// `-` is standard output.
fn output_name(path: &std::path::Path) -> String {
    if path == std::path::Path::new("-") {
        "standard output".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A key as a message shows it: whole, unless it is too long to read.
fn short(key: &str) -> String {
    const MAX: usize = 80;
    if key.len() <= MAX {
        return key.to_owned();
    }
    let mut end = MAX;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &key[..end], key.len())
}

fn message_part(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// What to do about the S3 errors users meet by mistake.
fn hint(code: &str, status: u16) -> &'static str {
    match (code, status) {
        ("InvalidBucketName", _) => {
            " (bucket names are 3-63 lowercase letters, digits, dots and hyphens)"
        }
        ("KeyTooLongError", _) => " (keys are at most 1,024 bytes)",
        ("AuthorizationHeaderMalformed" | "InvalidRequest", _) => {
            " (check --region and --endpoint-url)"
        }
        (_, 500 | 502 | 503 | 504) => " (to every attempt the client made)",
        _ => "",
    }
}

/// Why S3 could not be reached, and where it was being reached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// Nothing listens there.
    #[error("{endpoint} refused the connection: is the endpoint right and its server running?")]
    Refused {
        /// Where.
        endpoint: String,
    },
    /// The host name does not resolve.
    #[error("cannot resolve the host of {endpoint} ({detail}): check --endpoint-url and --region")]
    Dns {
        /// Where.
        endpoint: String,
        /// The resolver's words.
        detail: String,
    },
    /// The TLS handshake failed (a certificate, or an endpoint that speaks plain HTTP).
    #[error("TLS with {endpoint} failed ({detail}){}", if .endpoint.starts_with("https://") { ": if the server speaks plain HTTP, write http://" } else { "" })]
    Tls {
        /// Where.
        endpoint: String,
        /// rustls's words.
        detail: String,
    },
    /// No connection within the connect timeout.
    #[error(
        "no connection to {endpoint} within the connect timeout ({detail}), on every attempt: --connect-timeout sets it"
    )]
    ConnectTimeout {
        /// Where.
        endpoint: String,
        /// The timeout.
        detail: String,
    },
    /// Connected, but no answer within the read timeout.
    #[error(
        "{endpoint} did not answer within {seconds}s (the read timeout), attempt after attempt: is it an S3 endpoint, or is something in between stuck? --read-timeout sets it"
    )]
    Silent {
        /// Where.
        endpoint: String,
        /// The read timeout, in seconds.
        seconds: f64,
    },
    /// The connection was cut.
    #[error("{endpoint} closed the connection ({detail})")]
    Closed {
        /// Where.
        endpoint: String,
        /// The I/O error.
        detail: String,
    },
    /// The answer was not S3's (an HTML page, garbage).
    #[error("{endpoint} sent an answer that is not S3's ({detail})")]
    NotS3 {
        /// Where.
        endpoint: String,
        /// The parser's words.
        detail: String,
    },
    /// Anything else.
    #[error("cannot reach {endpoint}: {detail}")]
    Other {
        /// Where.
        endpoint: String,
        /// The innermost error's words.
        detail: String,
    },
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// An error and its causes on one line, each said once (Display, never Debug): for
/// errors with no S3 answer to map, such as a body that broke off.
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let text = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io_reason(io),
            None => e.to_string(),
        };
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every error of the chain from `err` down.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

/// The innermost message of the chain: the one that says what actually happened.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let last = chain(err).last().unwrap_or(err);
    match last.downcast_ref::<std::io::Error>() {
        Some(io) => io_reason(io),
        None => last.to_string(),
    }
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ")
}

/// Why a request that got no S3 answer failed.
fn cause_of(err: &(dyn std::error::Error + 'static), never_answered: bool) -> Cause {
    let endpoint = chain(err)
        .find_map(|e| e.downcast_ref::<AtEndpoint>())
        .map_or_else(|| "the S3 endpoint".to_owned(), |a| a.endpoint.clone());
    if let Some(s) = chain(err).find_map(|e| e.downcast_ref::<Silent>()) {
        return Cause::Silent {
            endpoint,
            seconds: s.after.as_secs_f64(),
        };
    }
    let detail = innermost(err);
    let text: String = chain(err).map(|e| e.to_string() + " ").collect();
    let io_kind = chain(err)
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    use std::io::ErrorKind as K;
    if io_kind == Some(K::ConnectionRefused) {
        Cause::Refused { endpoint }
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        Cause::Dns { endpoint, detail }
    } else if text.contains("HTTP connect timeout")
        || (text.contains("connect") && text.contains("timeout"))
    {
        Cause::ConnectTimeout { endpoint, detail }
    } else if text.contains("TLS") || text.contains("certificate") || text.contains("tls") {
        Cause::Tls { endpoint, detail }
    } else if matches!(
        io_kind,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
    ) || text.contains("connection closed")
        || text.contains("IncompleteMessage")
    {
        Cause::Closed { endpoint, detail }
    } else if never_answered {
        Cause::Other { endpoint, detail }
    } else {
        Cause::NotS3 { endpoint, detail }
    }
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
        let (code, message) = (
            err.code().map(str::to_owned),
            err.message().unwrap_or_default().to_owned(),
        );
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        match (&err, code.as_deref(), status) {
            (_, Some("NoSuchBucket"), _) => TransferError::NoSuchBucket { bucket },
            (_, Some("NoSuchKey" | "NotFound"), _) | (_, None, Some(404)) => {
                TransferError::NoSuchKey { bucket, key }
            }
            (_, Some("PreconditionFailed"), _) | (_, None, Some(412)) => {
                TransferError::Changed { bucket, key }
            }
            (
                _,
                Some(
                    c @ ("AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken"),
                ),
                _,
            ) => TransferError::Denied {
                code: c.to_owned(),
                message,
            },
            (_, None, Some(403)) => TransferError::Denied {
                code: "403 Forbidden".to_owned(),
                message,
            },
            (SdkError::ServiceError(_), _, _) | (_, Some(_), _) => TransferError::Service {
                operation,
                bucket,
                key,
                status: status.unwrap_or(0),
                code: code.unwrap_or_else(|| "an error without a code".to_owned()),
                message,
            },
            (SdkError::ResponseError(_), _, _) => TransferError::Connection {
                operation,
                cause: cause_of(&err, false),
            },
            (SdkError::ConstructionFailure(_), _, _) => TransferError::Connection {
                operation,
                cause: Cause::Other {
                    endpoint: "S3".to_owned(),
                    detail: format!("the request could not be made: {}", innermost(&err)),
                },
            },
            _ => TransferError::Connection {
                operation,
                cause: cause_of(&err, true),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_reasons_lose_the_os_error_number() {
        let e = std::io::Error::from_raw_os_error(28);
        assert_eq!(io_reason(&e), "No space left on device");
        let e = std::io::Error::other("plain");
        assert_eq!(io_reason(&e), "plain");
    }

    #[test]
    fn causes_are_named_with_their_endpoint() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let at = AtEndpoint {
            endpoint: "http://127.0.0.1:1".into(),
            source: Box::new(refused),
        };
        let c = cause_of(&at, true);
        assert_eq!(
            c,
            Cause::Refused {
                endpoint: "http://127.0.0.1:1".into()
            }
        );
        assert!(!c.to_string().contains("Error {"), "{c}");
    }
}
