"""Tuning the AWS CLI, the AWS CRT and rclone themselves (`--client`), each one's export
applied by that client unchanged, and `s3tune compare` — with the real clients against a
real `s3tune serve` or the embedded emulator, every copy checked here by its bytes."""

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import pytest

from conftest import ROOT, make_client, s3tune_bin

OBJECT = "obj.bin"
SIZE = 64 * 1024 * 1024
ROUNDS = 3


@pytest.fixture(scope="module")
def scaled():
    """`s3tune serve` on tune's default network (S3 scaled down 8x) with a synthetic
    object, and the SHA-256 of that object."""
    proc = subprocess.Popen(
        [s3tune_bin(), "serve", "--listen", "127.0.0.1:0", "--json", "--network", "s3-scaled",
         "--object", f"data/{OBJECT}={SIZE}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"s3tune serve did not start: {proc.stderr.read()}")
    info = json.loads(line)
    body = make_client(info).get_object(Bucket="data", Key=OBJECT)["Body"].read()
    info["sha256"] = hashlib.sha256(body).hexdigest()
    yield info
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def env_of(info, home):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=info["access_key"],
               AWS_SECRET_ACCESS_KEY=info["secret_key"], AWS_DEFAULT_REGION=info["region"],
               HOME=str(home))
    env.pop("AWS_PROFILE", None)
    return env


def checked(path, info):
    """The copy at `path` is the object, byte for byte; then it is removed."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    os.remove(path)
    assert digest == info["sha256"], f"{path}: wrong bytes"


def awscli_run(info, home, dest, config_file):
    """`aws s3 cp` (the CLI's own entry point, timed from its first request as s3tune
    times it) with the config file `config_file`."""
    env = env_of(info, home)
    env["AWS_CONFIG_FILE"] = str(config_file)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "awscli_cp.py"), "--endpoint-url",
         info["endpoint"], "s3", "cp", f"s3://data/{OBJECT}", str(dest), "--quiet"],
        env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    line = [l for l in done.stdout.splitlines() if l.startswith("[tune-metric]:")][-1]
    return json.loads(line.split(":", 1)[1])["seconds"]


def rclone_run(info, home, dest, flags):
    """`rclone copyto` with `flags` as the export wrote them, timed start to exit (as
    s3tune times rclone on a bucket)."""
    env = env_of(info, home)
    env.pop("AWS_CA_BUNDLE", None)  # rclone's SDK refuses a CA bundle with its transport
    env.update(RCLONE_CONFIG_EMU_TYPE="s3", RCLONE_CONFIG_EMU_PROVIDER="Other",
               RCLONE_CONFIG_EMU_ACCESS_KEY_ID=info["access_key"],
               RCLONE_CONFIG_EMU_SECRET_ACCESS_KEY=info["secret_key"],
               RCLONE_CONFIG_EMU_ENDPOINT=info["endpoint"],
               RCLONE_CONFIG_EMU_REGION=info["region"], RCLONE_CONFIG=str(home / "none.conf"))
    start = time.perf_counter()
    done = subprocess.run([shutil.which("rclone"), "copyto", f"emu:data/{OBJECT}", str(dest),
                           "-q", *flags], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    return seconds


CRT_SNIPPET = """
import sys, time, runpy
from awscrt.auth import AwsCredentialsProvider
from awscrt.http import HttpHeaders, HttpRequest
from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType, create_default_s3_signing_config
kwargs = runpy.run_path(sys.argv[1])["S3_CLIENT_KWARGS"] if sys.argv[1] != "-" else {}
host, dest = sys.argv[2], sys.argv[3]
start = time.perf_counter()
signing = create_default_s3_signing_config(
    region="us-east-1", credential_provider=AwsCredentialsProvider.new_default_chain())
client = S3Client(region="us-east-1", signing_config=signing,
                  tls_mode=S3RequestTlsMode.DISABLED, **kwargs)
request = HttpRequest("GET", "/data/%s", HttpHeaders([("Host", host)]))
client.make_request(type=S3RequestType.GET_OBJECT, request=request,
                    recv_filepath=dest).finished_future.result()
print(time.perf_counter() - start)
""" % OBJECT


def crt_run(info, home, dest, kwargs_file):
    """awscrt's S3Client made with the export's S3_CLIENT_KWARGS ("-": none)."""
    done = subprocess.run(
        [sys.executable, "-c", CRT_SNIPPET, str(kwargs_file),
         info["endpoint"].removeprefix("http://"), str(dest)],
        env=env_of(info, home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


def export_and_defaults(client, out, home):
    """How to run `client` with its export, and with its defaults."""
    if client == "awscli":
        return ((awscli_run, out / "aws-cli.ini"), (awscli_run, home / "no-config"))
    if client == "crt":
        return ((crt_run, out / "crt.py"), (crt_run, "-"))
    lines = [l for l in (out / "rclone-flags.txt").read_text().splitlines()
             if l and not l.startswith("#")]
    assert len(lines) == 1, lines
    return ((rclone_run, lines[0].split()), (rclone_run, []))


@pytest.mark.parametrize("client", ["awscli", "crt", "rclone"])
def test_the_client_is_tuned_and_its_export_applied_unchanged_is_as_fast(client, scaled, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [s3tune_bin(), "tune", f"s3://data/{OBJECT}", "--endpoint-url", scaled["endpoint"],
         "--client", client, "--python", sys.executable, "--trials", "8", "--repeats", "2",
         "--confirm", str(ROUNDS), "--study", client, "--out", str(out),
         "--dest-dir", str(tmp_path)],
        capture_output=True, text=True, env=env_of(scaled, tmp_path))
    assert run.returncode == 0, run.stderr + run.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["client"] == client and s["trials"] == 8, s
    lo, hi = s["speedup_ci95"]
    assert lo > 1.0, f"no gain over {client}'s defaults: {s['speedup']} [{lo}, {hi}]\n{run.stdout}"
    # Both no-search rules ran, and the report states the best's speedup over each.
    assert [r["name"] for r in s["rules"]] == ["crt", "climb"], s["rules"]
    assert all(r["speedup"] is not None for r in s["rules"]), s["rules"]
    assert "over CRT's formula" in run.stdout and "over AzCopy's climb" in run.stdout

    # The export, applied by the client itself, unchanged, interleaved with the
    # client's defaults; every copy checked here.
    (export, exported), (default, defaults) = export_and_defaults(client, out, tmp_path)
    dest = tmp_path / "copy.bin"
    tuned_runs, default_runs = [], []
    for _ in range(ROUNDS):
        tuned_runs.append(export(scaled, tmp_path, dest, exported))
        checked(dest, scaled)
        default_runs.append(default(scaled, tmp_path, dest, defaults))
        checked(dest, scaled)
    tuned, default_ = statistics.median(tuned_runs), statistics.median(default_runs)
    best = s["best_seconds"]
    assert tuned <= 1.3 * best, f"the export ran in {tuned_runs}, the tuned trial {best}"
    assert tuned < default_, f"the export {tuned_runs} is not faster than the defaults {default_runs}"


def test_compare_measures_every_client_and_races_their_best(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [s3tune_bin(), "compare", "--clients", "s3tune,awscli,crt,rclone", "--python",
         sys.executable, "--budget", "40s", "--object-size", "32MiB", "--rounds", "2",
         "--out", str(out), "--dest-dir", str(tmp_path)],
        capture_output=True, text=True)
    assert run.returncode == 0, run.stderr + run.stdout
    table = run.stdout
    for client in ["s3tune", "awscli", "crt", "rclone"]:
        assert any(l.startswith(client + " ") for l in table.splitlines()), table
    c = json.loads((out / "compare.json").read_text())
    assert [x["client"] for x in c["clients"]] == ["s3tune", "awscli", "crt", "rclone"]
    assert c["reference"] and len(c["reference"]["runs"]) == 2, c["reference"]
    for x in c["clients"]:
        assert x["defaults"]["seconds"] > 0, x
        assert x["auto"]["rule"] in ("crt", "climb"), x
        assert len(x["tuned"]["race_runs"]) == 2, x
        lo, hi = x["speedup_ci95"]
        assert lo <= x["speedup_over_reference"] <= hi, x
    for name in ["compare.svg", "compare.png", "awscli/aws-cli.ini", "crt/crt.py",
                 "rclone/rclone-flags.txt", "s3tune/best.toml"]:
        assert (out / name).stat().st_size > 0, name
    assert c["left_out"] == []
