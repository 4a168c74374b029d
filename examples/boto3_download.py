#!/usr/bin/env python3
"""The seed's experiment as a Syne Tune-style entry point: time boto3's download_file.

    python3 boto3_download.py --bucket data --key big.bin --endpoint-url http://127.0.0.1:9000 \
        --max_concurrency 10 --multipart_chunksize 8388608 --max_io_queue 100 \
        --io_chunksize 262144 --st_checkpoint_dir DIR

Downloads the object --repeats times with one TransferConfig (every knob of boto3's, sizes
in bytes, boto3's defaults for those not given), deleting each copy, and after each
download reports the running mean time as `seconds` (and the repeat as `epoch`), so a
scheduler can stop a slow configuration after one download. With --dest FILE the copy is
written there and kept, for the caller to check (s3tune does). Standard library and boto3
only; boto3_upload.py shares its knobs from here.
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


MIB = 1024 * 1024
# boto3's TransferConfig knobs: how each is read, and boto3's default.
KNOBS = {
    "multipart_threshold": (whole, 8 * MIB),
    "max_concurrency": (whole, 10),
    "multipart_chunksize": (whole, 8 * MIB),
    "num_download_attempts": (whole, 5),
    "max_io_queue": (whole, 100),
    "io_chunksize": (whole, 256 * 1024),
    "use_threads": (flag, True),
    "max_bandwidth": (whole, 0),  # bytes/s; 0: no cap
}


def add_knobs(parser, names):
    """One --flag per knob in `names`, with boto3's default."""
    for name in names:
        kind, default = KNOBS[name]
        parser.add_argument("--" + name, type=kind, default=default)


def transfer_config(args, names):
    """The TransferConfig of the knobs in `names` as parsed (a bandwidth of 0: no cap)."""
    values = {name: getattr(args, name) for name in names}
    if "max_bandwidth" in values:
        values["max_bandwidth"] = values["max_bandwidth"] or None
    return TransferConfig(**values)


def report(repeat, times):
    """Syne Tune's Reporter line; flushed so the tuner can stop a slow trial now."""
    line = {"epoch": repeat, "seconds": sum(times) / len(times)}
    print("[tune-metric]: " + json.dumps(line), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_knobs(p, KNOBS)
    p.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url")
    p.add_argument("--bucket", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dest-dir", "--dest_dir", dest="dest_dir", default=tempfile.gettempdir())
    p.add_argument("--dest", help="write the copy to this file and keep it")
    p.add_argument("--st_checkpoint_dir")  # passed by the tuner; nothing to resume here
    args = p.parse_args()

    config = transfer_config(args, KNOBS)
    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    dest = args.dest or os.path.join(args.dest_dir, "s3tune-download-%d" % os.getpid())
    times = []
    for repeat in range(1, args.repeats + 1):
        start = time.perf_counter()
        try:
            s3.download_file(args.bucket, args.key, dest, Config=config)
        except Exception as e:  # one clear line on stderr, not a traceback
            sys.exit("download of s3://%s/%s failed: %s" % (args.bucket, args.key, e))
        times.append(time.perf_counter() - start)
        if not args.dest:
            os.remove(dest)  # each download writes a new file; none is left behind
        report(repeat, times)


if __name__ == "__main__":
    main()
