"""Tuning boto3 itself: `--client boto3` (the bundled seed experiment) on the embedded
emulator, and the same script through `--command` against `s3tune serve`."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, s3tune_bin


def test_client_boto3_finds_a_config_beating_boto3_defaults(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [s3tune_bin(), "tune", "--client", "boto3", "--python", sys.executable,
         "--object-size", "32MiB", "--trials", "15", "--repeats", "2", "--confirm", "5",
         "--study", "b3", "--out", str(out), "--dest-dir", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "measured with boto3's download_file" in run.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["client"] == "boto3" and s["trials"] == 15
    lo, hi = s["speedup_ci95"]
    # The default network is S3's shape scaled down: boto3's defaults use 55 % of it.
    assert lo > 1.0, f"no gain shown: {s['speedup']} [{lo}, {hi}]\n{run.stdout}"
    assert "boto3's download_file" in (out / "boto3.py").read_text()


def test_client_boto3_tunes_upload_file_and_leaves_nothing_in_the_bucket(server, s3, bucket, tmp_path):
    # boto3's own upload_file to `s3tune serve` as a bucket: every upload checked by
    # s3tune (S3's checksum or MD5 ETag of what was stored), then deleted.
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(12 * 1024 * 1024))
    out = tmp_path / "out"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server["access_key"],
               AWS_SECRET_ACCESS_KEY=server["secret_key"], AWS_DEFAULT_REGION=server["region"])
    run = subprocess.run(
        [s3tune_bin(), "tune", "--upload", str(src), f"s3://{bucket}/up/", "--client", "boto3",
         "--python", sys.executable, "--endpoint-url", server["endpoint"], "--trials", "6",
         "--repeats", "2", "--confirm", "2", "--study", "b3up", "--out", str(out)],
        capture_output=True, text=True, env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "measured with boto3's upload_file" in run.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["client"] == "boto3" and s["workload"] == "upload" and s["trials"] == 6
    assert "upload_file(FILENAME, BUCKET, KEY, Config=config)" in (out / "boto3.py").read_text()
    assert s3.list_objects_v2(Bucket=bucket, Prefix="up/").get("KeyCount", 0) == 0
    assert s3.list_multipart_uploads(Bucket=bucket, Prefix="up/").get("Uploads", []) == []


def test_the_seed_script_runs_unchanged_through_command(server, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="seed.bin", Body=os.urandom(12 * 1024 * 1024))
    space = tmp_path / "space.toml"
    space.write_text(
        'max_concurrency = { int = [1, 32], scale = "log" }\n'
        'multipart_chunksize = { int = [5242880, 16777216], scale = "log" }\n'
        'max_io_queue = { int = [1, 1000], scale = "log" }\n'
        'io_chunksize = { int = [65536, 4194304], scale = "log" }\n')
    script = ROOT / "examples" / "boto3_download.py"
    command = (f"{sys.executable} {script} --endpoint-url {server['endpoint']} "
               f"--bucket {bucket} --key seed.bin --repeats 2 --dest-dir {tmp_path}")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server["access_key"],
               AWS_SECRET_ACCESS_KEY=server["secret_key"], AWS_DEFAULT_REGION=server["region"])
    out = tmp_path / "out"
    run = subprocess.run(
        [s3tune_bin(), "tune", "--command", command, "--space", str(space),
         "--metric", "seconds", "--trials", "15", "--workers", "2", "--study", "seed",
         "--out", str(out)],
        capture_output=True, text=True, env=env,
    )
    assert run.returncode == 0, run.stderr
    db = sqlite3.connect(out / "study.db")
    rows = db.execute("SELECT status, reports FROM trials").fetchall()
    assert len(rows) == 15
    assert all(status == "completed" for status, _ in rows), rows
    assert all(len(json.loads(r)) == 2 for _, r in rows)
    s = json.loads((out / "summary.json").read_text())
    assert s["best_value"] > 0 and set(s["best_config"]) == {
        "max_concurrency", "multipart_chunksize", "max_io_queue", "io_chunksize"}
    assert not list(Path(tmp_path).glob("s3tune-download-*")), "copies left behind"
