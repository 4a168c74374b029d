//! `--storage URL`: where studies live. `sqlite:PATH` (the default, `study.db` in the
//! output folder) for one machine; `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` for
//! workers on many machines (the password may also come from `PGPASSWORD`; TLS as
//! libpq's `sslmode` and `sslrootcert` say, in the URL or `PGSSLMODE`/`PGSSLROOTCERT`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use s3tune_hpo::{PostgresStore, SqliteStore, Store};

/// A storage URL, checked without touching anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database (the URL as given).
    Postgres(String),
}

impl Location {
    /// What to write after `--storage` to reach this store again (no password), quoted
    /// for a shell when it needs to be (a URL with `&`, a path with spaces).
    pub fn flag(&self, store: &dyn Store) -> String {
        let flag = match self {
            Location::Sqlite(p) => format!("sqlite:{}", p.display()),
            Location::Postgres(_) => store.location(),
        };
        if flag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c))
        {
            flag
        } else {
            format!("'{}'", flag.replace('\'', r"'\''"))
        }
    }
}

/// Opens the store at `location` only to read it (`report`, `study list`): nothing is
/// created or written, and a store that is not there is an error.
pub fn open_read_only(location: &Location) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match location {
        Location::Sqlite(path) => Arc::new(SqliteStore::open_read_only(path)?),
        Location::Postgres(url) => Arc::new(PostgresStore::connect_read_only(url)?),
    })
}

/// Opens the store at `location` if it is there (a SQLite file that does not exist is
/// `None`, and is not created; a PostgreSQL database is connected to).
pub fn open_existing(location: &Location) -> anyhow::Result<Option<Arc<dyn Store>>> {
    match location {
        Location::Sqlite(path) if !path.is_file() => Ok(None),
        _ => open_at(location).map(Some),
    }
}

/// Opens the store at `location`, creating it if needed.
pub fn open_at(location: &Location) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match location {
        Location::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            Arc::new(SqliteStore::open(path)?)
        }
        Location::Postgres(url) => Arc::new(PostgresStore::connect(url)?),
    })
}

/// Where `url` points.
pub fn parse(url: Option<&str>, out: &Path) -> anyhow::Result<Location> {
    Ok(match url {
        None => Location::Sqlite(out.join("study.db")),
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
            Location::Postgres(u.to_owned())
        }
        Some(u) => {
            let Some(path) = u
                .strip_prefix("sqlite://")
                .or_else(|| u.strip_prefix("sqlite:"))
            else {
                bail!("--storage `{u}`: write sqlite:PATH or postgres://USER@HOST:PORT/DB");
            };
            if path.is_empty() {
                bail!("--storage `{u}`: the path is empty; write sqlite:PATH");
            }
            Location::Sqlite(path.into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_quoted_for_a_shell_when_they_need_it() {
        let dir = tempfile::tempdir().unwrap();
        let plain = Location::Sqlite(dir.path().join("s.db"));
        let store = open_at(&plain).unwrap();
        assert_eq!(
            plain.flag(store.as_ref()),
            format!("sqlite:{}", dir.path().join("s.db").display())
        );
        let spaced = Location::Sqlite(dir.path().join("my studies").join("it's.db"));
        let store = open_at(&spaced).unwrap();
        let flag = spaced.flag(store.as_ref());
        let path = dir.path().join("my studies").join("it'\\''s.db");
        assert_eq!(flag, format!("'sqlite:{}'", path.display()));
    }
}
