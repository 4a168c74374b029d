//! The standard object headers S3 keeps (`Cache-Control`, `Content-Disposition`,
//! `Content-Encoding`, `Content-Language`, `Expires`): read from an upload's input,
//! answered on GET and HEAD, and replaced for one GET by its `response-*` parameters.

use s3s::dto::{Timestamp, TimestampFormat};

use crate::store::ObjectHeaders;

/// The framing of a streamed upload, not a property of the object: S3 does not store it.
const AWS_CHUNKED: &str = "aws-chunked";

/// The headers of an input that names them the S3 way (PutObject, CreateMultipartUpload,
/// CopyObject all do).
macro_rules! headers_of {
    ($input:expr) => {
        $crate::s3::headers::given(
            $input.cache_control.take(),
            $input.content_disposition.take(),
            $input.content_encoding.take(),
            $input.content_language.take(),
            $input.expires.take(),
        )
    };
}
pub(super) use headers_of;

/// The headers an upload gives, as they are stored.
pub(super) fn given(
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    expires: Option<Timestamp>,
) -> ObjectHeaders {
    ObjectHeaders {
        cache_control,
        content_disposition,
        content_encoding: content_encoding.and_then(|e| without_framing(&e)),
        content_language,
        expires: expires.and_then(|t| http_date(&t)),
    }
}

/// A `Content-Encoding` without the `aws-chunked` token (boto3 appends it to the
/// user's own), or `None` when nothing else is left.
fn without_framing(encoding: &str) -> Option<String> {
    let kept: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case(AWS_CHUNKED))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

fn http_date(t: &Timestamp) -> Option<String> {
    let mut out = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut out).ok()?;
    String::from_utf8(out).ok()
}

/// A stored `Expires` as the output's timestamp.
pub(super) fn expires(h: &ObjectHeaders) -> Option<Timestamp> {
    h.expires
        .as_deref()
        .and_then(|s| Timestamp::parse(TimestampFormat::HttpDate, s).ok())
}

/// The `response-*` parameters of a GET: each replaces its header in that one answer
/// (how a presigned download link names the file it saves as).
pub(super) struct Overrides {
    pub content_type: Option<String>,
    pub headers: ObjectHeaders,
}

impl Overrides {
    /// The overrides of a GET input.
    pub fn of(input: &mut s3s::dto::GetObjectInput) -> Self {
        Self {
            content_type: input.response_content_type.take(),
            headers: ObjectHeaders {
                cache_control: input.response_cache_control.take(),
                content_disposition: input.response_content_disposition.take(),
                content_encoding: input.response_content_encoding.take(),
                content_language: input.response_content_language.take(),
                expires: input.response_expires.take().and_then(|t| http_date(&t)),
            },
        }
    }

    /// `stored`, with what these replace.
    pub fn apply(self, content_type: &mut Option<String>, stored: &ObjectHeaders) -> ObjectHeaders {
        if self.content_type.is_some() {
            *content_type = self.content_type;
        }
        let o = self.headers;
        ObjectHeaders {
            cache_control: o.cache_control.or_else(|| stored.cache_control.clone()),
            content_disposition: o
                .content_disposition
                .or_else(|| stored.content_disposition.clone()),
            content_encoding: o
                .content_encoding
                .or_else(|| stored.content_encoding.clone()),
            content_language: o
                .content_language
                .or_else(|| stored.content_language.clone()),
            expires: o.expires.or_else(|| stored.expires.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_framing_is_not_stored_as_the_objects_encoding() {
        assert_eq!(without_framing("gzip,aws-chunked").as_deref(), Some("gzip"));
        assert_eq!(without_framing("aws-chunked"), None);
        assert_eq!(without_framing("br, gzip").as_deref(), Some("br,gzip"));
    }

    #[test]
    fn an_expiry_date_survives_storage() {
        let t =
            Timestamp::parse(TimestampFormat::HttpDate, "Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let stored = given(None, None, None, None, Some(t));
        assert_eq!(
            stored.expires.as_deref(),
            Some("Wed, 21 Oct 2015 07:28:00 GMT")
        );
        assert!(expires(&stored).is_some());
    }
}
