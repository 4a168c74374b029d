//! The dashboard's HTTP side: the embedded page, and the two JSON reads the page polls.
//!
//! - `GET /` (and `/app.js`, `/charts.js`, `/app.css`): the page, from the binary.
//! - `GET /api/studies`: the storage's studies.
//! - `GET /api/studies/NAME`: one study (404 with `{"error": …}` when there is none — the
//!   page says so, for a study deleted while it was open). Answers carry an `ETag`;
//!   `If-None-Match` with the same one gets `304 Not Modified`.
//! - `GET /api/studies/NAME/exports/N`: trial N's exports, as `tune` writes the best's.
//!
//! Store reads block (SQLite, and PostgreSQL's client driven to completion), so each
//! runs on tokio's blocking pool.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use s3tune_hpo::Store;

use super::api;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const CHARTS: &str = include_str!("assets/charts.js");
const STYLE: &str = include_str!("assets/app.css");

/// Accepts connections on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, store: Arc<dyn Store>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait for some to be freed rather than spin.
                tracing::warn!("dashboard: cannot accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let store = Arc::clone(&store);
                async move { Ok::<_, std::convert::Infallible>(answer(req, store).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to one request.
async fn answer(req: Request<Incoming>, store: Arc<dyn Store>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "the dashboard only reads");
    }
    let path = req.uri().path().to_owned();
    match path.as_str() {
        "/" | "/index.html" => asset(INDEX, "text/html; charset=utf-8"),
        "/app.js" => asset(SCRIPT, "text/javascript; charset=utf-8"),
        "/charts.js" => asset(CHARTS, "text/javascript; charset=utf-8"),
        "/app.css" => asset(STYLE, "text/css; charset=utf-8"),
        "/api/studies" => read(&req, store, |s| api::studies(s).map(Some)).await,
        _ => match path.strip_prefix("/api/studies/") {
            Some(raw) => {
                let decode = |t: &str| {
                    percent_encoding::percent_decode_str(t)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                match raw.rsplit_once("/exports/") {
                    Some((name, trial)) => {
                        let Ok(trial) = trial.parse::<u64>() else {
                            return plain(StatusCode::NOT_FOUND, "no such trial");
                        };
                        let name = decode(name);
                        read(&req, store, move |s| api::exports(s, &name, trial)).await
                    }
                    None => {
                        let name = decode(raw);
                        read(&req, store, move |s| api::study(s, &name)).await
                    }
                }
            }
            None => plain(StatusCode::NOT_FOUND, "no such page"),
        },
    }
}

/// Runs `what` on the store and answers with its JSON, `304` if the page has it already,
/// `404` if there is nothing, `500` with the store's error.
async fn read<F>(req: &Request<Incoming>, store: Arc<dyn Store>, what: F) -> Response<Full<Bytes>>
where
    F: FnOnce(&dyn Store) -> anyhow::Result<Option<serde_json::Value>> + Send + 'static,
{
    let got = tokio::task::spawn_blocking(move || what(store.as_ref())).await;
    let value = match got {
        Ok(Ok(Some(v))) => v,
        Ok(Ok(None)) => {
            return json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({ "error": "no such study or trial in this storage (deleted?)" }),
            );
        }
        Ok(Err(e)) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({ "error": format!("{e:#}") }),
            );
        }
        Err(e) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({ "error": e.to_string() }),
            );
        }
    };
    let body = serde_json::to_vec(&value).expect("JSON serializes");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    let tag = format!("\"{:016x}\"", hasher.finish());
    if req
        .headers()
        .get(IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes())
    {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(ETAG, &tag)
            .body(Full::new(Bytes::new()))
            .expect("a valid response");
    }
    let mut response = bytes_json(StatusCode::OK, body);
    response
        .headers_mut()
        .insert(ETAG, tag.parse().expect("a hex tag is a header value"));
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    bytes_json(status, serde_json::to_vec(value).expect("JSON serializes"))
}

fn bytes_json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CACHE_CONTROL, "no-cache")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn asset(text: &'static str, kind: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .header(CONTENT_TYPE, kind)
        .header(CACHE_CONTROL, "no-cache")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("a valid response")
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("a valid response")
}
