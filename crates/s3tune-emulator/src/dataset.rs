//! Synthetic objects and datasets given at start-up: `BUCKET/KEY=SIZE`.
//!
//! A dataset is what people move most: thousands of shards or images, not one object.
//! `KEY` may hold one numbered range, `{FIRST..LAST}` (zero-padded to the wider bound when
//! either is written with leading zeros, as a shell expands it), and `SIZE` is a size or a
//! distribution of sizes:
//!
//! * `64MiB`: every object that size;
//! * `lognormal(100KiB,0.5)`: log-normal around a median with a sigma (image folders);
//! * `uniform(1KiB,1MiB)`: any size in between, inclusive.
//!
//! Each object's size is drawn from a seed of its key, so a dataset is the same at every
//! start, in every process that parses the spec (a client can predict every size and,
//! with [`crate::synthetic`], every byte). Nothing is materialised: the objects are
//! listed by [`ObjectSpec::objects`] as they are made.

use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};
use rand::SeedableRng;
use rand_distr::Distribution;

use crate::error::ConfigError;
use crate::units::parse_size;

/// Most objects one spec may make.
pub const MAX_OBJECTS: u64 = 10_000_000;

/// Largest object S3 stores.
const MAX_OBJECT: u64 = 5 << 40;

/// How the sizes of a spec's objects are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizes {
    /// All the same.
    Fixed(u64),
    /// Log-normal: `median` bytes, and `sigma` of the log.
    LogNormal {
        /// The median size.
        median: u64,
        /// The standard deviation of the natural log of the size.
        sigma: f64,
    },
    /// Uniform over `min..=max`.
    Uniform {
        /// The smallest size.
        min: u64,
        /// The largest size.
        max: u64,
    },
}

impl Sizes {
    /// The size of the object under `key`: drawn from a seed of the key.
    #[must_use]
    pub fn of(&self, key: &str) -> u64 {
        let digest = Md5::new_with_prefix(b"s3tune-dataset-size-v1\0")
            .chain_update(key.as_bytes())
            .finalize();
        let seed = u64::from_le_bytes(digest[..8].try_into().expect("md5 has 16 bytes"));
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        match *self {
            Sizes::Fixed(n) => n,
            Sizes::Uniform { min, max } => rand::Rng::random_range(&mut rng, min..=max),
            Sizes::LogNormal { median, sigma } => {
                let d = rand_distr::LogNormal::new((median.max(1) as f64).ln(), sigma)
                    .expect("sigma checked when parsed");
                let drawn: f64 = d.sample(&mut rng);
                // Rounded, and within what S3 stores.
                (drawn.round() as u64).min(MAX_OBJECT)
            }
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let call = |name: &str| {
            s.strip_prefix(name)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
                .map(|args| args.split(',').map(str::trim).collect::<Vec<_>>())
        };
        if let Some(args) = call("lognormal") {
            let [median, sigma] = args[..] else {
                return Err("lognormal takes (MEDIAN,SIGMA), e.g. lognormal(100KiB,0.5)".into());
            };
            let median = parse_size(median)?;
            let sigma: f64 = sigma
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && (0.0..=4.0).contains(s))
                .ok_or_else(|| format!("sigma `{sigma}` is not a number from 0 to 4"))?;
            return Ok(Sizes::LogNormal { median, sigma });
        }
        if let Some(args) = call("uniform") {
            let [min, max] = args[..] else {
                return Err("uniform takes (MIN,MAX), e.g. uniform(1KiB,1MiB)".into());
            };
            let (min, max) = (parse_size(min)?, parse_size(max)?);
            if min > max {
                return Err(format!("uniform's MIN {min} is above its MAX {max}"));
            }
            return Ok(Sizes::Uniform { min, max });
        }
        parse_size(s).map(Sizes::Fixed)
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = bytesize::ByteSize;
        match *self {
            Sizes::Fixed(n) => write!(f, "{}", b(n)),
            Sizes::LogNormal { median, sigma } => {
                write!(f, "log-normal, median {}, sigma {sigma}", b(median))
            }
            Sizes::Uniform { min, max } => write!(f, "uniform {} to {}", b(min), b(max)),
        }
    }
}

/// A key with at most one numbered range: `shard-{00000..00999}.tar`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPattern {
    head: String,
    range: Option<(u64, u64, usize)>,
    tail: String,
}

impl KeyPattern {
    fn parse(key: &str) -> Result<Self, String> {
        let Some(open) = key.find('{') else {
            return Ok(Self {
                head: key.to_owned(),
                range: None,
                tail: String::new(),
            });
        };
        let close = key[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or("a `{` with no `}`")?;
        let inner = &key[open + 1..close];
        let (a, b) = inner
            .split_once("..")
            .ok_or_else(|| format!("`{{{inner}}}` is not a range like {{0..99}}"))?;
        let number = |s: &str| {
            s.parse::<u64>()
                .ok()
                .filter(|_| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| format!("`{s}` in `{{{inner}}}` is not a number"))
        };
        let (first, last) = (number(a)?, number(b)?);
        if first > last {
            return Err(format!("the range `{{{inner}}}` runs backwards"));
        }
        if last - first >= MAX_OBJECTS {
            return Err(format!("more than {MAX_OBJECTS} objects"));
        }
        let padded = |s: &str| s.len() > 1 && s.starts_with('0');
        let width = if padded(a) || padded(b) {
            a.len().max(b.len())
        } else {
            0
        };
        let tail = &key[close + 1..];
        if tail.contains('{') {
            return Err("only one `{FIRST..LAST}` range per key".into());
        }
        Ok(Self {
            head: key[..open].to_owned(),
            range: Some((first, last, width)),
            tail: tail.to_owned(),
        })
    }

    fn count(&self) -> u64 {
        self.range.map_or(1, |(a, b, _)| b - a + 1)
    }

    fn key(&self, i: u64) -> String {
        match self.range {
            None => self.head.clone(),
            Some((first, _, width)) => {
                format!(
                    "{}{:0width$}{}",
                    self.head,
                    first + i,
                    self.tail,
                    width = width
                )
            }
        }
    }
}

impl fmt::Display for KeyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.range {
            None => f.write_str(&self.head),
            Some((a, b, w)) => write!(f, "{}{{{a:0w$}..{b:0w$}}}{}", self.head, self.tail),
        }
    }
}

