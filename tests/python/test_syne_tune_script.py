"""A script written for Syne Tune — it imports `syne_tune.Reporter` — tuned by s3tune
unchanged, with Syne Tune installed from PyPI."""

import json
import sqlite3
import subprocess
import sys

from conftest import s3tune_bin

SCRIPT = '''
from argparse import ArgumentParser

from syne_tune import Reporter

# A made-up training curve: the loss falls with the epochs, faster for a good rate.
parser = ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--layers", type=int, required=True)
parser.add_argument("--epochs", type=int, default=4)
args, _ = parser.parse_known_args()
report = Reporter()
for epoch in range(1, args.epochs + 1):
    loss = (args.lr - 0.01) ** 2 * 1e4 + abs(args.layers - 3) + 1.0 / epoch
    report(epoch=epoch, val_loss=loss)
'''


def test_a_syne_tune_script_runs_unchanged(tmp_path):
    import syne_tune  # noqa: F401  (the test venv has it: it is the point)

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    space = tmp_path / "space.toml"
    space.write_text('lr = { float = [0.001, 0.1], scale = "log" }\n'
                     "layers = { int = [1, 8] }\nepochs = 4\n")
    out = tmp_path / "out"
    run = subprocess.run(
        [s3tune_bin(), "tune", "--command", f"{sys.executable} {script}", "--space",
         str(space), "--metric", "val_loss", "--trials", "6", "--workers", "2",
         "--study", "st", "--out", str(out)],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    db = sqlite3.connect(out / "study.db")
    rows = db.execute("SELECT number, status, reports, config FROM trials ORDER BY number").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    for number, status, reports, config in rows:
        assert status == "completed", (number, status)
        values = json.loads(reports)
        assert len(values) == 4, values
        c = json.loads(config)
        last = (c["lr"] - 0.01) ** 2 * 1e4 + abs(c["layers"] - 3) + 0.25
        assert abs(values[-1] - last) < 1e-9
    # Syne Tune's Reporter wrote its own fields too; s3tune kept the whole line in std.out.
    stdout = (out / "trials" / "trial-1" / "std.out").read_text()
    assert "[tune-metric]:" in stdout and "st_worker_iter" in stdout
