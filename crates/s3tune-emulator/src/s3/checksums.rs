//! The additional checksums of requests and answers, as S3 treats them: a checksum a
//! client sends — in a header, or in the trailer of an aws-chunked body — is checked
//! against the bytes received, and a mismatch is refused with `BadDigest` before anything
//! is stored; the object keeps its checksum (CRC64NVME when the client named none) and
//! answers it on PUT, UploadPart and Complete, and on GET and HEAD with
//! `ChecksumMode=ENABLED`.

use s3s::dto;
use s3s::{S3Result, TrailingHeaders, s3_error};

use crate::checksum::{self, ALGORITHMS, Algorithm, Checksum, Hasher, Kind};
use crate::store::PartInfo;

/// What a request says of its body's checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claim {
    /// The algorithm the client named or sent.
    pub algorithm: Option<Algorithm>,
    expected: Expected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    None,
    Value(String),
    Trailer,
}

impl Claim {
    /// The claim of a request from its checksum header values (in the order of
    /// [`ALGORITHMS`]), its `x-amz-trailer`, and the algorithm it names.
    pub fn of(
        values: [Option<&str>; 5],
        trailer: Option<&str>,
        named: Option<&dto::ChecksumAlgorithm>,
    ) -> S3Result<Self> {
        for (a, v) in ALGORITHMS.into_iter().zip(values) {
            if let Some(v) = v {
                if checksum::decode(a, v).is_none() {
                    return Err(s3_error!(
                        InvalidRequest,
                        "Value for {} header is invalid.",
                        a.header()
                    ));
                }
                return Ok(Self {
                    algorithm: Some(a),
                    expected: Expected::Value(v.trim().to_owned()),
                });
            }
        }
        if let Some(t) = trailer {
            let a = ALGORITHMS
                .into_iter()
                .find(|a| a.header().eq_ignore_ascii_case(t.trim()))
                .ok_or_else(|| {
                    s3_error!(
                        InvalidRequest,
                        "The value specified in the x-amz-trailer header is not supported"
                    )
                })?;
            return Ok(Self {
                algorithm: Some(a),
                expected: Expected::Trailer,
            });
        }
        let algorithm = match named {
            Some(n) => Some(Algorithm::parse(n.as_str()).ok_or_else(|| {
                s3_error!(
                    InvalidRequest,
                    "Checksum algorithm provided is unsupported."
                )
            })?),
            None => None,
        };
        Ok(Self {
            algorithm,
            expected: Expected::None,
        })
    }

    /// The claim of a part of an upload made with `upload`'s algorithm: the same one
    /// (computed when the part names none), or `InvalidRequest` for another.
    pub fn within(mut self, upload: Option<Algorithm>) -> S3Result<Self> {
        match (upload, self.algorithm) {
            (Some(u), Some(a)) if u != a => Err(s3_error!(
                InvalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                u.name().to_ascii_lowercase(),
                a.name().to_ascii_lowercase()
            )),
            (Some(u), None) => {
                self.algorithm = Some(u);
                Ok(self)
            }
            _ => Ok(self),
        }
    }

    /// The digests a body is read through: CRC64NVME always (the default checksum, and
    /// what full-object multipart CRCs combine from), and the claimed algorithm.
    pub fn hashers(&self) -> Vec<Hasher> {
        let mut algorithms = vec![Algorithm::Crc64Nvme];
        if let Some(a) = self.algorithm.filter(|a| *a != Algorithm::Crc64Nvme) {
            algorithms.push(a);
        }
        algorithms.into_iter().map(Hasher::new).collect()
    }

    /// Reads a request body (see `rules::gather`) through the claim's digests and checks
    /// them against it: what PutObject and UploadPart share.
    pub async fn receive(
        &self,
        body: Option<s3s::dto::StreamingBlob>,
        content_length: Option<i64>,
        content_md5: Option<[u8; 16]>,
        trailers: Option<&TrailingHeaders>,
    ) -> S3Result<(crate::store::Blob, String, Vec<Checksum>)> {
        let (blob, etag, computed) =
            super::rules::gather(body, content_length, content_md5, self.hashers()).await?;
        self.verify(&computed, trailers)?;
        Ok((blob, etag, computed))
    }

    /// Checks the body's `computed` checksums against the claim (a trailer is read now
    /// that the body is): `BadDigest` on a mismatch.
    pub fn verify(
        &self,
        computed: &[Checksum],
        trailers: Option<&TrailingHeaders>,
    ) -> S3Result<()> {
        let Some(a) = self.algorithm else {
            return Ok(());
        };
        let want = match &self.expected {
            Expected::None => return Ok(()),
            Expected::Value(v) => v.clone(),
            Expected::Trailer => trailers
                .and_then(|t| {
                    t.read(|h| {
                        h.get(a.header())
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    })
                })
                .flatten()
                .ok_or_else(|| {
                    s3_error!(
                        InvalidRequest,
                        "The {} trailer was announced but not sent",
                        a.header()
                    )
                })?,
        };
        if checksum::decode(a, &want).is_none() {
            return Err(s3_error!(
                InvalidRequest,
                "Value for {} trailing header is invalid.",
                a.header()
            ));
        }
        let got = computed
            .iter()
            .find(|c| c.algorithm == a)
            .map(|c| c.value.as_str());
        if got != Some(want.trim()) {
            return Err(s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                a.name()
            ));
        }
        Ok(())
    }

    /// The object's checksum of a single PUT: the claimed algorithm's, else CRC64NVME.
    pub fn object(&self, computed: &[Checksum]) -> Option<Checksum> {
        let a = self.algorithm.unwrap_or(Algorithm::Crc64Nvme);
        computed.iter().find(|c| c.algorithm == a).cloned()
    }
}

