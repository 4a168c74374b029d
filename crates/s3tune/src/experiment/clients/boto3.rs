//! boto3 (`download_file` / `upload_file`), run by the bundled scripts
//! (`examples/boto3_download.py`, the seed's experiment, and `examples/boto3_upload.py`)
//! with one `TransferConfig`: its knobs are the engine's registry, boto3's names.

use s3tune_hpo::Config;

use crate::experiment::external::{Invocation, Move, Setup, Timing};

/// One run of boto3's script: a copy kept for s3tune to check, or one upload to `key`.
pub fn invocation(setup: &Setup, what: &Move<'_>, config: &Config) -> Invocation {
    let mut args = Vec::new();
    let mut arg = |k: &str, v: String| {
        args.push(format!("--{k}"));
        args.push(v);
    };
    let script = match what {
        Move::Download { bucket, key, dest } => {
            arg("bucket", bucket.to_string());
            arg("key", key.to_string());
            arg("dest", dest.display().to_string());
            "boto3_download.py"
        }
        Move::Upload {
            source,
            bucket,
            key,
        } => {
            arg("bucket", bucket.to_string());
            arg("key", key.to_string());
            arg("file", source.display().to_string());
            "boto3_upload.py"
        }
        // A dataset study refuses boto3 before any run (its knobs are per call).
        Move::DownloadMany { .. } | Move::UploadMany { .. } => "boto3_download.py",
    };
    if let Some(ep) = &setup.endpoint {
        arg("endpoint-url", ep.clone());
    }
    arg("repeats", "1".to_owned());
    for (k, v) in config {
        arg(k, v.to_string());
    }
    let mut full = vec![setup.script(script)];
    full.extend(args);
    Invocation {
        program: setup.python.clone(),
        args: full,
        env: setup.env.clone(),
        unset: Vec::new(),
        files: Vec::new(),
        timing: Timing::Reported,
    }
}
