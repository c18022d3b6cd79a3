"""The published tiles read by an implementation we did not write: Go's golang.org/x/mod/sumdb/tlog
(Debian's golang-golang-x-mod-dev), through tests/ledger/go/tilecheck, from the directory and
through nginx. Skipped without Go outside CI; under CI=true a missing Go fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from farmtrace.ledger.log import Log
from farmtrace.ledger.note import Signer
from farmtrace.ledger.publication import publish
from farmtrace.ledger.store import MemoryStore

from ..nginx_support import start_nginx, stop_nginx

SOURCE = Path(__file__).with_name("go") / "tilecheck"
GOPATH = Path("/usr/share/gocode")  # Debian's Go libraries: built offline, no module download


@pytest.fixture(scope="module")
def tilecheck(tmp_path_factory) -> str:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("go or golang.org/x/mod is missing (Debian's golang-go, golang-golang-x-mod-dev)")
        pytest.skip("go or golang.org/x/mod is missing (Debian's golang-go, golang-golang-x-mod-dev)")
    out = tmp_path_factory.mktemp("go")
    env = os.environ | {"GOPATH": str(GOPATH), "GO111MODULE": "off", "GOCACHE": str(out / "cache")}
    subprocess.run(
        [go, "build", "-o", str(out / "tilecheck"), "."], cwd=SOURCE, env=env, check=True, timeout=300
    )
    return str(out / "tilecheck")


@pytest.fixture(scope="module")
def published(signer, tmp_path_factory):
    """A log of 70,001 entries (three tile levels, partial tiles on each) published to a directory,
    and the root it signed."""
    log = Log(MemoryStore(), signer)
    log.append_many([f"entry {i}".encode() for i in range(70_001)])
    root = tmp_path_factory.mktemp("published")
    publish(log, root)
    yield root, log.checkpoint()
    log.close()


def _run(tilecheck: str, key: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run([tilecheck, "-key", key, source], capture_output=True, text=True, timeout=120)


def test_go_verifies_the_published_directory(tilecheck, published, signer):
    root, cp = published
    done = _run(tilecheck, signer.verifier.key_string(), str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["OK", "size=70001", f"root={cp.note.split(chr(10))[2]}"]


def test_go_verifies_it_through_nginx_and_refuses_a_flipped_bit(tilecheck, published, signer, tmp_path):
    root, _ = published
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    proc, url = start_nginx(copy, tmp_path / "nginx")
    try:
        assert httpx.get(f"{url}/checkpoint").status_code == 200
        done = _run(tilecheck, signer.verifier.key_string(), url)
        assert done.returncode == 0, done.stdout + done.stderr
        tile = copy / "tile/1/000"
        data = bytearray(tile.read_bytes())
        data[100] ^= 0x10
        tile.write_bytes(bytes(data))
        refused = _run(tilecheck, signer.verifier.key_string(), url)
        assert refused.returncode == 1 and refused.stdout.startswith("FAILED:"), refused.stdout
    finally:
        stop_nginx(proc)


def test_go_refuses_another_key_and_an_altered_entry(tilecheck, published, signer, tmp_path):
    root, _ = published
    other = Signer.from_seed(signer.name, bytes(32))
    refused = _run(tilecheck, other.verifier.key_string(), str(root))
    assert refused.returncode == 1 and "checkpoint" in refused.stdout
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    bundle = copy / "tile/entries/100"
    data = bundle.read_bytes()
    bundle.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    refused = _run(tilecheck, signer.verifier.key_string(), str(copy))
    assert refused.returncode == 1 and "tile/entries/100" in refused.stdout
