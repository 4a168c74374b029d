//! Shared by the emulator's benchmark examples: a lean HTTP client (one hyper HTTP/1.1
//! connection per task, presigned requests so no signing cost is measured) and
//! statistics.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use bytes::Bytes;
use http_body_util::BodyExt;
use s3tune_emulator::EmulatorHandle;

/// A presigned GET: path-and-query and headers to send.
#[derive(Clone, Debug)]
pub struct Signed {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// Presigns a GET of `bucket/key` (with `range`) for `server`.
pub async fn presign(
    server: &EmulatorHandle,
    bucket: &str,
    key: &str,
    range: Option<String>,
) -> Signed {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(server.region().to_owned()))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new(
            server.access_key(),
            server.secret_key(),
            None,
            None,
            "bench",
        ))
        .force_path_style(true)
        .build();
    let req = Client::from_conf(conf)
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).unwrap())
        .await
        .unwrap();
    let uri: http::Uri = req.uri().parse().unwrap();
    Signed {
        path: uri.path_and_query().unwrap().to_string(),
        headers: req
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

/// One response as the client saw it.
#[derive(Debug, Clone, Copy)]
pub struct Fetch {
    pub status: u16,
    pub bytes: u64,
    /// The body ended early (connection dropped mid-body), or the connection died.
    pub broken: bool,
    pub started: Instant,
    pub first_byte: Instant,
    pub done: Instant,
}

/// One HTTP/1.1 connection.
pub struct Conn {
    addr: SocketAddr,
    sender: Option<hyper::client::conn::http1::SendRequest<http_body_util::Empty<Bytes>>>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> Self {
        let mut c = Self { addr, sender: None };
        c.reconnect().await;
        c
    }

    async fn reconnect(&mut self) {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
    }

    /// GETs `req`, discarding the body as it arrives (calling `on_data` with each
    /// frame's length); reconnects first if the last response broke the connection.
    pub async fn get(&mut self, req: &Signed, mut on_data: impl FnMut(&Bytes)) -> Fetch {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.reconnect().await;
        }
        let sender = self.sender.as_mut().unwrap();
        let mut b =
            http::Request::get(req.path.as_str()).header(http::header::HOST, self.addr.to_string());
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("host") {
                b = b.header(k.as_str(), v.as_str());
            }
        }
        let started = Instant::now();
        let sent = match sender.ready().await {
            Ok(()) => {
                sender
                    .send_request(b.body(http_body_util::Empty::new()).unwrap())
                    .await
            }
            Err(e) => Err(e),
        };
        let Ok(resp) = sent else {
            self.sender = None;
            let now = Instant::now();
            return Fetch {
                status: 0,
                bytes: 0,
                broken: true,
                started,
                first_byte: now,
                done: now,
            };
        };
        let first_byte = Instant::now();
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut bytes = 0;
        let mut broken = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(d) = f.data_ref() {
                        bytes += d.len() as u64;
                        on_data(d);
                    }
                }
                Err(_) => {
                    broken = true;
                    self.sender = None;
                    break;
                }
            }
        }
        Fetch {
            status,
            bytes,
            broken,
            started,
            first_byte,
            done: Instant::now(),
        }
    }
}

/// Sorted copy of `xs`.
pub fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q`-quantile (0..=1) of `xs`, by nearest rank.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    let v = sorted(xs);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// `min / median / max` of `xs`, formatted with `f`.
pub fn spread(xs: &[f64], f: impl Fn(f64) -> String) -> String {
    let v = sorted(xs);
    format!(
        "{} / {} / {}",
        f(v[0]),
        f(quantile(&v, 0.5)),
        f(v[v.len() - 1])
    )
}

/// Wilson 95 % interval of a proportion `k` out of `n`.
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// MB/s (10^6 bytes per second).
pub fn mbps(v: f64) -> String {
    format!("{:.0} MB/s", v / 1e6)
}

/// GB/s (10^9 bytes per second).
pub fn gbps(v: f64) -> String {
    format!("{:.2} GB/s", v / 1e9)
}

/// Milliseconds.
pub fn ms(v: f64) -> String {
    format!("{:.1} ms", v * 1e3)
}

/// A runtime for the client side of a benchmark, apart from the server's.
pub fn client_runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap()
}

/// The machine, for the record.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores, {model}")
}
