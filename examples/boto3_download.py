#!/usr/bin/env python3
"""The seed's experiment as a Syne Tune-style entry point: time boto3's download_file.

    python3 boto3_download.py --bucket data --key big.bin --endpoint-url http://127.0.0.1:9000 \
        --max_concurrency 10 --multipart_chunksize 8388608 --max_io_queue 100 \
        --io_chunksize 262144 --st_checkpoint_dir DIR

Downloads the object --repeats times with one TransferConfig (sizes in bytes), deleting
each copy, and after each download reports the running mean time as `seconds` (and the
repeat as `epoch`), so a scheduler can stop a slow configuration after one download.
Standard library and boto3 only.
"""

import argparse
import json
import os
import sys
import tempfile
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
    # Every knob of boto3's TransferConfig, with boto3's defaults.
    p.add_argument("--multipart_threshold", type=whole, default=8 * 1024 * 1024)
    p.add_argument("--max_concurrency", type=whole, default=10)
    p.add_argument("--multipart_chunksize", type=whole, default=8 * 1024 * 1024)
    p.add_argument("--num_download_attempts", type=whole, default=5)
    p.add_argument("--max_io_queue", type=whole, default=100)
    p.add_argument("--io_chunksize", type=whole, default=256 * 1024)
    p.add_argument("--use_threads", type=flag, default=True)
    p.add_argument("--max_bandwidth", type=whole, default=0, help="bytes/s; 0: no cap")
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--bucket", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dest-dir", "--dest_dir", dest="dest_dir", default=tempfile.gettempdir())
    p.add_argument("--st_checkpoint_dir")  # passed by the tuner; nothing to resume here
    args = p.parse_args()

    config = TransferConfig(
        multipart_threshold=args.multipart_threshold,
        max_concurrency=args.max_concurrency,
        multipart_chunksize=args.multipart_chunksize,
        num_download_attempts=args.num_download_attempts,
        max_io_queue=args.max_io_queue,
        io_chunksize=args.io_chunksize,
        use_threads=args.use_threads,
        max_bandwidth=args.max_bandwidth or None,
    )
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    dest = os.path.join(args.dest_dir, "s3tune-download-%d" % os.getpid())
    times = []
    for repeat in range(1, args.repeats + 1):
        start = time.perf_counter()
        try:
            s3.download_file(args.bucket, args.key, dest, Config=config)
        except Exception as e:  # one clear line on stderr, not a traceback
            sys.exit("download of s3://%s/%s failed: %s" % (args.bucket, args.key, e))
        times.append(time.perf_counter() - start)
        os.remove(dest)  # each download writes a new file; none is left behind
        # Syne Tune's Reporter line; flushed so the tuner can stop a slow trial now.
        report = {"epoch": repeat, "seconds": sum(times) / len(times)}
        print("[tune-metric]: " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
