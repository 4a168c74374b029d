//! `s3tune dashboard` over real sockets: what it serves from a real SQLite study (the page,
//! the studies, one study, 304 for an unchanged one, 404 for a missing one) and the one
//! line it gives for a storage it cannot open or an address it cannot have. The page
//! itself is tested in a browser (tests/python/test_dashboard.py).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};

use common::{command, ok, one_line_error, run};

const BRANIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/branin.py");
const SPACE: &str = "x1 = { float = [-5.0, 10.0] }\nx2 = { float = [0.0, 15.0] }\nepochs = 1\n";

/// A Branin study of `trials` trials in `db`; its stderr.
fn study(home: &Path, db: &Path, name: &str, trials: &str, extra: &[&str]) -> String {
    let space = home.join("space.toml");
    std::fs::write(&space, SPACE).unwrap();
    let storage = format!("sqlite:{}", db.display());
    let cmd = format!("python3 {BRANIN}");
    let out_dir = home.join(name);
    let mut args = vec![
        "tune",
        "--command",
        &cmd,
        "--space",
        space.to_str().unwrap(),
        "--metric",
        "loss",
        "--trials",
        trials,
        "--study",
        name,
        "--storage",
        &storage,
        "--out",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(home, &[], &args);
    ok(&out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A dashboard on a free port, and its address (`127.0.0.1:PORT`).
struct Served {
    child: Child,
    addr: String,
    /// Its standard output, open while it runs (as a terminal's would be).
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Served {
    fn start(home: &Path, db: &Path) -> Self {
        let storage = format!("sqlite:{}", db.display());
        let mut child = command(
            home,
            &[],
            &[
                "dashboard",
                "--storage",
                &storage,
                "--listen",
                "127.0.0.1:0",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let url = line
            .strip_prefix("s3tune dashboard: http://")
            .unwrap_or_else(|| panic!("the first line names the page: {line:?}"));
        let addr = url.split('/').next().unwrap().to_owned();
        Self {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// `GET path` (with `If-None-Match: etag`): the status, the headers, the body.
    fn get(&self, path: &str, etag: Option<&str>) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let extra = etag.map_or(String::new(), |e| format!("If-None-Match: {e}\r\n"));
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}Connection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn the_dashboard_serves_the_page_and_the_stores_studies() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("studies.db");
    study(home.path(), &db, "br", "3", &[]);
    let served = Served::start(home.path(), &db);

    let (status, head, page) = served.get("/", None);
    assert_eq!(status, 200);
    assert!(
        header(&head, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.contains("/app.js") && !page.contains("https://"),
        "the page loads nothing from elsewhere: {page}"
    );
    for asset in ["/app.js", "/charts.js", "/app.css"] {
        let (status, _, body) = served.get(asset, None);
        assert_eq!(status, 200, "{asset}");
        assert!(
            !body.contains("https://"),
            "{asset} fetches nothing from elsewhere"
        );
    }

    let (status, _, body) = served.get("/api/studies", None);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["studies"][0]["study"], "br");
    assert_eq!(v["studies"][0]["completed"], 3);

    let (status, head, body) = served.get("/api/studies/br", None);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let trials = v["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    for t in trials {
        assert_eq!(t["status"], "completed");
        assert!(t["config"]["x1"].is_f64() && t["value"].is_f64(), "{t}");
    }
    let best = trials
        .iter()
        .min_by(|a, b| {
            a["value"]
                .as_f64()
                .partial_cmp(&b["value"].as_f64())
                .unwrap()
        })
        .unwrap();
    assert_eq!(v["best"], best["id"], "the best is the store's best");

    // Polling an unchanged study costs no download.
    let etag = header(&head, "etag").expect("an ETag").to_owned();
    let (status, _, body) = served.get("/api/studies/br", Some(&etag));
    assert_eq!((status, body.as_str()), (304, ""));
    // A trial more changes it.
    study(home.path(), &db, "br", "4", &[]);
    let (status, _, body) = served.get("/api/studies/br", Some(&etag));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["trials"].as_array().unwrap().len(), 4);

    let (status, _, body) = served.get("/api/studies/nope", None);
    assert_eq!(status, 404);
    assert!(body.contains("no such study"), "{body}");
    // A script's trials have no exports.
    let (status, _, _) = served.get("/api/studies/br/exports/1", None);
    assert_eq!(status, 404);

    // `tune --dashboard` names the page of the study it runs before its first trial.
    let said = study(home.path(), &db, "live", "1", &["--dashboard=127.0.0.1:0"]);
    let line = said
        .lines()
        .find(|l| l.starts_with("dashboard: http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the page's address is printed: {said}"));
    assert!(line.ends_with("/#/study/live"), "{line}");
}

#[test]
fn a_storage_it_cannot_open_or_an_address_it_cannot_have_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("none.db");
    let out = run(
        home.path(),
        &[],
        &[
            "dashboard",
            "--storage",
            &format!("sqlite:{}", missing.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    one_line_error(&out, "no study storage at");
    assert!(!missing.exists(), "nothing is created");

    let db = home.path().join("studies.db");
    study(home.path(), &db, "br", "1", &[]);
    let storage = format!("sqlite:{}", db.display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(
        home.path(),
        &[],
        &["dashboard", "--storage", &storage, "--listen", &addr],
    );
    assert_eq!(out.status.code(), Some(1));
    one_line_error(&out, &format!("cannot listen on {addr}"));

    let out = run(
        home.path(),
        &[],
        &["dashboard", "--storage", &storage, "--listen", "nowhere"],
    );
    assert_eq!(out.status.code(), Some(1));
    one_line_error(&out, "--listen `nowhere`: write HOST:PORT");
}
