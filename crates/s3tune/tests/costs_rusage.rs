//! s3tune's CPU and memory figures against the kernel's own (`getrusage`): one test in
//! its own binary, so that no other test's processes are among this one's children.

mod common;

use std::path::Path;

use common::{ok, run};
use nix::sys::resource::{UsageWho, getrusage};

/// The CPU seconds and peak RSS (bytes) of this process's children waited for so far.
fn children() -> (f64, u64) {
    let r = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    (
        s(r.user_time()) + s(r.system_time()),
        r.max_rss() as u64 * 1024,
    )
}

/// Every run's measures in the one study of `db`.
fn runs(db: &Path) -> Vec<s3tune_hpo::Metrics> {
    common::runs(db).into_iter().map(|(_, m)| m).collect()
}

#[test]
fn cpu_and_memory_match_what_the_kernel_counts() {
    let home = tempfile::tempdir().unwrap();

    // A program measured as a client's run is: 0.4 s of CPU and 160 MB touched.
    let usage = home.path().join("usage.json");
    let (cpu0, _) = children();
    let burn = "import time\nb = bytearray(160 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3tune"))
        .args([
            "__measure-child",
            usage.to_str().unwrap(),
            "python3",
            "-c",
            burn,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (cpu1, max_rss) = children();
    let u: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&usage).unwrap()).unwrap();
    let (cpu, rss) = (
        u["cpu_seconds"].as_f64().unwrap(),
        u["max_rss_bytes"].as_u64().unwrap(),
    );
    assert!((0.4..2.0).contains(&cpu), "{u}");
    // The kernel charged this process's children the program plus s3tune around it.
    assert!(
        cpu <= cpu1 - cpu0 && cpu1 - cpu0 < cpu + 0.2,
        "{cpu} of {}",
        cpu1 - cpu0
    );
    assert!((160 << 20..260 << 20).contains(&rss), "{u}");
    assert_eq!(rss, max_rss, "the largest child is the program");

    // s3tune's engine: its runs' CPU is part of what the kernel charged the process
    // (which also served the emulator, checked each copy and wrote the study).
    let (cpu0, _) = children();
    let out = home.path().join("engine");
    let args = [
        "tune",
        "--object-size",
        "64MiB",
        "--trials",
        "3",
        "--repeats",
        "2",
        "--confirm",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    ok(&run(home.path(), &[], &args));
    let (cpu1, _) = children();
    let engine: f64 = runs(&out.join("study.db"))
        .iter()
        .map(|m| m["cpu_seconds"])
        .sum();
    assert!(
        engine > 0.0 && engine < cpu1 - cpu0,
        "{engine} of {}",
        cpu1 - cpu0
    );

    // A client run as a program (rclone): each run is charged its own process's.
    let (cpu0, _) = children();
    let out = home.path().join("rclone");
    let args = [
        "tune",
        "--client",
        "rclone",
        "--object-size",
        "32MiB",
        "--trials",
        "2",
        "--repeats",
        "1",
        "--confirm",
        "0",
        "--out",
        out.to_str().unwrap(),
        "--dest-dir",
        home.path().to_str().unwrap(),
    ];
    ok(&run(home.path(), &[], &args));
    let (cpu1, _) = children();
    let runs = runs(&out.join("study.db"));
    assert!(!runs.is_empty());
    let clients: f64 = runs.iter().map(|m| m["cpu_seconds"]).sum();
    assert!(
        clients > 0.0 && clients < cpu1 - cpu0,
        "{clients} of {}",
        cpu1 - cpu0
    );
    for m in &runs {
        let mib = m["memory_bytes"] / 1048576.0;
        assert!((5.0..1024.0).contains(&mib), "rclone's peak: {mib} MiB");
        // Counted by the server: rclone's GETs, at least one.
        assert!(m["requests_get"] >= 1.0, "{m:?}");
    }
}
