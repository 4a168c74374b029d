"""boto3's additional checksums against `s3tune serve`: each algorithm sent, kept, returned
and validated on the way back, for single and multipart uploads; a wrong checksum, in a
header or in an aws-chunked trailer, refused with nothing stored."""

import base64
import zlib
from unittest import mock

import boto3
import botocore.httpchecksum
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import make_client

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
MIB = 1024 * 1024


def body(n, seed=1):
    return bytes((i * 31 + seed) % 251 for i in range(n))


def missing(s3, bucket, key):
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key=key)
    return e.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def test_default_settings_store_a_checksum_that_comes_back_validated(s3, bucket):
    data = body(100_000)
    put = s3.put_object(Bucket=bucket, Key="ck/default", Body=data)
    # boto3's default (when_supported) sends CRC32; the emulator keeps and answers it.
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    got = s3.get_object(Bucket=bucket, Key="ck/default", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    assert got["ChecksumType"] == "FULL_OBJECT"
    assert got["Body"].read() == data  # read through boto3's checksum validation


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_round_trips_on_a_single_put(s3, bucket, algorithm):
    data = body(300_001, seed=len(algorithm))
    key = f"ck/single-{algorithm}"
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
    sent = put[f"Checksum{algorithm}"]
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == sent
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == sent
    assert got["Body"].read() == data
    # Without ChecksumMode, no checksum is answered (as S3).
    assert f"Checksum{algorithm}" not in s3.head_object(Bucket=bucket, Key=key)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_algorithm_round_trips_on_a_multipart_upload(s3, bucket, algorithm):
    parts = [body(5 * MIB, seed=3), body(123_457, seed=4)]
    key = f"ck/multi-{algorithm}"
    created = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm)
    assert created["ChecksumAlgorithm"] == algorithm
    uid = created["UploadId"]
    done = []
    for n, part in enumerate(parts, 1):
        r = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=part,
            ChecksumAlgorithm=algorithm,
        )
        done.append({"PartNumber": n, "ETag": r["ETag"], f"Checksum{algorithm}": r[f"Checksum{algorithm}"]})
    completed = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done}
    )
    value = completed[f"Checksum{algorithm}"]
    # CRC64NVME has only the full-object kind; the others default to composite (-N).
    if algorithm == "CRC64NVME":
        assert "-" not in value and completed["ChecksumType"] == "FULL_OBJECT"
    else:
        assert value.endswith("-2") and completed["ChecksumType"] == "COMPOSITE"
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == value
    assert got["Body"].read() == b"".join(parts)


def test_upload_file_with_default_settings_is_verified_both_ways(s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(body(12 * MIB, seed=9))
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(src), bucket, "ck/upload-file", Config=config)
    head = s3.head_object(Bucket=bucket, Key="ck/upload-file", ChecksumMode="ENABLED")
    assert any(k.startswith("Checksum") and k != "ChecksumType" for k in head), head
    dest = tmp_path / "back.bin"
    s3.download_file(bucket, "ck/upload-file", str(dest))
    assert dest.read_bytes() == src.read_bytes()


def test_a_wrong_checksum_header_is_refused_and_nothing_is_stored(s3, bucket):
    wrong = base64.b64encode(b"\0\0\0\0").decode()
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="ck/wrong-header", Body=b"some bytes", ChecksumCRC32=wrong)
    assert e.value.response["Error"]["Code"] == "BadDigest"
    assert missing(s3, bucket, "ck/wrong-header")


def test_a_wrong_part_checksum_is_refused(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="ck/wrong-part", ChecksumAlgorithm="SHA256")["UploadId"]
    wrong = base64.b64encode(bytes(32)).decode()
    with pytest.raises(ClientError) as e:
        s3.upload_part(
            Bucket=bucket, Key="ck/wrong-part", UploadId=uid, PartNumber=1,
            Body=body(1000), ChecksumSHA256=wrong,
        )
    assert e.value.response["Error"]["Code"] == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="ck/wrong-part", UploadId=uid).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="ck/wrong-part", UploadId=uid)


def test_a_wrong_checksum_in_a_trailer_is_refused_and_nothing_is_stored(server, bucket):
    # botocore sends checksums in an aws-chunked trailer only over TLS; the server is
    # plain HTTP, so botocore is told the URL is https when it chooses, and its CRC32 is
    # made wrong: a client whose trailer does not match its bytes.
    s3 = make_client(server)
    real = botocore.httpchecksum.urlparse
    sent = []
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request.headers))

    def as_https(url):
        parsed = real(url)
        return parsed._replace(scheme="https")

    crc32 = botocore.httpchecksum._CHECKSUM_CLS["crc32"]  # the CRT's, when awscrt is there
    with mock.patch.object(botocore.httpchecksum, "urlparse", as_https), mock.patch.object(
        crc32, "digest", lambda self: b"\0\0\0\1"
    ):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket=bucket, Key="ck/wrong-trailer", Body=body(70_000))
    assert e.value.response["Error"]["Code"] == "BadDigest"
    # It went as a trailer, not a header.
    assert sent[-1].get("x-amz-trailer") == b"x-amz-checksum-crc32", sent[-1]
    assert "x-amz-checksum-crc32" not in sent[-1]
    assert missing(s3, bucket, "ck/wrong-trailer")
    # The same trailer, right: stored, and its checksum kept.
    with mock.patch.object(botocore.httpchecksum, "urlparse", as_https):
        put = s3.put_object(Bucket=bucket, Key="ck/right-trailer", Body=body(70_000))
    assert put["ChecksumCRC32"]
    got = s3.head_object(Bucket=bucket, Key="ck/right-trailer", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
