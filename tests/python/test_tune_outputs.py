"""The files `s3tune tune` leaves behind, used as their users will: boto3.py with boto3,
trials.csv with pandas, best.toml with `s3tune get`."""

import hashlib
import json
import runpy
import subprocess

import pandas as pd
import pytest

from conftest import s3tune_bin

SIZE = 12 * 1024 * 1024 + 5


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A short tuning run on the embedded emulator; yields its output folder."""
    home = tmp_path_factory.mktemp("tune")
    out = home / "results"
    (home / "dl").mkdir()
    subprocess.run(
        [s3tune_bin(), "tune", "--network", "unlimited", "--object-size", "16MiB",
         "--trials", "5", "--repeats", "2", "--confirm", "2", "--study", "py",
         "--out", str(out), "--dest-dir", str(home / "dl")],
        check=True, capture_output=True, text=True,
    )
    return out


@pytest.fixture(scope="module")
def obj(s3, bucket):
    data = bytes((i * 7 + 3) % 251 for i in range(SIZE))
    s3.put_object(Bucket=bucket, Key="tuned/obj.bin", Body=data)
    return data


def test_trials_csv_loads_with_pandas(study):
    df = pd.read_csv(study / "trials.csv")
    assert len(df) == 5
    assert list(df["trial"]) == [1, 2, 3, 4, 5]
    for col in ["status", "max_concurrency", "multipart_chunksize", "max_io_queue",
                "io_chunksize", "repeat_1_seconds", "repeat_2_seconds", "mean_seconds",
                "mbps", "start", "end"]:
        assert col in df.columns, col
    done = df[df["status"] == "completed"]
    assert len(done) >= 1
    assert ((done["repeat_1_seconds"] + done["repeat_2_seconds"]) / 2
            - done["mean_seconds"]).abs().max() < 1e-5
    assert pd.to_datetime(df["start"]).is_monotonic_increasing


def test_boto3_py_is_a_transfer_config_boto3_accepts(study, s3, bucket, obj, tmp_path):
    ns = runpy.run_path(str(study / "boto3.py"))
    config = ns["config"]
    best = pd.read_json(study / "summary.json", typ="series")["best_config"]
    assert config.max_concurrency == best["max_concurrency"]
    assert config.multipart_chunksize == best["multipart_chunksize"]
    dest = tmp_path / "copy.bin"
    s3.download_file(bucket, "tuned/obj.bin", str(dest), Config=config)
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(obj).digest()


def test_best_toml_drives_s3tune_get(study, server, bucket, obj, tmp_path):
    dest = tmp_path / "got.bin"
    env = {
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": server["access_key"],
        "AWS_SECRET_ACCESS_KEY": server["secret_key"],
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    run = subprocess.run(
        [s3tune_bin(), "get", f"s3://{bucket}/tuned/obj.bin", str(dest),
         "--endpoint-url", server["endpoint"], "--config", str(study / "best.toml"),
         "--json"],
        env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert dest.read_bytes() == obj
    used = json.loads(run.stdout)["config"]
    best = json.loads((study / "summary.json").read_text())["best_config"]
    assert used["max_concurrency"] == best["max_concurrency"]
    assert used["io_chunksize"] == best["io_chunksize"]
