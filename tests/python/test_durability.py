"""kill -9 of a `--data-dir` server in the middle of parallel uploads: every object it
acknowledged is there after a restart, byte for byte, and no object is there in part."""

import hashlib
import json
import random
import signal
import subprocess
import threading

from botocore.config import Config

import boto3
from conftest import all_keys, s3tune_bin

MIB = 1024 * 1024
PART = 5 * MIB


def content(key):
    """The one body ever written under `key`: multipart keys get three parts' worth."""
    rng = random.Random(key)
    size = 2 * PART + rng.randrange(1, MIB) if key.startswith("mp/") else rng.randrange(1, MIB)
    return rng.randbytes(size)


def start(data_dir):
    proc = subprocess.Popen(
        [s3tune_bin(), "serve", "--listen", "127.0.0.1:0", "--json", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    assert line, "s3tune serve did not start"
    return proc, json.loads(line)


def client(info):
    return boto3.client(
        "s3",
        endpoint_url=info["endpoint"],
        region_name=info["region"],
        aws_access_key_id=info["access_key"],
        aws_secret_access_key=info["secret_key"],
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
        ),
    )


def put_multipart(s3, bucket, key, body):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for n, at in enumerate(range(0, len(body), PART), start=1):
        r = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=body[at : at + PART]
        )
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts}
    )


def test_kill_9_loses_no_acknowledged_object_and_keeps_no_partial_one(tmp_path):
    data_dir = tmp_path / "data"
    proc, info = start(data_dir)
    client(info).create_bucket(Bucket="durable")

    acked = set()
    lock = threading.Condition()
    singles_wanted, multiparts_wanted = 40, 4

    def enough():
        return (
            sum(1 for k in acked if k.startswith("one/")) >= singles_wanted
            and sum(1 for k in acked if k.startswith("mp/")) >= multiparts_wanted
        )

    def writer(w):
        s3 = client(info)
        for i in range(10_000):
            key = f"mp/{w}/{i}" if i % 4 == 3 else f"one/{w}/{i}"
            body = content(key)
            try:
                if key.startswith("mp/"):
                    put_multipart(s3, "durable", key, body)
                else:
                    s3.put_object(Bucket="durable", Key=key, Body=body)
            except Exception:
                return  # the server is gone
            with lock:
                acked.add(key)
                lock.notify_all()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    with lock:
        assert lock.wait_for(enough, timeout=120), f"only {len(acked)} writes acknowledged"
    # Writes are still going on (every writer loops until the server is gone).
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    proc, info = start(data_dir)
    try:
        s3 = client(info)
        stored = all_keys(s3, "durable")
        missing = sorted(acked - set(stored))
        assert not missing, f"acknowledged but lost: {missing}"
        for key in stored:
            got = s3.get_object(Bucket="durable", Key=key)["Body"].read()
            want = content(key)
            assert len(got) == len(want) and hashlib.sha256(got).digest() == hashlib.sha256(
                want
            ).digest(), f"{key} is not the object written ({len(got)} of {len(want)} bytes)"
        assert not list((data_dir / "tmp").iterdir()), "staged files left behind"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
