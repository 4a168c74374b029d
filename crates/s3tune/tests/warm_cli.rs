//! `--warm-start`: a new study tries an earlier one's best configurations first and
//! says how soon each got near its best; a study of another shape is refused.

mod common;

use common::{ok, one_line_error, run};

#[test]
fn a_warm_start_tries_the_earlier_best_first_and_refuses_another_shape() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let db = format!("sqlite:{}", h.join("s.db").display());
    let dest = h.to_str().unwrap();
    let tune = |study: &str, extra: &[&str]| {
        let out = h.join(study);
        let mut args = vec![
            "tune",
            "--object-size",
            "16MiB",
            "--repeats",
            "1",
            "--confirm",
            "0",
            "--study",
            study,
            "--storage",
            &db,
            "--dest-dir",
            dest,
            "--out",
        ];
        let out = out.to_str().unwrap().to_owned();
        args.push(&out);
        args.extend(extra);
        run(h, &[], &args)
    };
    ok(&tune("cold", &["--trials", "6"]));
    let summary = |study: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(h.join(study).join("summary.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let cold_best = summary("cold")["best_config"].clone();
    let stdout = ok(&tune("warm", &["--trials", "3", "--warm-start", "cold"]));
    assert!(
        stdout.contains("warm start from `cold`, which came within 5 % of its best after"),
        "{stdout}"
    );
    // The baseline first, then the earlier study's best.
    let csv = std::fs::read_to_string(h.join("warm").join("trials.csv")).unwrap();
    let second: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    let knob = |name: &str| cold_best[name].as_u64().unwrap().to_string();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for k in ["max_concurrency", "multipart_chunksize"] {
        let col = header.iter().position(|h| *h == k).unwrap();
        assert_eq!(second[col], knob(k), "{k}:\n{csv}");
    }
    assert_eq!(summary("warm")["warm_start"][0]["study"], "cold");
    // Another shape, a missing study, a study that exists: one line each.
    let o = tune("up", &["--upload", "--trials", "1", "--warm-start", "cold"]);
    one_line_error(&o, "a warm start needs a study of the same shape");
    let o = tune("x", &["--trials", "1", "--warm-start", "nope"]);
    one_line_error(&o, "--warm-start: no study named `nope`");
    let o = tune("cold", &["--trials", "7", "--warm-start", "warm"]);
    one_line_error(&o, "--warm-start starts a new study");
}
