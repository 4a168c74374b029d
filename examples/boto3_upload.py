#!/usr/bin/env python3
"""Time boto3's upload_file, as a Syne Tune-style entry point.

    python3 boto3_upload.py --file model.bin --bucket data --prefix scratch/trial-1/ \
        --endpoint-url http://127.0.0.1:9000 --max_concurrency 10 \
        --multipart_chunksize 8388608 --multipart_threshold 8388608 --st_checkpoint_dir DIR

Uploads the file --repeats times with one TransferConfig (sizes in bytes), to the keys
PREFIX + "run-1", "run-2", ..., and after each upload reports the running mean time as
`seconds` (and the repeat as `epoch`), so a scheduler can stop a slow configuration after
one upload. The objects are left for the caller, which checks what was stored and deletes
them (s3tune does). Standard library and boto3 only.
"""

import argparse
import json
import sys
import time

try:
    import boto3
    from boto3.s3.transfer import TransferConfig
except ImportError:
    sys.stderr.write("boto3 is not installed: pip install boto3\n")
    sys.exit(2)


def whole(text):
    """An int, also from "8388608.0" (a tuner may pass a float)."""
    return int(float(text))


def flag(text):
    """A boolean as Syne Tune passes it (True/False), or as people write it."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("%r is not true or false" % text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The knobs s3transfer's upload_file reads, with boto3's defaults.
    p.add_argument("--multipart_threshold", type=whole, default=8 * 1024 * 1024)
    p.add_argument("--max_concurrency", type=whole, default=10)
    p.add_argument("--multipart_chunksize", type=whole, default=8 * 1024 * 1024)
    p.add_argument("--use_threads", type=flag, default=True)
    p.add_argument("--max_bandwidth", type=whole, default=0, help="bytes/s; 0: no cap")
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--file", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--st_checkpoint_dir")  # passed by the tuner; nothing to resume here
    args = p.parse_args()

    config = TransferConfig(
        multipart_threshold=args.multipart_threshold,
        max_concurrency=args.max_concurrency,
        multipart_chunksize=args.multipart_chunksize,
        use_threads=args.use_threads,
        max_bandwidth=args.max_bandwidth or None,
    )
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    times = []
    for repeat in range(1, args.repeats + 1):
        key = "%srun-%d" % (args.prefix, repeat)
        start = time.perf_counter()
        try:
            s3.upload_file(args.file, args.bucket, key, Config=config)
        except Exception as e:  # one clear line on stderr, not a traceback
            sys.exit("upload of %s to s3://%s/%s failed: %s" % (args.file, args.bucket, key, e))
        times.append(time.perf_counter() - start)
        # Syne Tune's Reporter line; flushed so the tuner can stop a slow trial now.
        report = {"epoch": repeat, "seconds": sum(times) / len(times)}
        print("[tune-metric]: " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
