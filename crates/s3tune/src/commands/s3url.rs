//! `s3://BUCKET/KEY` URLs.

use std::fmt;

use anyhow::bail;

/// A parsed `s3://BUCKET/KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub key: String,
}

impl S3Url {
    /// Parses `s3://BUCKET/KEY`; the key may be empty (or end in `/`) where the caller
    /// fills it in.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let Some(rest) = text.strip_prefix("s3://") else {
            bail!("`{text}` is not an S3 URL: write s3://BUCKET/KEY");
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("`{text}` has no bucket: write s3://BUCKET/KEY");
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Like [`S3Url::parse`], but the key must name an object. A key may end in `/`:
    /// S3 keys are names, not paths, and such objects exist (folder markers among them).
    pub fn parse_object(text: &str) -> anyhow::Result<Self> {
        let url = Self::parse(text)?;
        if url.key.is_empty() {
            bail!("`{text}` names no object: write s3://BUCKET/KEY");
        }
        Ok(url)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            S3Url::parse_object("s3://b/a/k").unwrap(),
            S3Url {
                bucket: "b".into(),
                key: "a/k".into()
            }
        );
        assert_eq!(S3Url::parse("s3://b").unwrap().key, "");
        for bad in ["b/k", "http://b/k", "s3:///k", "s3://"] {
            assert!(S3Url::parse(bad).is_err(), "{bad}");
        }
        for bad in ["s3://b", "s3://b/"] {
            assert!(S3Url::parse_object(bad).is_err(), "{bad}");
        }
        assert_eq!(S3Url::parse_object("s3://b/dir/").unwrap().key, "dir/");
    }
}
