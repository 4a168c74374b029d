//! Requests counted by the kind S3's price list tells apart, so a client's request cost
//! can be read off the server whatever the client (a program that counts nothing itself).
//!
//! S3 prices a request by its kind, not its size: PUT, COPY, POST and LIST requests cost
//! about twelve times a GET or HEAD (S3 Standard, us-east-1: $0.005 against $0.0004 per
//! 1,000), and DELETE is free. The kind is told from the method and, for a GET, whether
//! it lists (a bucket rather than a key, or a listing's query).

use std::sync::atomic::{AtomicU64, Ordering};

/// A request's kind, as S3 prices it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// GetObject.
    Get,
    /// HeadObject, HeadBucket.
    Head,
    /// ListObjects(V2), ListMultipartUploads, ListParts.
    List,
    /// PutObject, UploadPart, CopyObject.
    Put,
    /// CreateMultipartUpload, CompleteMultipartUpload, DeleteObjects.
    Post,
    /// DeleteObject, AbortMultipartUpload, and anything else.
    Other,
}

impl RequestClass {
    /// The kind of a request with `method` on `path` with `query`, addressed path-style
    /// (`/bucket/key`; the embedded server is reached by address, so clients address it
    /// so).
    #[must_use]
    pub fn of(method: &http::Method, path: &str, query: Option<&str>) -> Self {
        use http::Method;
        match *method {
            Method::GET => {
                let lists = query.is_some_and(|q| {
                    q.split('&').any(|p| {
                        let name = p.split('=').next().unwrap_or_default();
                        matches!(
                            name,
                            "list-type" | "uploads" | "uploadId" | "prefix" | "delimiter"
                        )
                    })
                });
                if lists || !path.trim_matches('/').contains('/') {
                    Self::List
                } else {
                    Self::Get
                }
            }
            Method::HEAD => Self::Head,
            Method::PUT => Self::Put,
            Method::POST => Self::Post,
            _ => Self::Other,
        }
    }
}

/// The live counts, one per [`RequestClass`].
#[derive(Debug, Default)]
pub struct ClassCounters([AtomicU64; 6]);

impl ClassCounters {
    /// Counts one request of `class`.
    pub fn count(&self, class: RequestClass) {
        self.0[class as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    #[must_use]
    pub fn snapshot(&self) -> RequestCounts {
        let r = |c: RequestClass| self.0[c as usize].load(Ordering::Relaxed);
        RequestCounts {
            get: r(RequestClass::Get),
            head: r(RequestClass::Head),
            list: r(RequestClass::List),
            put: r(RequestClass::Put),
            post: r(RequestClass::Post),
            other: r(RequestClass::Other),
        }
    }
}

/// Requests by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[allow(missing_docs)]
pub struct RequestCounts {
    pub get: u64,
    pub head: u64,
    pub list: u64,
    pub put: u64,
    pub post: u64,
    pub other: u64,
}

impl RequestCounts {
    /// The counts from `earlier` to these.
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            get: self.get.saturating_sub(earlier.get),
            head: self.head.saturating_sub(earlier.head),
            list: self.list.saturating_sub(earlier.list),
            put: self.put.saturating_sub(earlier.put),
            post: self.post.saturating_sub(earlier.post),
            other: self.other.saturating_sub(earlier.other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn requests_are_told_apart_as_s3_prices_them() {
        let of = RequestClass::of;
        assert_eq!(of(&Method::GET, "/b/k", None), RequestClass::Get);
        assert_eq!(
            of(&Method::GET, "/b/dir/k", Some("partNumber=2")),
            RequestClass::Get
        );
        assert_eq!(
            of(&Method::GET, "/b", Some("list-type=2&prefix=d/")),
            RequestClass::List
        );
        assert_eq!(of(&Method::GET, "/b/", None), RequestClass::List);
        assert_eq!(
            of(&Method::GET, "/b/k", Some("uploadId=x")),
            RequestClass::List
        );
        assert_eq!(of(&Method::HEAD, "/b/k", None), RequestClass::Head);
        assert_eq!(
            of(&Method::PUT, "/b/k", Some("partNumber=1&uploadId=x")),
            RequestClass::Put
        );
        assert_eq!(
            of(&Method::POST, "/b/k", Some("uploads")),
            RequestClass::Post
        );
        assert_eq!(of(&Method::DELETE, "/b/k", None), RequestClass::Other);
    }
}
