#!/usr/bin/env python3
"""A Syne Tune-style entry point: the 6-dimensional Hartmann function, reported once.

    s3tune-hpo's SubprocessBackend (or Syne Tune itself) runs it as
    python3 hartmann6.py --x1 0.2 --x2 0.15 ... --x6 0.66 --sleep 0.25 --st_checkpoint_dir DIR

Hartmann6 on [0, 1]^6 is the standard harder test for Bayesian optimization after
Branin: six dimensions, several local minima, and a narrow global minimum of -3.32237
at (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). `--sleep SECONDS` makes
each evaluation take that long before it reports, as an expensive objective would: with
it, trials run at once by parallel workers overlap as real ones do, so a benchmark
measures what parallelism gains in wall-clock and costs in regret. `value` is reported
once. Only the standard library; uses syne_tune's Reporter when it is installed, and
prints the same line itself otherwise. Unknown arguments (such as --st_checkpoint_dir)
are ignored.
"""

import argparse
import json
import math
import time

# f(x) = -sum_i ALPHA[i] * exp(-sum_j A[i][j] * (x_j - P[i][j])^2)
ALPHA = (1.0, 1.2, 3.0, 3.2)
A = (
    (10.0, 3.0, 17.0, 3.5, 1.7, 8.0),
    (0.05, 10.0, 17.0, 0.1, 8.0, 14.0),
    (3.0, 3.5, 1.7, 10.0, 17.0, 8.0),
    (17.0, 8.0, 0.05, 10.0, 0.1, 14.0),
)
P = tuple(
    tuple(v * 1e-4 for v in row)
    for row in (
        (1312, 1696, 5569, 124, 8283, 5886),
        (2329, 4135, 8307, 3736, 1004, 9991),
        (2348, 1451, 3522, 2883, 3047, 6650),
        (4047, 8828, 8732, 5743, 1091, 381),
    )
)
MINIMUM = -3.32237


def hartmann6(x):
    return -sum(
        alpha * math.exp(-sum(a * (xj - p) ** 2 for a, xj, p in zip(a_row, x, p_row)))
        for alpha, a_row, p_row in zip(ALPHA, A, P)
    )


def reporter():
    """syne_tune.Reporter when importable, else the same `[tune-metric]: {json}` line."""
    try:
        from syne_tune import Reporter

        return Reporter()
    except ImportError:

        def report(**metrics):
            # flush: the tuner reads each report as it comes
            print("[tune-metric]: " + json.dumps(metrics), flush=True)

        return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for i in range(1, 7):
        parser.add_argument(f"--x{i}", type=float, required=True)  # in [0, 1]
    parser.add_argument("--sleep", type=float, default=0.0,
                        help="seconds each evaluation takes (the simulated cost)")
    # --st_checkpoint_dir and anything else the tuner passes: nothing to resume here
    args, _unknown = parser.parse_known_args()

    report = reporter()
    value = hartmann6([getattr(args, f"x{i}") for i in range(1, 7)])
    if args.sleep > 0:
        time.sleep(args.sleep)
    report(value=value)


if __name__ == "__main__":
    main()
