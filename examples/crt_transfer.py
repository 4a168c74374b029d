#!/usr/bin/env python3
"""Time one transfer with the AWS Common Runtime's S3 client (awscrt.s3.S3Client).

    python3 crt_transfer.py [--endpoint-url URL] [--region R] download BUCKET KEY FILE
    python3 crt_transfer.py upload FILE BUCKET KEY
    python3 crt_transfer.py download-many BUCKET PREFIX DIR [--keys FILE]
    python3 crt_transfer.py upload-many DIR BUCKET PREFIX
        [--throughput_target_gbps 10] [--part_size N] [--memory_limit N]
        [--max_active_connections_override N] [--multipart_upload_threshold N]

The knobs are S3Client's own arguments (sizes in bytes; CRT's defaults for those not
given). A download of many objects lists the prefix with CRT itself (ListObjectsV2), or
takes the keys in --keys, and keeps at most 128 objects in flight, as boto3's CRT
transfer manager does. Credentials come from the default chain (the environment, the
shared files, instance roles). On success it reports, as Syne Tune's Reporter does,

    [tune-metric]: {"seconds": S}

S being the seconds from the client's creation to the last byte. Standard library and
awscrt only.
"""

import argparse
import json
import os
import sys
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode, urlsplit

try:
    from awscrt.auth import AwsCredentialsProvider
    from awscrt.http import HttpHeaders, HttpRequest
    from awscrt.s3 import (
        S3Client,
        S3RequestTlsMode,
        S3RequestType,
        create_default_s3_signing_config,
    )
except ImportError:
    sys.stderr.write("awscrt is not installed: pip install awscrt\n")
    sys.exit(2)

# What boto3's CRT transfer manager keeps in flight at most.
IN_FLIGHT = 128
KNOBS = {
    "throughput_target_gbps": float,
    "part_size": int,
    "memory_limit": int,
    "max_active_connections_override": int,
    "multipart_upload_threshold": int,
}


class Endpoint:
    """Where requests go: path-style to --endpoint-url, else virtual-hosted S3."""

    def __init__(self, url, region):
        self.region = region
        if url:
            parts = urlsplit(url)
            self.host = parts.netloc
            self.tls = parts.scheme == "https"
            self.path_style = True
        else:
            self.host = None
            self.tls = True
            self.path_style = False

    def request(self, method, bucket, key="", query=None, headers=()):
        path = "/" + quote(key, safe="/~")
        host = self.host
        if self.path_style:
            path = "/" + bucket + path
        else:
            host = "%s.s3.%s.amazonaws.com" % (bucket, self.region)
        if query:
            path += "?" + urlencode(query)
        return HttpRequest(method, path, HttpHeaders([("Host", host)] + list(headers)))


def client(args, endpoint):
    knobs = {k: getattr(args, k) for k in KNOBS if getattr(args, k) is not None}
    creds = AwsCredentialsProvider.new_default_chain()
    signing = create_default_s3_signing_config(region=args.region, credential_provider=creds)
    mode = S3RequestTlsMode.ENABLED if endpoint.tls else S3RequestTlsMode.DISABLED
    return S3Client(region=args.region, signing_config=signing, tls_mode=mode, **knobs)


def wait(requests):
    for r in requests:
        r.finished_future.result()


def list_keys(s3, endpoint, bucket, prefix):
    """Every key under `prefix`, with CRT's own ListObjectsV2 requests."""
    keys, token = [], None
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        body = bytearray()
        req = s3.make_request(
            type=S3RequestType.DEFAULT,
            operation_name="ListObjectsV2",
            request=endpoint.request("GET", bucket, query=query),
            on_body=lambda chunk, **kw: body.extend(chunk),
        )
        req.finished_future.result()
        root = ET.fromstring(bytes(body))
        keys += [k.text for k in root.iter(ns + "Key") if not k.text.endswith("/")]
        if root.findtext(ns + "IsTruncated") != "true":
            return keys
        token = root.findtext(ns + "NextContinuationToken")


def bounded(items, start):
    """Starts a request per item, at most IN_FLIGHT at once; waits for all."""
    slots = threading.Semaphore(IN_FLIGHT)
    errors, running = [], []

    def done(error=None, **kwargs):
        if error is not None:
            errors.append(error)
        slots.release()

    for item in items:
        slots.acquire()
        if errors:
            break
        running.append(start(item, done))
    wait(running)
    if errors:
        raise errors[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--region", default=os.environ.get("AWS_REGION")
                   or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    p.add_argument("--keys", help="a file of keys to download (a sample), one a line")
    for name, kind in KNOBS.items():
        p.add_argument("--" + name, type=kind)
    p.add_argument("op", choices=["download", "upload", "download-many", "upload-many"])
    p.add_argument("operands", nargs=3)
    args = p.parse_args()
    endpoint = Endpoint(args.endpoint_url, args.region)

    start = time.perf_counter()
    s3 = client(args, endpoint)
    if args.op == "download":
        bucket, key, dest = args.operands
        wait([s3.make_request(type=S3RequestType.GET_OBJECT, recv_filepath=dest,
                              request=endpoint.request("GET", bucket, key))])
    elif args.op == "upload":
        source, bucket, key = args.operands
        size = os.path.getsize(source)
        req = endpoint.request("PUT", bucket, key, headers=[("Content-Length", str(size))])
        wait([s3.make_request(type=S3RequestType.PUT_OBJECT, send_filepath=source, request=req)])
    elif args.op == "download-many":
        bucket, prefix, dest = args.operands
        if args.keys:
            with open(args.keys) as f:
                keys = [line.rstrip("\n") for line in f if line.strip()]
        else:
            keys = list_keys(s3, endpoint, bucket, prefix)

        def get(key, done):
            path = os.path.join(dest, key[len(prefix):])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return s3.make_request(type=S3RequestType.GET_OBJECT, recv_filepath=path,
                                   request=endpoint.request("GET", bucket, key), on_done=done)

        bounded(keys, get)
    else:
        source, bucket, prefix = args.operands
        files = []
        for root, _, names in os.walk(source, followlinks=True):
            for name in sorted(names):
                files.append(os.path.join(root, name))

        def put(path, done):
            key = prefix + os.path.relpath(path, source).replace(os.sep, "/")
            size = os.path.getsize(path)
            req = endpoint.request("PUT", bucket, key, headers=[("Content-Length", str(size))])
            return s3.make_request(type=S3RequestType.PUT_OBJECT, send_filepath=path,
                                   request=req, on_done=done)

        bounded(sorted(files), put)
    seconds = time.perf_counter() - start
    print("[tune-metric]: " + json.dumps({"seconds": seconds}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one clear line on stderr, not a traceback
        sys.exit("the CRT transfer failed: %s: %s" % (type(e).__name__, e))
