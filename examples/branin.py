#!/usr/bin/env python3
"""A Syne Tune-style entry point: the Branin function, reported once per epoch.

    s3tune-hpo's SubprocessBackend (or Syne Tune itself) runs it as
    python3 branin.py --epochs 3 --x1 2.5 --x2 7.1 --st_checkpoint_dir DIR

Branin's minimum is 0.397887 (at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475)).
Each epoch reports `loss` = branin * (1 + 0.1 * epochs left), so a multi-epoch trial
improves step by step while bad points stay bad at every step: what lets a scheduler
like ASHA stop them early. Only the standard library; uses syne_tune's Reporter when
it is installed, and prints the same lines itself otherwise.
"""

import argparse
import json
import math


def branin(x1, x2):
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    t = 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def reporter():
    """syne_tune.Reporter when importable, else the same `[tune-metric]: {json}` line."""
    try:
        from syne_tune import Reporter

        return Reporter()
    except ImportError:

        def report(**metrics):
            # flush: the tuner reads each report as it comes, to stop a bad trial early
            print("[tune-metric]: " + json.dumps(metrics), flush=True)

        return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x1", type=float, required=True)  # in [-5, 10]
    parser.add_argument("--x2", type=float, required=True)  # in [0, 15]
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--st_checkpoint_dir")  # passed by the tuner; nothing to resume here
    args = parser.parse_args()

    report = reporter()
    value = branin(args.x1, args.x2)
    for epoch in range(1, args.epochs + 1):
        report(epoch=epoch, loss=value * (1 + 0.1 * (args.epochs - epoch)))


if __name__ == "__main__":
    main()
