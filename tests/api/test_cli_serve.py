"""`farmtrace serve` as a person runs it: labels point where the server listens, a mismatch is warned
about, and SIGTERM or SIGINT ends the whole process tree (service workers, the signature-verification
pool and multiprocessing's resource tracker)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farmtrace.api.settings import bound_public_url, public_url_warning

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
    return env | {"FARMTRACE_DATA_DIR": str(data), **extra}


def _descendants(pid: int) -> set[int]:
    """Every living descendant of `pid`, read from /proc/<pid>/task/*/children."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended; only its parent's wait is due


class Served:
    def __init__(self, data: Path, *args: str, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [FARMTRACE, "serve", "--port", str(self.port), *args],
            cwd=data.parent,
            env=_env(data, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until_up(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if httpx.get(f"{self.url}/ledger/checkpoint", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not answer at {self.url} within {within} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            for pid in _descendants(self.proc.pid):
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("served") / "data"
    for command in (["init"], ["demo"]):
        subprocess.run(
            [FARMTRACE, *command], env=_env(data), cwd=data.parent, check=True, capture_output=True, timeout=120
        )
    return data


@pytest.fixture
def served(demo_data: Path) -> Iterator[list[Served]]:
    running: list[Served] = []
    yield running
    for s in running:
        s.stop()


def _label_uri(url: str) -> str:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    png = httpx.get(f"{url}/lots/XF-BAG-0001/label.png", timeout=30)
    assert png.status_code == 200
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)), formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text


@pytest.mark.slow
def test_labels_point_at_the_port_served(demo_data: Path, served: list[Served]) -> None:
    s = Served(demo_data, "--workers", "2")  # the workers read the URL too, not only the first process
    served.append(s)
    s.wait_until_up()
    assert _label_uri(s.url).startswith(f"{s.url}/")


@pytest.mark.slow
def test_an_explicit_public_url_is_kept_and_a_mismatch_warned(demo_data: Path, served: list[Served]) -> None:
    s = Served(demo_data, FARMTRACE_PUBLIC_URL="http://127.0.0.1:8000")
    served.append(s)
    s.wait_until_up()
    assert _label_uri(s.url).startswith("http://127.0.0.1:8000/")
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(timeout=30)
    warnings = [line for line in s.proc.stderr.read().splitlines() if "warning" in line]
    assert warnings == [
        f"farmtrace: warning: labels will point to http://127.0.0.1:8000 but the server listens on "
        f"127.0.0.1:{s.port}: fix FARMTRACE_PUBLIC_URL, or unset it to use the bound address"
    ]


def test_the_bound_address_is_the_default_public_url() -> None:
    assert bound_public_url("127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert bound_public_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert bound_public_url("::", 80) == "http://[::1]:80"
    assert bound_public_url("trace.example", 8000) == "http://trace.example:8000"


@pytest.mark.parametrize(
    ("public", "host", "port", "warned"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1", 8000, False),
        ("http://localhost:8000", "127.0.0.1", 8000, False),
        ("http://127.0.0.1:8000", "127.0.0.1", 8080, True),
        ("http://127.0.0.1:8080", "0.0.0.0", 8080, True),  # phones cannot open loopback
        ("http://192.0.2.7:8080", "0.0.0.0", 8080, False),
        ("http://192.0.2.7", "0.0.0.0", 8080, True),  # port 80 is not where it listens
        ("https://trace.changsha.example", "127.0.0.1", 8000, False),  # a TLS proxy in front
        ("https://127.0.0.1", "0.0.0.0", 8000, True),
    ],
)
def test_public_url_warning(public: str, host: str, port: int, warned: bool) -> None:
    warning = public_url_warning(public, host=host, port=port)
    assert (warning is not None) == warned
    if warning:
        assert public in warning and "FARMTRACE_PUBLIC_URL" in warning and "\n" not in warning


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "sig"),
    [(1, signal.SIGTERM), (2, signal.SIGTERM), (1, signal.SIGINT)],
    ids=["one-process-term", "two-workers-term", "one-process-int"],
)
def test_a_signal_ends_the_whole_process_tree(demo_data: Path, served: list[Served], workers, sig) -> None:
    s = Served(demo_data, "--workers", str(workers), FARMTRACE_VERIFY_WORKERS="2")
    served.append(s)
    s.wait_until_up()
    # Each service process starts its verification pool (2 processes), its head index keeper's
    # process and its alert keeper's process (FARMTRACE_INDEX_KEEPER and FARMTRACE_ALERT_KEEPER =
    # process, serve's defaults) at start-up; the first one started also starts the resource
    # tracker, which all of them share.
    expected = (1 + 2 + 1 + 1) if workers == 1 else (workers + workers * 2 + workers * 2 + 1)
    deadline = time.monotonic() + 30
    while len(tree := _descendants(s.proc.pid)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(tree) == expected, f"expected {expected} descendants, found {len(tree)}"
    s.proc.send_signal(sig)
    s.proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(map(_alive, tree)) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sorted(pid for pid in tree if _alive(pid))
    assert not left, f"still running after {signal.Signals(sig).name}: {left}"
    assert "Traceback" not in s.proc.stderr.read()
