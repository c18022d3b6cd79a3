"""`farmtrace publish DIR` as an operator runs it: the same tree as the /log/ routes, kept current with
--follow, ended cleanly by SIGTERM; and Debian's nginx serving the directory, through which a client
verifies the whole log with nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app, open_log
from farmtrace.api.settings import Settings
from farmtrace.client.tiles import check_log, directory_fetch, http_fetch
from farmtrace.ledger.checkpoint import Checkpoint, sign_checkpoint
from farmtrace.ledger.errors import NotFoundError, VerificationError
from farmtrace.ledger.note import Verifier
from farmtrace.ledger.tile_audit import check_tiled_log
from farmtrace.ledger.tile_paths import format_tile_path, tiles_for_size

from ..nginx_support import start_nginx, stop_nginx

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
    return env | {"FARMTRACE_DATA_DIR": str(data)}


def _grow(data: Path, size: int) -> Verifier:
    """The ledger in `data`, grown to `size` entries ("entry i"); return its verifier key."""
    log = open_log(Settings.from_env({}, data_dir=data))
    try:
        if size > log.size:
            log.append_many([f"entry {i}".encode() for i in range(log.size, size)])
        return log.verifier
    finally:
        log.close(close_store=True)


def _publish(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FARMTRACE, "publish", str(out), *extra], env=_env(data), capture_output=True, text=True, timeout=120
    )


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_publish_writes_what_the_routes_serve_and_removes_only_superseded_partials(tmp_path):
    data, out = tmp_path / "data", tmp_path / "pub"
    key = _grow(data, 300)
    done = _publish(data, out)
    assert done.returncode == 0, done.stderr
    assert "published size 300 (was 0)" in done.stdout
    assert _files(out) == {"checkpoint"} | {format_tile_path(t) for t in tiles_for_size(300)}
    app = create_app(Settings.from_env({}, data_dir=data))
    with TestClient(app) as client:
        for name in _files(out):
            assert client.get(f"/log/{name}").content == (out / name).read_bytes(), name
    assert check_tiled_log(directory_fetch(out), log_key=key).entries == 300
    # Nothing new: nothing written.
    again = _publish(data, out)
    assert again.returncode == 0 and again.stdout == ""
    # The log grows past the tile edge: tile 1 becomes full, its partials go; tile 2's new one comes.
    _grow(data, 520)
    grown = _publish(data, out)
    assert grown.returncode == 0, grown.stderr
    files = _files(out)
    assert {"tile/0/001", "tile/entries/001", "tile/0/002.p/8", "tile/1/000.p/2"} <= files
    assert not any(name.startswith(("tile/0/001.p/", "tile/entries/001.p/")) for name in files)
    assert "tile/1/000.p/1" in files  # still partial: the level-1 tile of the size published before
    assert check_tiled_log(directory_fetch(out), log_key=key).entries == 520


def test_publish_refuses_a_directory_of_another_tree(tmp_path):
    data, out = tmp_path / "data", tmp_path / "pub"
    _grow(data, 10)
    assert _publish(data, out).returncode == 0
    # Another ledger (another key) publishing into the same directory is refused, nothing written.
    other = tmp_path / "other"
    _grow(other, 20)
    before = (out / "checkpoint").read_bytes()
    refused = _publish(other, out)
    assert refused.returncode == 1
    assert "is not a checkpoint signed by this log's key" in refused.stderr
    assert (out / "checkpoint").read_bytes() == before
    # A checkpoint the log's key signed over another tree (a fork), or over more entries than the log
    # now has (a rollback): refused, the directory left as it was.
    signer = Settings.from_env({}, data_dir=data).log_signer()
    for forged, found in [
        (Checkpoint(signer.name, 10, bytes(32)), "has another root than the log's tree of that size"),
        (Checkpoint(signer.name, 11, bytes(32)), "larger than the log's 10: the log was rolled back"),
    ]:
        (out / "checkpoint").write_text(sign_checkpoint(forged, signer))
        refused = _publish(data, out)
        assert refused.returncode == 1 and found in refused.stderr
        assert (out / "checkpoint").read_text() == sign_checkpoint(forged, signer)


def test_publish_follow_picks_up_new_entries_and_ends_on_sigterm(tmp_path):
    data, out = tmp_path / "data", tmp_path / "pub"
    key = _grow(data, 5)
    proc = subprocess.Popen(
        [FARMTRACE, "publish", str(out), "--follow", "--interval", "0.2"],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: check_tiled_log(directory_fetch(out), log_key=key).entries == 5)
        _grow(data, 700)
        _wait_for(lambda: check_tiled_log(directory_fetch(out), log_key=key).entries == 700)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "published size 5 (was 0)" in stdout and "published size 700 (was 5)" in stdout
    assert not list(out.rglob(".publish-*"))  # no temporary file left behind


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (NotFoundError, VerificationError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_the_whole_log_verifies_through_nginx_alone(tmp_path):
    data, out = tmp_path / "data", tmp_path / "pub"
    key = _grow(data, 70_000 // 10)
    assert _publish(data, out).returncode == 0
    proc, url = start_nginx(out, tmp_path / "nginx")
    try:
        with httpx.Client(headers={"Accept-Encoding": "gzip, identity"}) as client:
            report = check_tiled_log(http_fetch(url, http=client), log_key=key)
            assert report.entries == 7_000
            assert check_log(url, log_key=key.key_string()).size == 7_000
            cp = client.get(f"{url}/checkpoint")
            assert cp.headers["content-type"] == "text/plain; charset=utf-8"
            assert cp.headers["cache-control"] == "public, max-age=5"
            full = client.get(f"{url}/tile/entries/000")
            assert full.headers["content-type"] == "application/octet-stream"
            assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert full.headers["content-encoding"] == "gzip"
            partial = client.get(f"{url}/tile/0/027.p/88")
            assert partial.status_code == 200 and partial.headers["cache-control"] == "public, max-age=60"
            assert client.get(f"{url}/tile/0/028").status_code == 404
            # The operator's disk is altered under nginx: the client names the file.
            tile = out / "tile/0/003"
            tile.write_bytes(bytes([tile.read_bytes()[0] ^ 1]) + tile.read_bytes()[1:])
            with pytest.raises(VerificationError, match="tile/0/003"):
                check_tiled_log(http_fetch(url, http=client), log_key=key)
    finally:
        stop_nginx(proc)
