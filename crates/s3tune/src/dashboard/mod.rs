//! `s3tune dashboard` and `tune --dashboard`: a web page, served by s3tune itself, that
//! shows the studies of a storage and follows one as its trials end.
//!
//! Everything the page needs is in the binary (`assets/`: one HTML file, one script and
//! one style sheet, no library, nothing fetched from elsewhere), so it works offline and
//! on a machine that reaches nothing but the storage. The page polls the study it shows
//! once a second; each answer carries an `ETag` of its content, so an unchanged study
//! costs a store read and a `304 Not Modified`, not a download.
//!
//! The charts are drawn as SVG by the page's own script: a study has at most a few
//! thousand points, which SVG draws at once, and four small charts do not justify a
//! charting library to vendor and keep up.

mod api;
mod http;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use s3tune_hpo::Store;

/// A dashboard serving in this process.
pub struct Dashboard {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Dashboard {
    /// Starts serving `store` on `listen`; an error if the address cannot be had (in use,
    /// not this machine's).
    pub async fn start(store: Arc<dyn Store>, listen: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {listen} (in use? choose another with --listen HOST:PORT)"
                )
            })?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(http::serve(listener, store));
        Ok(Self { addr, task })
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address of study `name`'s page.
    pub fn study_url(&self, name: &str) -> String {
        format!(
            "{}#/study/{}",
            self.url(),
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        )
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `tune --dashboard[=HOST:PORT]`: the page of the study being tuned, served from the
/// study's own store while it runs (`None` without the flag).
pub async fn for_study(
    listen: Option<&str>,
    session: &crate::study::session::Session,
) -> anyhow::Result<Option<Dashboard>> {
    let Some(listen) = listen else {
        return Ok(None);
    };
    let addr = crate::commands::listen_addr(listen).context("--dashboard")?;
    let dashboard = Dashboard::start(Arc::clone(&session.store), addr).await?;
    warn_if_exposed(addr);
    Ok(Some(dashboard))
}

/// Warns, as `serve` does, when the page is served beyond this machine: anyone who can
/// reach the address can read every study of the storage.
pub fn warn_if_exposed(listen: SocketAddr) {
    if !listen.ip().is_loopback() {
        eprintln!(
            "s3tune: WARNING: the dashboard listens on {listen}, which is not a loopback address: anyone who can reach it can read every study in the storage"
        );
    }
}
