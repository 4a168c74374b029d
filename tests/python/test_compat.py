"""Real clients against `s3tune serve`: boto3's transfer manager, the AWS CLI, urllib."""

import hashlib
import json
import random
import urllib.request

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from conftest import make_client

MIB = 1024 * 1024
SIZES = [0, 1, 8 * MIB - 1, 8 * MIB, 100 * MIB + 1]


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("size", SIZES)
def test_boto3_upload_and_download_are_byte_identical(s3, bucket, tmp_path, size):
    data = payload(size, size)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    key = f"boto3/{size}.bin"
    # boto3's defaults: 8 MiB threshold, so the larger sizes go multipart both ways.
    config = TransferConfig()
    s3.upload_file(str(src), bucket, key, Config=config)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == size
    multipart = size >= config.multipart_threshold
    assert head["ETag"].strip('"').endswith(f"-{-(-size // (8 * MIB))}") == multipart
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, key, str(dst), Config=config)
    got = dst.read_bytes()
    assert len(got) == size
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_aws_cli_cp_both_ways_and_ls(aws, bucket, tmp_path):
    data = payload(20 * MIB + 7, 99)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    aws("s3", "cp", "--only-show-errors", str(src), f"s3://{bucket}/cli/up.bin")
    listing = aws("s3", "ls", f"s3://{bucket}/cli/").stdout
    assert "up.bin" in listing and str(len(data)) in listing
    buckets = aws("s3", "ls").stdout
    assert bucket in buckets
    dst = tmp_path / "down.bin"
    aws("s3", "cp", "--only-show-errors", f"s3://{bucket}/cli/up.bin", str(dst))
    assert dst.read_bytes() == data


def test_aws_cli_get_object_range(aws, s3, bucket, tmp_path):
    data = payload(10000, 5)
    s3.put_object(Bucket=bucket, Key="cli/range.bin", Body=data)
    out = tmp_path / "part.bin"
    res = aws("s3api", "get-object", "--bucket", bucket, "--key", "cli/range.bin",
              "--range", "bytes=100-199", str(out))
    meta = json.loads(res.stdout)
    assert meta["ContentRange"] == "bytes 100-199/10000"
    assert out.read_bytes() == data[100:200]


def test_wrong_secret_is_403(server, bucket):
    bad = make_client(server, secret="wrong-secret")
    with pytest.raises(ClientError) as err:
        bad.list_objects_v2(Bucket=bucket)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_if_match_with_stale_etag_is_412(s3, bucket):
    s3.put_object(Bucket=bucket, Key="cond.bin", Body=b"first")
    stale = s3.head_object(Bucket=bucket, Key="cond.bin")["ETag"]
    s3.put_object(Bucket=bucket, Key="cond.bin", Body=b"second")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="cond.bin", IfMatch=stale)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"


def test_presigned_url_with_plain_urllib(s3, bucket):
    data = payload(3000, 11)
    s3.put_object(Bucket=bucket, Key="shared/file.bin", Body=data)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared/file.bin"}, ExpiresIn=300
    )
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.read() == data
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url.replace("file.bin", "other.bin"), timeout=10)
    assert err.value.code == 403
