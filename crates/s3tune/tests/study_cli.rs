//! A study describes itself: every process that opens it builds the same searcher and
//! scheduler from the store alone, and decides alike from its history.

use std::path::Path;

use s3tune_hpo::{SqliteStore, Store};

mod common;
use common::{command, ok, run};

fn show(home: &Path, storage: &str) -> std::process::Child {
    command(
        home,
        &[],
        &["study", "show", "s", "--storage", storage, "--json"],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap()
}

#[test]
fn two_processes_opening_one_study_build_the_same_search_and_agree_on_its_decisions() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("results");
    let dest = home.path().join("dl");
    std::fs::create_dir(&dest).unwrap();
    let db = home.path().join("s.db");
    let storage = format!("sqlite:{}", db.display());
    ok(&run(
        home.path(),
        &[],
        &[
            "tune",
            "--network",
            "unlimited",
            "--object-size",
            "16MiB",
            "--trials",
            "4",
            "--confirm",
            "0",
            "--study",
            "s",
            "--storage",
            &storage,
            "--out",
            out.to_str().unwrap(),
            "--dest-dir",
            dest.to_str().unwrap(),
        ],
    ));
    // Two processes open the study at once.
    let (a, b) = (show(home.path(), &storage), show(home.path(), &storage));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (a, b) = (ok(&a), ok(&b));
    assert_eq!(
        a, b,
        "two processes built different searches or decided differently"
    );
    let shown: serde_json::Value = serde_json::from_str(&a).unwrap();

    // What the study was made with, stored as data.
    assert_eq!(shown["searcher"]["kind"], "bo");
    assert_eq!(shown["searcher"]["initial_points"], 5);
    assert_eq!(
        shown["searcher"]["points_to_evaluate"][0]["max_concurrency"],
        10
    );
    assert_eq!(shown["scheduler"]["kind"], "asha");
    assert_eq!(shown["scheduler"]["max_resource"], 3);
    assert_eq!(shown["scheduler"]["cut_off"]["ratio"], 3.0);
    assert_eq!(shown["budget"]["trials"], 4);
    assert_eq!(shown["trials"], 4);

    // The best trial is the reports' best, and the next run's cut-off follows from it.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(shown["best_trial"], summary["best_trial"]);
    let best = shown["best_value"].as_f64().unwrap();
    let limit = shown["run_limit"].as_f64().unwrap();
    assert!(
        (limit - (3.0 * best).max(best + 1.0)).abs() < 1e-9,
        "{shown}"
    );
    // Both would propose the same next configuration: a new one, not yet tried.
    let next = &shown["next_config"];
    assert!(next["max_concurrency"].as_i64().is_some(), "{shown}");
    let store = SqliteStore::open(&db).unwrap();
    let study = store.study("s").unwrap().unwrap();
    for t in store.trials(&study).unwrap() {
        assert_ne!(&serde_json::to_value(&t.trial.config).unwrap(), next);
    }
}

#[test]
fn a_study_that_does_not_exist_is_one_line() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("none.db");
    let o = run(
        home.path(),
        &[],
        &[
            "study",
            "show",
            "x",
            "--storage",
            &format!("sqlite:{}", db.display()),
        ],
    );
    common::one_line_error(&o, "no such file");
}
