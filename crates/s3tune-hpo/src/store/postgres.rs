//! The shared study store: PostgreSQL, for workers on any number of machines, with no
//! coordinator but the database.
//!
//! - Claims lock the study's row (`SELECT … FOR UPDATE`) for the length of
//!   suggest-and-claim, so the claims of one study follow one another across every
//!   process, and each sees every other worker's running trials. Reports, heartbeats
//!   and other studies are not held up.
//! - Heartbeats and staleness use the *server's* clock (`clock_timestamp()`), so workers
//!   whose clocks disagree still agree on which trial is stale.
//! - Tables are prefixed `s3tune_` (the database may hold other things); the schema is
//!   created, and will be migrated, by s3tune itself under an advisory lock, so many
//!   workers may start on an empty database at once.
//! - The [`Store`] trait is synchronous (the searcher runs inside the claim's
//!   transaction), like SQLite's. The connection is driven by a runtime on a thread of
//!   its own, and each call waits for its answer, so the store works from any thread,
//!   inside an async runtime or not.
//!
//! The password comes from the URL, or from `PGPASSWORD` as libpq reads it; the user
//! from the URL, `PGUSER` or the login name; TLS as libpq's `sslmode` and `sslrootcert`
//! say (see [`super::tls`]).

use std::sync::Mutex;
use std::time::Duration;

use futures::executor::block_on;
use tokio_postgres::{Client, Config, GenericClient, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::rows::{append_report, claimed, config_text, history_of, next_number, parse_reports};
use super::{
    Claim, RawStudy, RawTrial, Store, StoreError, StoredSpec, Study, StudySpec, TrialRecord,
    check_same, from_ms, status_name,
};
use crate::history::{History, Status};
use crate::searcher::{SearchError, Suggestion};

/// The schema revision this code writes.
const VERSION: i32 = 1;

/// Key of the advisory lock under which the schema is created or migrated.
const SCHEMA_LOCK: i64 = 0x7333_7475_6e65; // "s3tune"

/// The server's clock, in milliseconds since the Unix epoch.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

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

/// A study store in a PostgreSQL database.
pub struct PostgresStore {
    location: String,
    client: Mutex<Client>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// `url` as it can be shown: no password, its TLS settings kept.
fn describe(config: &Config, tls: &super::tls::Settings) -> String {
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

/// What went wrong, in one line (the server's own message when it sent one).
fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text = format!("{text}: {c_text}");
        }
        cause = c.source();
    }
    text
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
            super::tls::take_settings(url, |k| std::env::var(k).ok()).map_err(&unparsed)?;
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
        let connector = super::tls::connector(&tls, std::env::var_os("HOME").map(Into::into))
            .map_err(|reason| StoreError::Database {
                location: location.clone(),
                reason,
            })?;
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
            None => Err(StoreError::Database {
                location: self.location.clone(),
                reason: "this database has no s3tune studies".to_owned(),
            }),
            Some(v) => Err(StoreError::Database {
                location: self.location.clone(),
                reason: format!(
                    "schema version {v} is not one this s3tune knows ({VERSION}); use the s3tune that made it"
                ),
            }),
        }
    }

    fn db(&self, e: &tokio_postgres::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            reason: reason(e),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Client> {
        // A panic mid-transaction drops the transaction, which rolls it back.
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
                None => {
                    tx.batch_execute(SCHEMA_1).await.map_err(db)?;
                    tx.execute(
                        "INSERT INTO s3tune_schema (version) VALUES ($1)",
                        &[&VERSION],
                    )
                    .await
                    .map_err(db)?;
                }
                Some(VERSION) => {}
                Some(v) => {
                    return Err(StoreError::Database {
                        location: self.location.clone(),
                        reason: format!(
                            "schema version {v} is not one this s3tune knows ({VERSION}); use the s3tune that made it"
                        ),
                    });
                }
            }
            tx.commit().await.map_err(db)
        })
    }

    /// The running trials among `numbers`, marked failed and lost.
    async fn lose(
        &self,
        client: &impl GenericClient,
        study: &Study,
        numbers: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let numbers: Vec<i64> = numbers.iter().map(|&n| n as i64).collect();
        let rows = client
            .query(
                &format!(
                    "UPDATE s3tune_trials
                     SET status = 'failed', lost = TRUE, error = $1, finished_ms = {NOW_MS}
                     WHERE study = $2 AND number = ANY($3) AND status = 'running'
                     RETURNING number"
                ),
                &[&reason, &study.id, &numbers],
            )
            .await
            .map_err(|e| self.db(&e))?;
        Ok(numbers_of(&rows))
    }

    /// An update of a running trial that touched no row: the trial ended, or never was.
    async fn not_updated(
        &self,
        client: &impl GenericClient,
        study: &Study,
        trial: u64,
    ) -> StoreError {
        let exists = client
            .query_opt(
                "SELECT 1 FROM s3tune_trials WHERE study = $1 AND number = $2",
                &[&study.id, &(trial as i64)],
            )
            .await;
        match exists {
            Ok(Some(_)) => StoreError::NotRunning {
                study: study.spec.name.clone(),
                trial,
            },
            Ok(None) => StoreError::NoTrial {
                study: study.spec.name.clone(),
                trial,
            },
            Err(e) => self.db(&e),
        }
    }

    async fn records(
        &self,
        client: &impl GenericClient,
        study: &Study,
    ) -> Result<Vec<TrialRecord>, StoreError> {
        let rows = client
            .query(
                "SELECT number, config, status, reports, error, worker, started_ms,
                        heartbeat_ms, finished_ms, lost
                 FROM s3tune_trials WHERE study = $1 ORDER BY number",
                &[&study.id],
            )
            .await
            .map_err(|e| self.db(&e))?;
        rows.iter()
            .map(|r| {
                RawTrial {
                    number: r.get(0),
                    config: r.get(1),
                    status: r.get(2),
                    reports: r.get(3),
                    error: r.get(4),
                    worker: r.get(5),
                    started_ms: r.get(6),
                    heartbeat_ms: r.get(7),
                    finished_ms: r.get(8),
                    lost: r.get(9),
                }
                .parse(&study.spec.name)
            })
            .collect()
    }

    async fn read_study(
        &self,
        client: &impl GenericClient,
        name: &str,
    ) -> Result<Option<Study>, StoreError> {
        let row = client
            .query_opt(
                "SELECT id, name, space, objective, searcher, scheduler, seed, settings,
                        created_ms
                 FROM s3tune_studies WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(|e| self.db(&e))?;
        row.map(|r| {
            RawStudy {
                id: r.get(0),
                name: r.get(1),
                space: r.get(2),
                objective: r.get(3),
                searcher: r.get(4),
                scheduler: r.get(5),
                seed: r.get(6),
                settings: r.get(7),
                created_ms: r.get(8),
            }
            .parse()
        })
        .transpose()
    }

    /// Runs `sql` on a running trial (`$1` study, `$2` number, `$3…` `params`), telling a
    /// trial that is not running from one that does not exist.
    fn update_running(
        &self,
        study: &Study,
        trial: u64,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let client = self.lock();
        block_on(async {
            let number = trial as i64;
            let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&study.id, &number];
            all.extend_from_slice(params);
            let n = client.execute(sql, &all).await.map_err(|e| self.db(&e))?;
            if n == 0 {
                return Err(self.not_updated(&*client, study, trial).await);
            }
            Ok(())
        })
    }
}

