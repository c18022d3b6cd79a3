"""The first regulator comes from the operator, never from the network (issue 14).

After `farmtrace init` without `--regulator-id`, the first anonymous POST /events could register
itself as the regulator. Now the genesis entry (the first regulator's party.register of itself) is
recorded by `farmtrace init --regulator-id` on the machine, or accepted over HTTP only when signed
with the bootstrap key the operator named (FARMTRACE_BOOTSTRAP_KEY / FARMTRACE_BOOTSTRAP_KEY_FILE).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.cli import main
from farmtrace.api.settings import ConfigError, Settings
from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME

from ..trace.story import COOP, REGULATOR, party_wire, private_key

PROBLEM = "application/problem+json"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with no FARMTRACE_ setting pointing anywhere else; the data directory inside it."""
    for name in list(os.environ):
        if name.startswith("FARMTRACE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FARMTRACE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _genesis(key: PartyKey) -> bytes:
    record = party_wire(key.party) | {"roles": ["regulator"], "keys": [key.public_record_key()]}
    wire = {
        "kind": "party.register",
        "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
        "location": {"name": "登记窗口"},
        "inputs": [],
        "outputs": [],
        "detail": {"party": record},
    }
    return key.sign(wire)


def _post(client: TestClient, entry: bytes):
    return client.post("/events", json={"entry": base64.b64encode(entry).decode()})


def _refused_genesis(r) -> dict:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert (body["rule"], body["field"]) == ("genesis", "key_id")
    return body


def test_after_a_bare_init_nobody_becomes_regulator_over_http(elsewhere: Path, capsys) -> None:
    assert main(["init"]) == 0
    with TestClient(create_app(Settings.from_env())) as client:
        p = _refused_genesis(_post(client, _genesis(PartyKey(REGULATOR, private_key(REGULATOR)))))
        assert "no bootstrap key is configured" in p["detail"]
        assert client.get("/parties").json() == []
        assert client.get("/ledger/checkpoint").text.split("\n")[1] == "0"  # nothing entered the log


def test_init_with_a_regulator_registers_it_on_the_machine(elsewhere: Path, capsys) -> None:
    key_file = elsewhere / "regulator.key"
    address = ["--regulator-address", "湖南省长沙市岳麓区岳麓大道218号"]
    status = main(["init", "--regulator-id", REGULATOR, "--regulator-key", str(key_file), *address])
    out = capsys.readouterr().out
    assert status == 0 and f"first regulator {REGULATOR} registered at ledger index 0" in out
    regulator = PartyKey.load(key_file)
    with TestClient(create_app(Settings.from_env())) as client:
        assert [p["id"] for p in client.get("/parties").json()] == [REGULATOR]
        # The regulator it made registers the others, over HTTP.
        wire = {
            "kind": "party.register",
            "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
            "location": {"name": "登记窗口"},
            "inputs": [],
            "outputs": [],
            "detail": {"party": party_wire(COOP)},
        }
        assert _post(client, regulator.sign(wire)).status_code == 201
    # A second init with a regulator is refused: the first exists.
    again = ["init", "--regulator-id", REGULATOR, "--regulator-key", str(elsewhere / "again.key"), *address]
    assert main(again) == 2


def test_init_with_a_regulator_needs_its_address(elsewhere: Path, capsys) -> None:
    key_file = elsewhere / "regulator.key"
    assert main(["init", "--regulator-id", REGULATOR, "--regulator-key", str(key_file)]) == 2
    assert "--regulator-address" in capsys.readouterr().err
    assert not key_file.exists()  # no key is kept for a regulator that was not registered


@pytest.mark.parametrize("form", ["variable", "file: base64", "file: party-key JSON"])
def test_the_bootstrap_key_lets_that_key_alone_register_over_http(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys, form: str
) -> None:
    chosen = PartyKey(REGULATOR, private_key(REGULATOR))
    public = chosen.public_record_key()
    if form == "variable":
        monkeypatch.setenv("FARMTRACE_BOOTSTRAP_KEY", public["public_key"])
    else:
        path = elsewhere / "bootstrap.pub"
        path.write_text(json.dumps(public) if "JSON" in form else public["public_key"] + "\n")
        monkeypatch.setenv("FARMTRACE_BOOTSTRAP_KEY_FILE", str(path))
    assert main(["init"]) == 0
    with TestClient(create_app(Settings.from_env())) as client:
        # Another key claiming the seat (even for the same party id) is refused ...
        impostor = PartyKey(REGULATOR, private_key(REGULATOR, 1))
        p = _refused_genesis(_post(client, _genesis(impostor)))
        assert f"not key {impostor.key_id}" in p["detail"]
        # ... the key the operator named is accepted, once.
        r = _post(client, _genesis(chosen))
        assert r.status_code == 201 and r.json()["index"] == 0, r.text
        assert [p["id"] for p in client.get("/parties").json()] == [REGULATOR]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"FARMTRACE_BOOTSTRAP_KEY": "not base64!"}, "FARMTRACE_BOOTSTRAP_KEY must be the base64"),
        ({"FARMTRACE_BOOTSTRAP_KEY": base64.b64encode(bytes(31)).decode()}, "found 31 bytes"),
        ({"FARMTRACE_BOOTSTRAP_KEY_FILE": "/nonexistent/bootstrap.pub"}, "cannot be read"),
    ],
)
def test_a_bad_bootstrap_key_is_a_configuration_error_naming_it(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Settings.from_env(env).bootstrap_keys()
