//! Helpers for tests that need a real PostgreSQL: each test gets a database of its own
//! on the server that `S3TUNE_TEST_POSTGRES` names (`scripts/test` starts a throwaway
//! one), dropped when the test ends. Not part of the library's stable interface.

use tokio_postgres::NoTls;

/// The environment variable naming the test server.
pub const SERVER_VAR: &str = "S3TUNE_TEST_POSTGRES";

/// The environment variable naming the PEM file of the CA that signed the test server's
/// certificate (made out to `localhost` only).
pub const CA_VAR: &str = "S3TUNE_TEST_POSTGRES_CA";

/// The test server's CA certificate file. Panics with what to do when it is not set.
#[must_use]
pub fn server_ca() -> String {
    std::env::var(CA_VAR).unwrap_or_else(|_| {
        panic!(
            "{CA_VAR} is not set: run scripts/test (its throwaway PostgreSQL has TLS), or set \
             {CA_VAR} to the CA file of the {SERVER_VAR} server's certificate (made out to localhost)"
        )
    })
}

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
    query(url, sql).map(|_| ())
}

/// Runs `sql` on the database `url` names; the first column of its first row, if it
/// returned one of 64-bit integers.
fn query(url: &str, sql: &str) -> Result<Option<i64>, tokio_postgres::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = client.simple_query(sql).await.map(|messages| {
            messages.iter().find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
                _ => None,
            })
        });
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

    /// The integer `sql` returns (e.g. a `count(*)`), run on this database.
    #[must_use]
    pub fn number(&self, sql: &str) -> i64 {
        query(&self.url, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: returned no number"))
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