fn numbers_of(rows: &[Row]) -> Vec<u64> {
    rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect()
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
                        let _ = tx.send(Err(super::tls::explain(reason(&e))));
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

impl Store for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn open_or_create(&self, spec: &StudySpec) -> Result<Study, StoreError> {
        if let Some(study) = self.study(&spec.name)? {
            check_same(&study, spec)?;
            return Ok(study);
        }
        let stored = StoredSpec::of(spec);
        let created = {
            let client = self.lock();
            block_on(async {
                client
                    .query_opt(
                        &format!(
                            "INSERT INTO s3tune_studies (name, space, objective, searcher,
                                 scheduler, seed, settings, created_ms)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, {NOW_MS})
                             ON CONFLICT (name) DO NOTHING
                             RETURNING id, created_ms"
                        ),
                        &[
                            &spec.name,
                            &stored.space,
                            &stored.objective,
                            &spec.searcher,
                            &spec.scheduler,
                            &(spec.seed as i64),
                            &spec.settings.to_string(),
                        ],
                    )
                    .await
                    .map_err(|e| self.db(&e))
            })?
        };
        match created {
            Some(row) => Ok(Study {
                id: row.get(0),
                spec: spec.clone(),
                created: from_ms(row.get(1)),
            }),
            // Another process created it first: join it, if it is the same study.
            None => {
                let study = self
                    .study(&spec.name)?
                    .ok_or_else(|| StoreError::NoStudy(spec.name.clone()))?;
                check_same(&study, spec)?;
                Ok(study)
            }
        }
    }

    fn study(&self, name: &str) -> Result<Option<Study>, StoreError> {
        let client = self.lock();
        block_on(self.read_study(&*client, name))
    }

    fn studies(&self) -> Result<Vec<String>, StoreError> {
        let client = self.lock();
        let rows = block_on(client.query("SELECT name FROM s3tune_studies ORDER BY id", &[]))
            .map_err(|e| self.db(&e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn trials(&self, study: &Study) -> Result<Vec<TrialRecord>, StoreError> {
        let client = self.lock();
        block_on(self.records(&*client, study))
    }

    fn claim(
        &self,
        study: &Study,
        worker: &str,
        suggest: &mut dyn FnMut(&History) -> Result<Suggestion, SearchError>,
    ) -> Result<Claim, StoreError> {
        let mut client = self.lock();
        block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            // Claims of this study wait here for one another.
            tx.query_opt(
                "SELECT id FROM s3tune_studies WHERE id = $1 FOR UPDATE",
                &[&study.id],
            )
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NoStudy(study.spec.name.clone()))?;
            let records = self.records(&tx, study).await?;
            let config = match suggest(&history_of(&records))? {
                Suggestion::Config(c) => c,
                Suggestion::Exhausted => return Ok(Claim::Exhausted),
            };
            study.spec.space.encode(&config)?;
            let number = next_number(&records);
            let (text, hash) = config_text(&config);
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO s3tune_trials (study, number, config, config_hash, status,
                             reports, worker, started_ms, heartbeat_ms)
                         VALUES ($1, $2, $3, $4, 'running', '[]', $5, {NOW_MS}, {NOW_MS})
                         RETURNING started_ms"
                    ),
                    &[&study.id, &(number as i64), &text, &hash, &worker],
                )
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(Claim::Trial(claimed(
                number,
                config,
                worker,
                from_ms(row.get(0)),
            )))
        })
    }

    fn report(&self, study: &Study, trial: u64, value: f64) -> Result<(), StoreError> {
        let mut client = self.lock();
        block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            let number = trial as i64;
            let Some(row) = tx
                .query_opt(
                    "SELECT reports FROM s3tune_trials
                     WHERE study = $1 AND number = $2 AND status = 'running' FOR UPDATE",
                    &[&study.id, &number],
                )
                .await
                .map_err(db)?
            else {
                return Err(self.not_updated(&tx, study, trial).await);
            };
            let values = parse_reports(row.get(0)).map_err(|reason| StoreError::Corrupt {
                study: study.spec.name.clone(),
                what: format!("trial {trial} reports"),
                reason,
            })?;
            tx.execute(
                &format!(
                    "UPDATE s3tune_trials SET reports = $3, heartbeat_ms = {NOW_MS}
                     WHERE study = $1 AND number = $2"
                ),
                &[&study.id, &number, &append_report(&values, value)],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)
        })
    }

    fn heartbeat(&self, study: &Study, trial: u64) -> Result<(), StoreError> {
        self.update_running(
            study,
            trial,
            &format!(
                "UPDATE s3tune_trials SET heartbeat_ms = {NOW_MS}
                 WHERE study = $1 AND number = $2 AND status = 'running'"
            ),
            &[],
        )
    }

    fn finish(
        &self,
        study: &Study,
        trial: u64,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_running(
            study,
            trial,
            &format!(
                "UPDATE s3tune_trials
                 SET status = $3, error = $4, finished_ms = {NOW_MS}, heartbeat_ms = {NOW_MS}
                 WHERE study = $1 AND number = $2 AND status = 'running'"
            ),
            &[&status_name(status), &error],
        )
    }

    fn put_note(
        &self,
        study: &Study,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let client = self.lock();
        block_on(client.execute(
            "INSERT INTO s3tune_notes (study, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (study, key) DO UPDATE SET value = excluded.value",
            &[&study.id, &key, &value.to_string()],
        ))
        .map_err(|e| self.db(&e))?;
        Ok(())
    }

    fn notes(
        &self,
        study: &Study,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError> {
        let client = self.lock();
        let rows = block_on(client.query(
            "SELECT key, value FROM s3tune_notes WHERE study = $1 ORDER BY key",
            &[&study.id],
        ))
        .map_err(|e| self.db(&e))?;
        super::parse_notes(study, rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn fail_stale(
        &self,
        study: &Study,
        older_than: Duration,
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let client = self.lock();
        let older = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let rows = block_on(client.query(
            &format!(
                "UPDATE s3tune_trials
                 SET status = 'failed', lost = TRUE, error = $1, finished_ms = {NOW_MS}
                 WHERE study = $2 AND status = 'running' AND heartbeat_ms <= {NOW_MS} - $3
                 RETURNING number"
            ),
            &[&reason, &study.id, &older],
        ))
        .map_err(|e| self.db(&e))?;
        let mut lost = numbers_of(&rows);
        lost.sort_unstable();
        Ok(lost)
    }

    fn fail_trials(
        &self,
        study: &Study,
        trials: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let client = self.lock();
        let mut lost = block_on(self.lose(&*client, study, trials, reason))?;
        lost.sort_unstable();
        Ok(lost)
    }
}
