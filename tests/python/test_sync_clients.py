"""The AWS CLI's and rclone's whole-tree commands against `s3tune serve`: what they list,
copy, compare and delete must come out exactly as on S3. Every file is checked here, by
its bytes, not only by the client."""

import hashlib
import os
import random
import shutil
import subprocess

import pytest

from conftest import all_keys

MIB = 1024 * 1024


def make_tree(root, seed):
    """A small tree: nested folders, an empty file, one file past multipart sizes; last
    changed an hour ago, as a dataset on disk is (S3's times have whole seconds, so a
    file written in the second it is uploaded in looks newer than its upload, on S3 too).
    """
    rng = random.Random(seed)
    files = {
        "a.txt": rng.randbytes(10),
        "empty": b"",
        "dir/b.bin": rng.randbytes(300_000),
        "dir/sub/c.bin": rng.randbytes(5),
        "big.bin": rng.randbytes(21 * MIB + 3),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        hour_ago = path.stat().st_mtime - 3600
        os.utime(path, (hour_ago, hour_ago))
    return files


def remote(s3, bucket, prefix):
    """`{relative key: sha256}` of everything under `prefix`."""
    out = {}
    for key in all_keys(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out[key[len(prefix):]] = hashlib.sha256(body).hexdigest()
    return out


def digests(files):
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}


def test_aws_cli_sync_twice_moves_nothing_the_second_time(aws, s3, fresh, tmp_path):
    src = tmp_path / "tree"
    files = make_tree(src, 1)
    first = aws("s3", "sync", "--no-progress", str(src), f"s3://{fresh}/t/", check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("upload:") == len(files), first.stdout
    assert remote(s3, fresh, "t/") == digests(files)
    second = aws("s3", "sync", "--no-progress", str(src), f"s3://{fresh}/t/")
    assert second.stdout.strip() == "", f"the second sync moved: {second.stdout}"

    # A changed file and a removed one: sync --delete moves just those.
    (src / "a.txt").write_bytes(b"changed, and longer than before")
    (src / "dir" / "b.bin").unlink()
    third = aws("s3", "sync", "--no-progress", "--delete", str(src), f"s3://{fresh}/t/", check=False)
    assert third.returncode == 0, third.stdout + third.stderr
    moved = sorted(line.split()[0] for line in third.stdout.splitlines())
    assert moved == ["delete:", "upload:"], third.stdout
    files["a.txt"] = (src / "a.txt").read_bytes()
    del files["dir/b.bin"]
    assert remote(s3, fresh, "t/") == digests(files)

    # And down again into an empty folder: the same tree.
    down = tmp_path / "down"
    done = aws("s3", "sync", "--no-progress", f"s3://{fresh}/t/", str(down), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    got = {
        str(p.relative_to(down)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in down.rglob("*")
        if p.is_file()
    }
    assert got == digests(files)


def test_aws_cli_rm_recursive_deletes_the_prefix_only(aws, s3, fresh, tmp_path):
    for i in range(30):
        s3.put_object(Bucket=fresh, Key=f"gone/{i % 3}/{i}", Body=b"x")
    s3.put_object(Bucket=fresh, Key="kept/x", Body=b"y")
    s3.put_object(Bucket=fresh, Key="gone-not", Body=b"z")
    out = aws("s3", "rm", "--recursive", f"s3://{fresh}/gone/")
    assert out.stdout.count("delete:") == 30
    assert all_keys(s3, fresh) == ["gone-not", "kept/x"]


@pytest.fixture()
def rclone(server, tmp_path):
    """Runs rclone against the server as the remote `emu:` (configured by environment)."""
    exe = shutil.which("rclone")
    assert exe, "rclone is not installed: scripts/test installs it (apt-get install rclone)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_EMU_TYPE": "s3",
        "RCLONE_CONFIG_EMU_PROVIDER": "Other",
        "RCLONE_CONFIG_EMU_ACCESS_KEY_ID": server["access_key"],
        "RCLONE_CONFIG_EMU_SECRET_ACCESS_KEY": server["secret_key"],
        "RCLONE_CONFIG_EMU_ENDPOINT": server["endpoint"],
        "RCLONE_CONFIG_EMU_REGION": server["region"],
        "RCLONE_CONFIG_EMU_FORCE_PATH_STYLE": "true",
    }

    def run(*args):
        # Multipart from 5 MiB, so the large file goes up in parts.
        cmd = [exe, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", *args]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(args)}: {done.stderr}"
        return done

    return run


def test_rclone_copy_sync_purge(rclone, s3, fresh, tmp_path):
    src = tmp_path / "tree"
    files = make_tree(src, 2)
    rclone("copy", str(src), f"emu:{fresh}/r")
    assert remote(s3, fresh, "r/") == digests(files)
    # rclone's own check agrees (sizes and MD5s, multipart ones from its metadata).
    rclone("check", str(src), f"emu:{fresh}/r")

    # sync makes the remote the source: one file changed, one gone, one new.
    (src / "a.txt").write_bytes(b"a new a")
    (src / "dir" / "sub" / "c.bin").unlink()
    (src / "new.txt").write_bytes(b"new")
    rclone("sync", str(src), f"emu:{fresh}/r")
    files["a.txt"] = b"a new a"
    del files["dir/sub/c.bin"]
    files["new.txt"] = b"new"
    assert remote(s3, fresh, "r/") == digests(files)

    s3.put_object(Bucket=fresh, Key="other", Body=b"stays")
    rclone("purge", f"emu:{fresh}/r")
    assert all_keys(s3, fresh) == ["other"]
