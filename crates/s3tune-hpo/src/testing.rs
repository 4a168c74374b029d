//! Helpers for tests that need a real PostgreSQL: each test gets a database of its own
//! on the server that `S3TUNE_TEST_POSTGRES` names (`scripts/test` starts a throwaway
//! one), dropped when the test ends. Not part of the library's stable interface.

use tokio_postgres::NoTls;

/// The environment variable naming the test server.
pub const SERVER_VAR: &str = "S3TUNE_TEST_POSTGRES";

/// A database created for one test; dropped (with everything in it) on drop.
#[derive(Debug)]
pub struct TempDatabase {
    server: String,
    name: String,
    url: String,
}

/// The test server's URL. Panics with what to do when it is not set: a test that needs
/// PostgreSQL must not pass without one.
#[must_use]
pub fn server_url() -> String {
    std::env::var(SERVER_VAR).unwrap_or_else(|_| {
        panic!(
            "{SERVER_VAR} is not set: run scripts/test (it starts a throwaway PostgreSQL), \
             or set {SERVER_VAR}=postgres://USER:PASSWORD@127.0.0.1:PORT/postgres"
        )
    })
}

/// Runs `sql` on the database `url` names.
fn execute(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = client.batch_execute(sql).await;
        drop(client);
        let _ = driver.await;
        result
    })
}

impl TempDatabase {
    /// A new, empty database on the test server.
    #[must_use]
    pub fn create() -> Self {
        let server = server_url();
        let name = format!(
            "s3tune_test_{}_{:x}",
            std::process::id(),
            rand::random::<u32>()
        );
        execute(&server, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating a test database on {SERVER_VAR}: {e}"));
        let url = with_dbname(&server, &name);
        Self { server, name, url }
    }

    /// Its URL, password included.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = execute(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database replaced by `db`.
#[must_use]
pub fn with_dbname(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
