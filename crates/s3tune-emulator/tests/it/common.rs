//! Helpers shared by the integration tests.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use http_body_util::BodyExt;
use s3tune_emulator::{Emulator, EmulatorConfig, EmulatorHandle, NetworkProfile};

/// Starts an in-memory emulator with `network` on the test's runtime.
pub async fn start(network: NetworkProfile) -> EmulatorHandle {
    Emulator::start(EmulatorConfig {
        network,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

/// An SDK client for `server`, path-style, with SDK retries off so tests see every error.
pub fn client(server: &EmulatorHandle) -> Client {
    client_with(server, server.access_key(), server.secret_key())
}

/// An SDK client for `server` signing with the given keys.
pub fn client_with(server: &EmulatorHandle, access_key: &str, secret_key: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(server.region().to_owned()))
        .endpoint_url(server.endpoint())
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

/// The S3 error code and HTTP status of a failed SDK call.
pub fn code_of<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
) -> (Option<String>, Option<u16>) {
    (
        err.code().map(str::to_owned),
        err.raw_response().map(|r| r.status().as_u16()),
    )
}

/// Deterministic non-trivial bytes for uploads.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ ((i >> 8) as u8))
        .collect()
}

/// A presigned GET of `bucket/key` (with `range` when given): method, URI and headers.
pub async fn presign_get(
    client: &Client,
    bucket: &str,
    key: &str,
    range: Option<String>,
) -> (String, Vec<(String, String)>) {
    let req = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_range(range)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
        .await
        .expect("presign");
    let headers = req
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (req.uri().to_owned(), headers)
}

/// What a raw HTTP exchange produced.
#[derive(Debug)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// Body bytes received (possibly short when the body was cut off).
    pub body: Vec<u8>,
    /// Whether the body ended with an error (connection dropped mid-body).
    pub broken: bool,
    /// Time from sending the request to receiving the headers.
    pub first_byte: Duration,
}

/// A plain HTTP/1.1 client on one TCP connection, for tests that must see exactly what
/// the server sends, without SDK retries or connection pools.
pub struct RawConn {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    dead: bool,
}

impl RawConn {
    /// Connects to `addr`.
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Self {
            sender,
            dead: false,
        }
    }

    /// Whether the connection can take another request.
    pub fn is_open(&self) -> bool {
        !self.dead && !self.sender.is_closed()
    }

    /// Sends a GET of `uri` (absolute) with `headers` and host `host`, and reads the body.
    /// A connection dropped before the headers gives status 0 and `broken`.
    pub async fn get(
        &mut self,
        uri: &str,
        headers: &[(String, String)],
        host: Option<&str>,
    ) -> RawResponse {
        let parsed: http::Uri = uri.parse().expect("uri");
        let path = parsed
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut req = http::Request::get(path);
        let host = host.map_or_else(|| parsed.authority().unwrap().to_string(), str::to_owned);
        req = req.header(http::header::HOST, host);
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case("host") {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let t0 = std::time::Instant::now();
        let sent = match self.sender.ready().await {
            Ok(()) => {
                self.sender
                    .send_request(req.body(http_body_util::Empty::new()).unwrap())
                    .await
            }
            Err(e) => Err(e),
        };
        let Ok(resp) = sent else {
            self.dead = true;
            return RawResponse {
                status: 0,
                headers: http::HeaderMap::new(),
                body: Vec::new(),
                broken: true,
                first_byte: t0.elapsed(),
            };
        };
        let first_byte = t0.elapsed();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = resp.into_body();
        let mut data = Vec::new();
        let mut broken = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(d) = f.into_data() {
                        data.extend_from_slice(&d);
                    }
                }
                Err(_) => {
                    broken = true;
                    self.dead = true;
                    break;
                }
            }
        }
        RawResponse {
            status,
            headers,
            body: data,
            broken,
            first_byte,
        }
    }
}

/// PUTs `chunks` to `uri` (absolute, presigned) over a new connection with HTTP chunked
/// framing and no `Content-Length`, as a client streaming an unmeasured body does.
pub async fn put_chunked(
    addr: std::net::SocketAddr,
    uri: &str,
    chunks: Vec<Vec<u8>>,
) -> RawResponse {
    use http_body_util::StreamBody;
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let parsed: http::Uri = uri.parse().expect("uri");
    let frames = futures::stream::iter(chunks.into_iter().map(|c| {
        Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(bytes::Bytes::from(c)))
    }));
    let req = http::Request::put(parsed.path_and_query().unwrap().as_str())
        .header(http::header::HOST, parsed.authority().unwrap().as_str())
        .body(StreamBody::new(frames))
        .unwrap();
    let t0 = std::time::Instant::now();
    let resp = sender.send_request(req).await.expect("response");
    let first_byte = t0.elapsed();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    RawResponse {
        status,
        headers,
        body: body.to_vec(),
        broken: false,
        first_byte,
    }
}
