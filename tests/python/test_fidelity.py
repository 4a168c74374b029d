"""boto3's own code paths against `s3tune serve`, where S3's exact answers matter: bulk
deletes, managed copies (UploadPartCopy), the resource API's version listings, request
ids, and bodies streamed without a length."""

import hashlib
import io
import random
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import boto3
import botocore.httpchecksum
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import all_keys

MIB = 1024 * 1024


def test_delete_objects_of_a_thousand_keys(s3, fresh):
    keys = [f"bulk/{i:04d}" for i in range(1000)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=fresh, Key=k, Body=k.encode()), keys))
    s3.put_object(Bucket=fresh, Key="keep", Body=b"k")
    out = s3.delete_objects(
        Bucket=fresh, Delete={"Objects": [{"Key": k} for k in keys]}
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == keys
    assert out.get("Errors", []) == []
    assert all_keys(s3, fresh) == ["keep"]

    quiet = s3.delete_objects(
        Bucket=fresh, Delete={"Objects": [{"Key": "keep"}], "Quiet": True}
    )
    assert quiet.get("Deleted", []) == [] and quiet.get("Errors", []) == []
    assert all_keys(s3, fresh) == []


def test_a_thousand_and_one_keys_is_malformed(s3, fresh):
    s3.put_object(Bucket=fresh, Key="k0", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_objects(
            Bucket=fresh, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]}
        )
    assert e.value.response["Error"]["Code"] == "MalformedXML"
    assert all_keys(s3, fresh) == ["k0"], "nothing deleted"


def test_managed_copy_of_100_mib_is_exact(s3, fresh):
    data = random.Random(100).randbytes(100 * MIB + 3)
    s3.upload_fileobj(io.BytesIO(data), fresh, "src.bin")
    config = TransferConfig()  # boto3's defaults: 8 MiB parts, so UploadPartCopy
    s3.copy({"Bucket": fresh, "Key": "src.bin"}, fresh, "dst.bin", Config=config)
    head = s3.head_object(Bucket=fresh, Key="dst.bin")
    assert head["ContentLength"] == len(data)
    parts = -(-len(data) // config.multipart_chunksize)
    assert head["ETag"].strip('"').endswith(f"-{parts}"), "copied in parts"
    got = s3.get_object(Bucket=fresh, Key="dst.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_resource_api_empties_a_bucket_through_its_versions(server, s3, fresh):
    resource = boto3.resource(
        "s3",
        endpoint_url=server["endpoint"],
        region_name=server["region"],
        aws_access_key_id=server["access_key"],
        aws_secret_access_key=server["secret_key"],
        config=Config(s3={"addressing_style": "path"}),
    )
    for i in range(1500):
        s3.put_object(Bucket=fresh, Key=f"v/{i:04d}", Body=b"x")
    bucket = resource.Bucket(fresh)
    versions = list(bucket.object_versions.all())
    assert len(versions) == 1500
    assert {v.version_id for v in versions} == {"null"}
    # ListObjectVersions pages, then DeleteObjects of each page.
    bucket.object_versions.delete()
    assert all_keys(s3, fresh) == []


def test_list_objects_v1_paginates_past_a_thousand_keys(s3, fresh):
    keys = [f"p/{i:05d}" for i in range(2100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=fresh, Key=k, Body=b""), keys))
    pages = list(s3.get_paginator("list_objects").paginate(Bucket=fresh))
    assert len(pages) == 3
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys
    assert all("Owner" in o for p in pages for o in p["Contents"])


def test_errors_carry_the_request_id(s3, fresh):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=fresh, Key="missing")
    # botocore takes the ids from the headers (the XML's are checked by the Rust tests).
    meta = e.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 404
    assert len(meta["RequestId"]) == 16
    assert meta["HostId"]
    ok = s3.head_bucket(Bucket=fresh)["ResponseMetadata"]
    assert len(ok["RequestId"]) == 16 and ok["RequestId"] != meta["RequestId"]


def test_a_body_sent_chunked_without_a_length_is_stored(s3, fresh):
    # The conformance suite's case: boto3 told to frame a signed body as HTTP chunked.
    def chunked(request, **_):
        request.headers.add_header("Transfer-Encoding", "chunked")

    s3.meta.events.register_first("before-sign.s3.PutObject", chunked)
    try:
        s3.put_object(Bucket=fresh, Key="chunked", Body=b"bar")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject", chunked)
    assert s3.get_object(Bucket=fresh, Key="chunked")["Body"].read() == b"bar"


def test_a_trailing_checksum_upload_with_no_content_length(s3, fresh, monkeypatch):
    # What boto3 sends over HTTPS: aws-chunked with a trailing checksum, framed as HTTP
    # chunked, the length in x-amz-decoded-content-length only. boto3 does so over TLS
    # only, so it is told the endpoint is TLS.
    real = urlparse
    monkeypatch.setattr(
        botocore.httpchecksum, "urlparse", lambda u: real(u)._replace(scheme="https")
    )
    data = random.Random(7).randbytes(3 * MIB + 5)
    s3.put_object(Bucket=fresh, Key="trailer", Body=data, ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=fresh, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"]
