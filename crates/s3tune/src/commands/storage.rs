//! `--storage URL`: where studies live.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use s3tune_hpo::{SqliteStore, Store};

/// Opens `url` (`sqlite:PATH`), or `study.db` in `out` when none is given.
pub fn open(url: Option<&str>, out: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let path = path(url, out)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(Arc::new(SqliteStore::open(&path)?))
}

/// The database file `url` names, checked without touching anything.
pub fn path(url: Option<&str>, out: &Path) -> anyhow::Result<PathBuf> {
    Ok(match url {
        None => out.join("study.db"),
        Some(u) => {
            let Some(path) = u
                .strip_prefix("sqlite://")
                .or_else(|| u.strip_prefix("sqlite:"))
            else {
                if u.starts_with("postgres://") || u.starts_with("postgresql://") {
                    bail!("--storage {u}: PostgreSQL storage is not built yet; use sqlite:PATH");
                }
                bail!("--storage `{u}`: write sqlite:PATH");
            };
            if path.is_empty() {
                bail!("--storage `{u}`: the path is empty; write sqlite:PATH");
            }
            path.into()
        }
    })
}