/// The algorithm and kind of a new multipart upload, as `CreateMultipartUpload` names
/// them (S3's defaults: COMPOSITE, but FULL_OBJECT for CRC64NVME, which has no other).
pub(super) fn upload_kind(
    algorithm: Option<&dto::ChecksumAlgorithm>,
    kind: Option<&dto::ChecksumType>,
) -> S3Result<Option<(Algorithm, Kind)>> {
    let Some(a) = algorithm else {
        if kind.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        return Ok(None);
    };
    let a = Algorithm::parse(a.as_str()).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "Checksum algorithm provided is unsupported."
        )
    })?;
    let k = match kind.map(dto::ChecksumType::as_str) {
        None if a == Algorithm::Crc64Nvme => Kind::FullObject,
        None | Some(dto::ChecksumType::COMPOSITE) => Kind::Composite,
        Some(dto::ChecksumType::FULL_OBJECT) => Kind::FullObject,
        Some(_) => {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid."
            ));
        }
    };
    if (k == Kind::FullObject && !a.is_crc()) || (k == Kind::Composite && a == Algorithm::Crc64Nvme)
    {
        return Err(s3_error!(
            InvalidRequest,
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            k.name(),
            a.name().to_ascii_lowercase()
        ));
    }
    Ok(Some((a, k)))
}

/// A part's checksum of `algorithm`, or why it has none.
fn part_checksum(p: &PartInfo, a: Algorithm) -> S3Result<&Checksum> {
    p.checksums
        .iter()
        .find(|c| c.algorithm == a)
        .ok_or_else(|| {
            s3_error!(
                InvalidPart,
                "Part {} was uploaded without a {} checksum, which the upload was created with.",
                p.number,
                a.name()
            )
        })
}

/// The object checksum of a multipart upload made with `upload` from `parts` (in
/// order): its algorithm's composite or combined full-object checksum, else a full-object
/// CRC64NVME.
pub(super) fn of_parts(
    upload: Option<(Algorithm, Kind)>,
    parts: &[&PartInfo],
) -> S3Result<Checksum> {
    let (a, k) = upload.unwrap_or((Algorithm::Crc64Nvme, Kind::FullObject));
    let each = parts
        .iter()
        .map(|p| part_checksum(p, a))
        .collect::<S3Result<Vec<_>>>()?;
    let made = match k {
        Kind::Composite => checksum::composite(a, &each),
        Kind::FullObject => checksum::combined(a, &each),
    };
    made.ok_or_else(|| s3_error!(InternalError, "combining the parts' checksums failed"))
}

/// The checksum values a completed part names, in the order of [`ALGORITHMS`].
pub(super) fn values_of(p: &dto::CompletedPart) -> [Option<&str>; 5] {
    [
        p.checksum_crc32.as_deref(),
        p.checksum_crc32c.as_deref(),
        p.checksum_crc64nvme.as_deref(),
        p.checksum_sha1.as_deref(),
        p.checksum_sha256.as_deref(),
    ]
}

/// Checks the checksums a `CompleteMultipartUpload` lists for a part against the part's.
pub(super) fn check_listed(listed: [Option<&str>; 5], part: &PartInfo) -> S3Result<()> {
    for (a, v) in ALGORITHMS.into_iter().zip(listed) {
        let Some(v) = v else { continue };
        let stored = part.checksums.iter().find(|c| c.algorithm == a);
        if stored.map(|c| c.value.as_str()) != Some(v.trim()) {
            return Err(s3_error!(
                InvalidPart,
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
            ));
        }
    }
    Ok(())
}

/// The checksum fields of an answer.
#[derive(Debug, Default)]
pub(super) struct Fields {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub kind: Option<dto::ChecksumType>,
}

/// The fields that answer `c`.
pub(super) fn fields(c: Option<&Checksum>) -> Fields {
    let mut f = Fields::default();
    let Some(c) = c else { return f };
    let v = Some(c.value.clone());
    match c.algorithm {
        Algorithm::Crc32 => f.crc32 = v,
        Algorithm::Crc32c => f.crc32c = v,
        Algorithm::Crc64Nvme => f.crc64nvme = v,
        Algorithm::Sha1 => f.sha1 = v,
        Algorithm::Sha256 => f.sha256 = v,
    }
    f.kind = Some(dto::ChecksumType::from(c.kind.name().to_owned()));
    f
}
