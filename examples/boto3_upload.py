#!/usr/bin/env python3
"""Time boto3's upload_file, as a Syne Tune-style entry point.

    python3 boto3_upload.py --file model.bin --bucket data --prefix scratch/trial-1/ \
        --endpoint-url http://127.0.0.1:9000 --max_concurrency 10 \
        --multipart_chunksize 8388608 --multipart_threshold 8388608 --st_checkpoint_dir DIR

Uploads the file --repeats times with one TransferConfig (sizes in bytes), to the keys
PREFIX + "run-1", "run-2", ... (or each to --key KEY), and after each upload reports the
running mean time as `seconds` (and the repeat as `epoch`), so a scheduler can stop a
slow configuration after one upload. The objects are left for the caller, which checks
what was stored and deletes them (s3tune does). Standard library and boto3 only, with
the knobs of boto3_download.py (beside it).
"""

import argparse
import sys
import time

from boto3_download import add_knobs, boto3, report, transfer_config

# The knobs s3transfer's upload_file reads (the others change downloads only).
UPLOAD_KNOBS = [
    "multipart_threshold",
    "max_concurrency",
    "multipart_chunksize",
    "use_threads",
    "max_bandwidth",
]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_knobs(p, UPLOAD_KNOBS)
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--key", help="upload to this key (instead of PREFIX + run-N)")
    p.add_argument("--file", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--st_checkpoint_dir")  # passed by the tuner; nothing to resume here
    args = p.parse_args()

    config = transfer_config(args, UPLOAD_KNOBS)
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    times = []
    for repeat in range(1, args.repeats + 1):
        key = args.key or "%srun-%d" % (args.prefix, repeat)
        start = time.perf_counter()
        try:
            s3.upload_file(args.file, args.bucket, key, Config=config)
        except Exception as e:  # one clear line on stderr, not a traceback
            sys.exit("upload of %s to s3://%s/%s failed: %s" % (args.file, args.bucket, key, e))
        times.append(time.perf_counter() - start)
        report(repeat, times)


if __name__ == "__main__":
    main()
