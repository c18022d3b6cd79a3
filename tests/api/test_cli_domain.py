"""The `farmtrace` command against a live server: init, demo, serve, trace, recall, party-key, register,
event and verify, each run as its own process with the installed console script."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farmtrace.api.cli.common import load_party_key
from farmtrace.api.demo import PARTIES
from farmtrace.client import Client

FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))
NEW_FARM = "F430124-000999"

pytestmark = pytest.mark.slow  # a server, a demo of ~330 events and a dozen processes: ~15 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cli:
    """Runs `farmtrace …` with the data directory of one test, from a directory outside the repository."""

    def __init__(self, tmp_path: Path) -> None:
        self.cwd = tmp_path
        self.data = tmp_path / "data"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
        self.env["FARMTRACE_DATA_DIR"] = str(self.data)
        self.server = ""

    def run(self, *args: str, ok: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [FARMTRACE, *args]
        if args[0] in ("trace", "recall", "event", "register"):
            argv += ["--server", self.server]
        done = subprocess.run(
            argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if ok:
            assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def key(self, name: str) -> str:
        return str(self.data / "demo-keys" / f"{name}.key")

    @staticmethod
    def wait_until_up(proc: subprocess.Popen, url: str, *, within: float = 30) -> None:
        """Poll the server until it answers (the one wait this suite allows)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"the server exited with {proc.returncode}:\n{out}")
            try:
                if httpx.get(f"{url}/ledger/checkpoint", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer at {url} within {within} s")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    c = Cli(tmp_path)
    c.run("init")
    demo = c.run("demo")
    assert "a consumer's bag:   XF-BAG-0001" in demo.stdout
    port = _free_port()
    c.server = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [FARMTRACE, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=c.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        c.wait_until_up(proc, c.server)
        yield c
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        if proc.stdout:
            proc.stdout.close()


def test_trace_recall_register_event_and_verify(cli: Cli) -> None:
    coop_name = PARTIES["coop"][1]
    market_name, shop_name = PARTIES["market"][1], PARTIES["shop"][1]

    # A consumer's bag traced back to the harvest lot and the cooperative.
    out = cli.run("trace", "XF-BAG-0001").stdout
    lines = out.splitlines()
    harvest = next(line for line in lines if "NX-BC-1120" in line and not line.strip().startswith("edge"))
    assert harvest.split()[0] == "back" and f"by {coop_name}" in harvest and "500 kg" in harvest
    assert any(line.split()[:2] == ["self", "XF-BAG-0001"] for line in lines)
    assert "   edge  NX-BC-1120 -> MWD-BC-01  10 kg" in lines
    assert "   edge  MWD-BC-01 -> XF-BAG-0001  1 kg" in lines

    # The regulator recalls the harvest lot: 1 + 50 + 10 lots, and every holder is listed.
    out = cli.run(
        "recall", "NX-BC-1120", "--key", cli.key("regulator"), "--reason", "抽检发现克百威超标"
    ).stdout
    assert out.splitlines()[0] == "recalled NX-BC-1120: 61 lots affected"
    holders = {line.strip().split(":", 1)[0]: line for line in out.splitlines()[1:]}
    assert set(holders) == {market_name, shop_name}
    assert "MWD-BC-02 10 kg" in holders[market_name] and "MWD-BC-50 10 kg" in holders[market_name]
    assert "XF-BAG-0002 1 kg" in holders[shop_name] and "XF-BAG-0001" not in holders[shop_name]
    lot = httpx.get(f"{cli.server}/lots/XF-BAG-0007").json()
    assert lot["status"]["recalled"] is True

    # A new family farm: its key, its registration by the regulator, then its first harvest.
    key_file = cli.cwd / "farm.key"
    out = cli.run("party-key", NEW_FARM, "--out", str(key_file)).stdout
    public = json.loads(out.splitlines()[-1])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["key_id"] == public["key_id"]
    record = {
        "id": NEW_FARM,
        "id_type": "farmer_reg",
        "name_zh": "宁乡市金洲镇李记家庭农场",
        "roles": ["producer"],
        "address": "湖南省长沙市宁乡市金洲镇",
        "keys": [public],
        "contact_commitment": "ab" * 32,
    }
    (cli.cwd / "record.json").write_text(json.dumps(record, ensure_ascii=False))
    out = cli.run("register", str(cli.cwd / "record.json"), "--key", cli.key("regulator")).stdout
    assert out.startswith(f"registered {NEW_FARM} at ledger index ")
    event = {
        "kind": "harvest",
        "location": {"name": "金洲镇 李家冲"},
        "outputs": [{"lot": "LJ-CAB-0001", "quantity": "120", "unit": "kg", "product": {"name_zh": "包菜"}}],
        "detail": {"origin": {"name": "金洲镇 李家冲 2号地"}},
    }
    (cli.cwd / "event.json").write_text(json.dumps(event, ensure_ascii=False))
    out = cli.run("event", str(cli.cwd / "event.json"), "--key", str(key_file)).stdout
    assert out.count("\n") == 1, "one JSON line per event, for one event too"
    receipt = json.loads(out)
    assert set(receipt) == {"event_id", "index", "size", "duplicate"}
    assert receipt["duplicate"] is False and receipt["index"] == receipt["size"] - 1
    seen = httpx.get(f"{cli.server}/lots/LJ-CAB-0001").json()  # as the public: no holders
    assert seen["holders"] == {} and seen["holders_complete"] is False and seen["audience"] == "public"
    lot = Client(cli.server, key=load_party_key(str(key_file))).lot("LJ-CAB-0001")  # as the farm
    assert lot["created_by"] == NEW_FARM and lot["holders"] == {NEW_FARM: "120"} and lot["audience"] == "party"
    # `farmtrace trace` reads as the public without --key, as the party with it (docs/visibility.md).
    shown = cli.run("trace", "LJ-CAB-0001").stdout
    assert "held:" not in shown and "(other holders not shown)" in shown
    shown = cli.run("trace", "LJ-CAB-0001", "--key", str(key_file)).stdout
    assert "held: " in shown and "120 kg" in shown and "not shown" not in shown

    # Refusals are exit status 1 with the server's reason: the same lot code again, by the same farm
    # (another quantity, so it is another event even within the same second, not a resubmission).
    again = event | {"outputs": [event["outputs"][0] | {"quantity": "80"}]}
    (cli.cwd / "again.json").write_text(json.dumps(again, ensure_ascii=False))
    done = cli.run("event", str(cli.cwd / "again.json"), "--key", str(key_file), ok=False)
    assert done.returncode == 1
    assert done.stderr.startswith("farmtrace: refused: 422: lot code LJ-CAB-0001 is already in use")
    # ... and a key the ledger never saw is refused as unauthenticated.
    stranger = cli.cwd / "stranger.key"
    cli.run("party-key", "F430124-000777", "--out", str(stranger))
    done = cli.run("event", str(cli.cwd / "event.json"), "--key", str(stranger), ok=False)
    assert done.returncode == 1 and done.stderr.startswith(
        "farmtrace: refused: 401: party F430124-000777 has no registered key"
    )

    # Several events in one upload: a list in one file, the next event in another. The certificate
    # and the split follow the harvest and the certificate, neither of them recorded beforehand.
    place = {"name": "金洲镇 李家冲"}
    certify = {
        "kind": "certify",
        "location": place,
        "inputs": [{"lot": "LJ-CAB-0002", "quantity": "60", "unit": "kg"}],
        "detail": {
            "certificate_no": "HGZ-430124-LJ-0002",
            "product_name": "包菜",
            "origin": "湖南省长沙市宁乡市金洲镇",
            "commitments": ["no_banned_substances", "withdrawal_period_observed", "residues_within_limits"],
            "contact": "0731-0000000",
        },
    }
    split = {
        "kind": "transform",
        "location": place,
        "inputs": [{"lot": "LJ-CAB-0002", "quantity": "60", "unit": "kg"}],
        "outputs": [
            {"lot": f"LJ-CAB-0002-{x}", "quantity": "30", "unit": "kg", "product": {"name_zh": "包菜"}}
            for x in "AB"
        ],
        "detail": {"type": "split"},
    }
    harvest = event | {"outputs": [event["outputs"][0] | {"lot": "LJ-CAB-0002", "quantity": "60"}]}
    (cli.cwd / "day.json").write_text(json.dumps([harvest, certify], ensure_ascii=False))
    (cli.cwd / "split.json").write_text(json.dumps(split, ensure_ascii=False))
    out = cli.run("event", str(cli.cwd / "day.json"), str(cli.cwd / "split.json"), "--key", str(key_file))
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [set(x) for x in lines] == [{"event_id", "index", "size", "duplicate"}] * 3
    assert [x["index"] for x in lines] == [lines[0]["index"] + k for k in range(3)]
    lot = Client(cli.server, key=load_party_key(str(key_file))).lot("LJ-CAB-0002-B")
    assert lot["holders"] == {NEW_FARM: "30"} and lot["head"] == lines[2]["event_id"]
    # Refused events are listed in order; the exit status is 1 and stderr names the first.
    # (Other quantities: other events than the recorded ones even within the same second.)
    harvest_again = event | {"outputs": [event["outputs"][0] | {"lot": "LJ-CAB-0002", "quantity": "61"}]}
    (cli.cwd / "bad.json").write_text(json.dumps([harvest_again, again], ensure_ascii=False))
    done = cli.run("event", str(cli.cwd / "bad.json"), "--key", str(key_file), ok=False)
    assert done.returncode == 1
    assert [json.loads(line)["problem"]["rule"] for line in done.stdout.splitlines()] == ["lot_exists"] * 2
    assert done.stderr.startswith("farmtrace: refused: 2 of 2 events; the first, event 0: 422: lot code LJ-CAB-0002")
    # A file that is not JSON sends nothing.
    (cli.cwd / "broken.json").write_text("[{")
    done = cli.run("event", str(cli.cwd / "broken.json"), "--key", str(key_file), ok=False)
    assert done.returncode == 1 and done.stderr.startswith(f"farmtrace: {cli.cwd / 'broken.json'}: ")
    (cli.cwd / "numbers.json").write_text("[1, 2]")
    done = cli.run("event", str(cli.cwd / "numbers.json"), "--key", str(key_file), ok=False)
    assert done.returncode == 1 and "expected a JSON object (an event) or a list of them" in done.stderr

    # The farm's administration, by the regulator: its record, a second key (rotation), the old key
    # revoked after a lost phone, and at last a suspension. Each is a ledger entry.
    def party(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return cli.run("party", *args, "--server", cli.server, ok=ok)

    shown = json.loads(party("show", NEW_FARM).stdout)
    assert shown["id"] == NEW_FARM and "private" not in shown
    done = party("show", NEW_FARM, "--private", ok=False)
    assert done.returncode == 2 and "--private needs --key" in done.stderr
    shown = json.loads(party("show", NEW_FARM, "--private", "--key", cli.key("regulator")).stdout)
    assert "private" in shown
    new_key = cli.cwd / "farm-2.key"
    made = cli.run("party", "key", NEW_FARM, "--out", str(new_key)).stdout  # local: no server
    (cli.cwd / "farm-2.json").write_text(made.splitlines()[-1])
    new_public = json.loads((cli.cwd / "farm-2.json").read_text())
    out = party("key-add", NEW_FARM, str(cli.cwd / "farm-2.json"), "--key", cli.key("regulator")).stdout
    assert out.startswith(f"added key {new_public['key_id']} to {NEW_FARM} at ledger index ")
    out = party(
        "key-revoke", NEW_FARM, public["key_id"], "--reason", "手机丢失", "--key", cli.key("regulator")
    ).stdout
    assert out.startswith(f"revoked key {public['key_id']} of {NEW_FARM} at ledger index ")
    third = event | {"outputs": [event["outputs"][0] | {"lot": "LJ-CAB-0003"}]}
    (cli.cwd / "third.json").write_text(json.dumps(third, ensure_ascii=False))
    done = cli.run("event", str(cli.cwd / "third.json"), "--key", str(key_file), ok=False)
    assert done.returncode == 1 and "was revoked at" in done.stderr
    cli.run("event", str(cli.cwd / "third.json"), "--key", str(new_key))
    out = party("suspend", NEW_FARM, "--reason", "停业整顿", "--key", cli.key("regulator")).stdout
    assert out.startswith(f"suspended {NEW_FARM} at ledger index ")
    fourth = event | {"outputs": [event["outputs"][0] | {"lot": "LJ-CAB-0004"}]}
    (cli.cwd / "fourth.json").write_text(json.dumps(fourth, ensure_ascii=False))
    done = cli.run("event", str(cli.cwd / "fourth.json"), "--key", str(new_key), ok=False)
    assert done.returncode == 1 and f"party {NEW_FARM} is suspended" in done.stderr
    # Only a regulator administers parties.
    done = party("suspend", NEW_FARM, "--reason", "x", "--key", str(new_key), ok=False)
    assert done.returncode == 1 and done.stderr.startswith("farmtrace: refused: 422: ")

    # The whole ledger audits clean, against the configured log key.
    out = cli.run("verify").stdout
    size = httpx.get(f"{cli.server}/ledger/checkpoint").text.splitlines()[1]
    assert out.startswith("log farmtrace.local/log: OK: ")
    assert f"(log size {size})" in out


def test_verify_fails_with_exit_1_after_tampering(cli: Cli) -> None:
    import sqlite3

    db = sqlite3.connect(cli.data / "farmtrace.db")
    try:
        (entry,) = db.execute("SELECT entry FROM ledger_entry WHERE idx = 20").fetchone()
        db.execute("UPDATE ledger_entry SET entry = ? WHERE idx = 20", (entry.replace(b"kg", b"KG", 1),))
        db.commit()
    finally:
        db.close()
    done = cli.run("verify", ok=False)
    assert done.returncode == 1
    assert done.stdout.startswith(
        "log farmtrace.local/log: FAILED: entry 20 does not match the hash the log recorded"
    )
