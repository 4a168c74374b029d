//! What the server does to every request and answer around s3s, as S3 does it: names
//! each answer (request ids), and gives a body sent with no length the length the
//! signature checks need.

use s3s::{S3Error, S3ErrorCode};

/// Largest body taken without a length (HTTP chunked framing): S3's largest PUT and the
/// framing `aws-chunked` adds around it.
const MAX_UNSIZED_BODY: usize = 5 * 1024 * 1024 * 1024 + 64 * 1024 * 1024;

/// A new request id, as S3's look: 16 hex digits.
pub(crate) fn request_id() -> String {
    format!("{:016X}", rand::random::<u64>())
}

/// Names the request on its response, as S3 does on every one: `x-amz-request-id` and
/// `x-amz-id-2`, and, in an error's XML, `RequestId` and `HostId` (what a user quotes
/// to find the request in the server's log, where it is logged too).
pub(crate) fn name_response(resp: &mut http::Response<s3s::Body>, id: &str) {
    let host_id = format!("s3tune/{id}");
    if resp.status().as_u16() >= 300
        && let Some(xml) = resp.body().bytes()
        && let Some(at) = find(&xml, b"</Error>")
    {
        let mut named = Vec::with_capacity(xml.len() + 80);
        named.extend_from_slice(&xml[..at]);
        named.extend_from_slice(
            format!("<RequestId>{id}</RequestId><HostId>{host_id}</HostId>").as_bytes(),
        );
        named.extend_from_slice(&xml[at..]);
        if let Ok(v) = http::HeaderValue::from_str(&named.len().to_string()) {
            resp.headers_mut().insert(http::header::CONTENT_LENGTH, v);
        }
        *resp.body_mut() = s3s::Body::from(bytes::Bytes::from(named));
    }
    let headers = resp.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(id) {
        headers.insert("x-amz-request-id", v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&host_id) {
        headers.insert("x-amz-id-2", v);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Whether a request's body comes with no length at all: HTTP chunked framing, no
/// `Content-Length`, and no `x-amz-decoded-content-length` (an aws-chunked body with one
/// is checked as it streams). A client streaming what it could not measure; S3 takes it.
pub(crate) fn unsized_body(req: &http::Request<s3s::Body>) -> bool {
    let h = req.headers();
    !h.contains_key(http::header::CONTENT_LENGTH)
        && !h.contains_key("x-amz-decoded-content-length")
        && h.get_all(http::header::TRANSFER_ENCODING).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
        })
}

/// Reads an unsized body whole and gives the request the `Content-Length` it has, which
/// the signature checks need (the emulator holds every uploaded body in memory anyway).
pub(crate) async fn sized(
    req: http::Request<s3s::Body>,
) -> Result<http::Request<s3s::Body>, S3Error> {
    use http_body_util::BodyExt;
    let (mut parts, body) = req.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_UNSIZED_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                S3Error::with_message(
                    S3ErrorCode::EntityTooLarge,
                    "Your proposed upload exceeds the maximum allowed size",
                )
            } else {
                S3Error::with_message(
                    S3ErrorCode::IncompleteBody,
                    format!("reading the request body failed: {e}"),
                )
            }
        })?
        .to_bytes();
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(bytes.len()),
    );
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    Ok(http::Request::from_parts(parts, s3s::Body::from(bytes)))
}