/// Synthetic objects to create at start-up (their bucket too): one, or a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    /// Bucket (created if missing).
    pub bucket: String,
    key: KeyPattern,
    /// How big each object is.
    pub sizes: Sizes,
}

impl ObjectSpec {
    /// One object of `size` bytes.
    #[must_use]
    pub fn one(bucket: &str, key: &str, size: u64) -> Self {
        Self {
            bucket: bucket.to_owned(),
            key: KeyPattern {
                head: key.to_owned(),
                range: None,
                tail: String::new(),
            },
            sizes: Sizes::Fixed(size),
        }
    }

    /// How many objects it makes.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.key.count()
    }

    /// Its objects, `(key, size)`, in the order of their numbers.
    pub fn objects(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        (0..self.count()).map(|i| {
            let key = self.key.key(i);
            let size = self.sizes.of(&key);
            (key, size)
        })
    }

    /// Their bytes in all.
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.objects().map(|(_, s)| s).sum()
    }
}

impl fmt::Display for ObjectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl FromStr for ObjectSpec {
    type Err = ConfigError;

    /// Parses `BUCKET/KEY=SIZE` (see the module's docs).
    fn from_str(spec: &str) -> Result<Self, ConfigError> {
        let err = |reason: &str| ConfigError::ObjectSpec {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (path, size) = spec.rsplit_once('=').ok_or_else(|| err("no `=SIZE`"))?;
        let (bucket, key) = path
            .split_once('/')
            .ok_or_else(|| err("no `/` between bucket and key"))?;
        if bucket.is_empty() {
            return Err(err("empty bucket name"));
        }
        crate::store::validate_bucket_name(bucket).map_err(|e| err(&e.to_string()))?;
        if key.is_empty() {
            return Err(err("empty key"));
        }
        let key = KeyPattern::parse(key).map_err(|e| err(&e))?;
        let sizes = Sizes::parse(size.trim()).map_err(|e| err(&e))?;
        Ok(Self {
            bucket: bucket.to_owned(),
            key,
            sizes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> Vec<(String, u64)> {
        spec.parse::<ObjectSpec>().unwrap().objects().collect()
    }

    #[test]
    fn one_object() {
        assert_eq!(
            keys("data/dir/big.bin=3GiB"),
            [("dir/big.bin".into(), 3 << 30)]
        );
        assert_eq!(keys("data/a=b=1000000"), [("a=b".into(), 1_000_000)]);
    }

    #[test]
    fn a_numbered_range_is_expanded_as_a_shell_would() {
        let k: Vec<_> = keys("data/shard-{00000..00002}.tar=64MiB")
            .into_iter()
            .map(|(k, s)| {
                assert_eq!(s, 64 << 20);
                k
            })
            .collect();
        assert_eq!(k, ["shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]);
        let k: Vec<_> = keys("data/x{8..10}=1")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(k, ["x8", "x9", "x10"]);
        let spec: ObjectSpec = "data/img/{0000..1999}.jpg=1KiB".parse().unwrap();
        assert_eq!(spec.count(), 2000);
        assert_eq!(spec.to_string(), "s3://data/img/{0000..1999}.jpg");
    }

    #[test]
    fn drawn_sizes_are_the_same_every_time_and_follow_their_law() {
        let spec = "data/i{0..1999}=lognormal(100KiB,0.5)";
        let a = keys(spec);
        assert_eq!(a, keys(spec), "the same sizes at every parse");
        let mut sizes: Vec<u64> = a.iter().map(|(_, s)| *s).collect();
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2] as f64;
        assert!((median / 102_400.0 - 1.0).abs() < 0.1, "median {median}");
        assert!(
            sizes[0] < 60_000 && sizes[1999] > 200_000,
            "spread {sizes:?}"
        );
        for (_, s) in keys("data/u{0..499}=uniform(10,20)") {
            assert!((10..=20).contains(&s));
        }
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (bad, why) in [
            ("data/key", "no `=SIZE`"),
            ("nokey=5", "no `/`"),
            ("/key=5", "empty bucket"),
            ("data/=5", "empty key"),
            ("data/key=lots", ""),
            ("UPPER/key=5", "not a valid bucket name"),
            ("data/k{1..}=5", "not a number"),
            ("data/k{9..1}=5", "backwards"),
            ("data/k{1-9}=5", "not a range"),
            ("data/k{0..9}{0..9}=5", "only one"),
            ("data/k{0..99999999}=5", "more than"),
            ("data/k=lognormal(1MiB)", "MEDIAN,SIGMA"),
            ("data/k=lognormal(1MiB,-1)", "sigma"),
            ("data/k=uniform(2MiB,1MiB)", "above"),
        ] {
            let e = bad.parse::<ObjectSpec>().unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains(why), "{bad}: {e}");
        }
    }
}
