//! Reaching the database: the connection (its timeouts, TLS, credentials from the URL
//! or libpq's variables), and the schema, made or checked under an advisory lock.

use std::sync::Mutex;
use std::time::Duration;

use futures::executor::block_on;
use tokio_postgres::{Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PostgresStore, reason};
use crate::store::StoreError;

/// The schema revision this code writes.
const VERSION: i32 = 2;

/// Key of the advisory lock under which the schema is created or migrated.
const SCHEMA_LOCK: i64 = 0x7333_7475_6e65; // "s3tune"

/// How long connecting to one address may take before it is given up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// How long connecting and signing in may take in all (a server that accepts the
/// connection and then says nothing).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(7);

const SCHEMA_1: &str = "
CREATE TABLE s3tune_studies (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    space       TEXT NOT NULL,
    objective   TEXT NOT NULL,
    searcher    TEXT NOT NULL,
    scheduler   TEXT NOT NULL,
    seed        BIGINT NOT NULL,
    settings    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL
);
CREATE TABLE s3tune_trials (
    study        BIGINT NOT NULL REFERENCES s3tune_studies(id),
    number       BIGINT NOT NULL,
    config       TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    status       TEXT NOT NULL,
    reports      TEXT NOT NULL,
    error        TEXT,
    worker       TEXT NOT NULL,
    started_ms   BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    finished_ms  BIGINT,
    lost         BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (study, number)
);
CREATE TABLE s3tune_notes (
    study  BIGINT NOT NULL REFERENCES s3tune_studies(id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (study, key)
);
";

/// Revision 1 → 2: what each report measured besides the objective (memory, CPU, …).
const MIGRATE_1_2: &str =
    "ALTER TABLE s3tune_trials ADD COLUMN IF NOT EXISTS metrics TEXT NOT NULL DEFAULT '[]'";

/// `url` as it can be shown: no password, its TLS settings kept.
fn describe(config: &Config, tls: &crate::store::tls::Settings) -> String {
    let host = config
        .get_hosts()
        .first()
        .map_or_else(String::new, |h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        });
    let port = config
        .get_ports()
        .first()
        .map_or_else(String::new, |p| format!(":{p}"));
    format!(
        "postgres://{}@{host}{port}/{}{}",
        config.get_user().unwrap_or_default(),
        config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or_default(),
        tls.query()
    )
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`,
    /// or libpq's `key=value` form) and creates s3tune's tables there if it has none.
    /// Gives up after a few seconds when the server does not answer.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, false)
    }

    /// Connects as [`PostgresStore::connect`] does, but only to read: the session is
    /// read-only, and nothing is created — a database without s3tune's tables is an
    /// error. For reports of a study that may be running elsewhere.
    pub fn connect_read_only(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, true)
    }

    fn connect_with(url: &str, read_only: bool) -> Result<Self, StoreError> {
        let unparsed = |reason: String| StoreError::Database {
            location: url.split('@').next_back().unwrap_or_default().to_owned(),
            reason,
        };
        let (rest, tls) =
            crate::store::tls::take_settings(url, |k| std::env::var(k).ok()).map_err(&unparsed)?;
        let mut config: Config = rest
            .parse()
            .map_err(|e| unparsed(format!("not a PostgreSQL URL ({e})")))?;
        if config.get_hosts().is_empty() {
            return Err(unparsed(
                "no host: write postgres://USER@HOST:PORT/DB".to_owned(),
            ));
        }
        if config.get_password().is_none()
            && let Ok(p) = std::env::var("PGPASSWORD")
        {
            config.password(p);
        }
        if config.get_user().is_none()
            && let Some(u) = ["PGUSER", "USER", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok())
        {
            config.user(u);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("s3tune");
        if read_only {
            config.options("-c default_transaction_read_only=on");
        }
        config.ssl_mode(tls.mode.ssl_mode());
        let location = describe(&config, &tls);
        let connector =
            crate::store::tls::connector(&tls, std::env::var_os("HOME").map(Into::into)).map_err(
                |reason| StoreError::Database {
                    location: location.clone(),
                    reason,
                },
            )?;
        let client =
            spawn_connection(config, connector).map_err(|reason| StoreError::Database {
                location: location.clone(),
                reason,
            })?;
        let store = Self {
            location,
            client: Mutex::new(client),
        };
        if read_only {
            store.check_schema()?;
        } else {
            store.migrate()?;
        }
        Ok(store)
    }

    /// The schema is there, and one this code knows.
    fn check_schema(&self) -> Result<(), StoreError> {
        let mut client = self.lock();
        let version: Option<i32> = block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            let exists: Option<String> = tx
                .query_one("SELECT to_regclass('s3tune_schema')::text", &[])
                .await
                .map_err(db)?
                .get(0);
            if exists.is_none() {
                return Ok(None);
            }
            tx.query_one("SELECT max(version) FROM s3tune_schema", &[])
                .await
                .map_err(db)
                .map(|r| r.get(0))
        })?;
        match version {
            Some(VERSION) => Ok(()),
            Some(v) if v < VERSION => Err(StoreError::Database {
                location: self.location.clone(),
                reason: "made by an older s3tune: run `s3tune tune` or `s3tune worker` on it once, which updates it".to_owned(),
            }),
            None => Err(StoreError::Database {
                location: self.location.clone(),
                reason: "this database has no s3tune studies".to_owned(),
            }),
            Some(v) => Err(self.unknown_version(v)),
        }
    }

    /// Creates the schema, or checks that it is one this code knows.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.lock();
        block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
                .await
                .map_err(db)?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS s3tune_schema (version INTEGER NOT NULL)")
                .await
                .map_err(db)?;
            let version: Option<i32> = tx
                .query_one("SELECT max(version) FROM s3tune_schema", &[])
                .await
                .map_err(db)?
                .get(0);
            match version {
                None | Some(1) => {
                    if version.is_none() {
                        tx.batch_execute(SCHEMA_1).await.map_err(db)?;
                    }
                    tx.batch_execute(MIGRATE_1_2).await.map_err(db)?;
                    tx.execute(
                        "INSERT INTO s3tune_schema (version) VALUES ($1)",
                        &[&VERSION],
                    )
                    .await
                    .map_err(db)?;
                }
                Some(VERSION) => {}
                Some(v) => return Err(self.unknown_version(v)),
            }
            tx.commit().await.map_err(db)
        })
    }

    /// A schema this code does not know (a newer s3tune's).
    fn unknown_version(&self, v: i32) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            reason: format!(
                "schema version {v} is not one this s3tune knows ({VERSION}); use the s3tune that made it"
            ),
        }
    }
}

/// Connects, and drives the connection on a thread of its own until the client is
/// dropped.
fn spawn_connection(config: Config, tls: MakeRustlsConnect) -> Result<Client, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("s3tune-postgres".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                // The connect timeout covers each address; this covers a server that
                // accepts the connection and then says nothing.
                let connect = config.connect(tls);
                match tokio::time::timeout(STARTUP_TIMEOUT, connect).await {
                    Ok(Ok((client, connection))) => {
                        let _ = tx.send(Ok(client));
                        // Ends when the client is dropped (or the server goes away).
                        let _ = connection.await;
                    }
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(crate::store::tls::explain(reason(&e))));
                    }
                    Err(_) => {
                        let _ = tx.send(Err(format!(
                            "the server did not answer within {} s",
                            STARTUP_TIMEOUT.as_secs()
                        )));
                    }
                }
            });
        })
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|_| "the connection thread ended".to_owned())?
}
