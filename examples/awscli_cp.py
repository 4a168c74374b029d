#!/usr/bin/env python3
"""Time one `aws ...` command (the AWS CLI's own entry point, in this Python).

    python3 awscli_cp.py --endpoint-url http://127.0.0.1:9000 s3 cp s3://data/big.bin big.bin

Runs the AWS CLI exactly as `aws` would, with the same arguments, settings
(AWS_CONFIG_FILE, ~/.aws/config) and exit status, and reports on stdout, as Syne Tune's
Reporter does,

    [tune-metric]: {"seconds": S, "startup": T}

S being the seconds from the CLI's first request to its end, T those before it (the
interpreter, the CLI's imports and its configuration): the part of a copy that its
settings change, and the part that they do not. Standard library and awscli only.
"""

import json
import sys
import time


def main():
    start = time.perf_counter()
    try:
        from awscli.clidriver import create_clidriver
    except ImportError:
        sys.stderr.write("the AWS CLI (awscli) is not importable by %s\n" % sys.executable)
        return 2
    driver = create_clidriver()
    first = []

    def on_send(**kwargs):
        if not first:
            first.append(time.perf_counter())

    driver.session.register("before-send", on_send)
    status = driver.main(sys.argv[1:])
    end = time.perf_counter()
    if status == 0:
        began = first[0] if first else start
        line = {"seconds": end - began, "startup": began - start}
        print("[tune-metric]: " + json.dumps(line), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
