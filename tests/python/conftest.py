"""Fixtures: a real `s3tune serve` subprocess and clients pointed at it."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]


def s3tune_bin() -> str:
    return os.environ.get("S3TUNE_BIN", str(ROOT / "target" / "release" / "s3tune"))


@pytest.fixture(scope="session")
def server():
    """`s3tune serve` on a free loopback port; yields its JSON ready line."""
    proc = subprocess.Popen(
        [s3tune_bin(), "serve", "--listen", "127.0.0.1:0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"s3tune serve did not start: {proc.stderr.read()}")
    info = json.loads(line)
    yield info
    proc.terminate()
    assert proc.wait(timeout=10) == 0, "s3tune serve exits cleanly on SIGTERM"


def make_client(info, secret=None):
    return boto3.client(
        "s3",
        endpoint_url=info["endpoint"],
        region_name=info["region"],
        aws_access_key_id=info["access_key"],
        aws_secret_access_key=secret or info["secret_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def s3(server):
    return make_client(server)


@pytest.fixture(scope="session")
def bucket(s3):
    s3.create_bucket(Bucket="compat")
    return "compat"


@pytest.fixture()
def aws(server, tmp_path):
    """Runs the AWS CLI against the server with only the server's credentials."""

    def run(*args, check=True):
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "AWS_ACCESS_KEY_ID": server["access_key"],
            "AWS_SECRET_ACCESS_KEY": server["secret_key"],
            "AWS_DEFAULT_REGION": server["region"],
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        }
        return subprocess.run(
            ["aws", "--endpoint-url", server["endpoint"], *args],
            env=env,
            capture_output=True,
            text=True,
            check=check,
        )

    return run


@pytest.fixture()
def fresh(s3):
    """A bucket of the test's own, gone with everything in it afterwards."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for key in all_keys(s3, name):
        s3.delete_object(Bucket=name, Key=key)
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)


def all_keys(s3, bucket, prefix=""):
    """Every key of `bucket` under `prefix`, in order."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for p in pages for o in p.get("Contents", [])]
