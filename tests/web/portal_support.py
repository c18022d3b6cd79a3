"""What the portal's browser tests share: servers, phones with their own keys, and the regulator's desk.

Each phone is a Playwright browser context of its own (its own IndexedDB, so its own key), at a
phone's viewport, in China's time zone. A party's key gets into a phone the two ways the portal
offers: enrollment (the key is generated in that browser) or a key file imported once
(`farmtrace demo` and `farmtrace init` write such files). The regulator approves applications the
way a regulator without the console would: with the Python client, signing party.register /
party.key_add / party.key_revoke with its own key file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import Client, PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.trace.model.ids import uscc_check_char

from .consumer_support import LOG_SIGNER, PHONE, REPO

ARTIFACTS = REPO / "test-artifacts" / "portal"
SETTLE = 15_000  # ms: the longest a step of a form may take on this machine

__all__ = [
    "ARTIFACTS",
    "approve_all",
    "field_error",
    "genesis_app",
    "new_phone",
    "open_form",
    "shot",
    "sign_in_with_key_file",
    "submit",
    "uscc",
]


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def shot(page, name: str) -> Path:
    """A full-page screenshot kept as a test artefact (test-artifacts/portal/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_phone(browser, *, locale: str = "zh-CN"):
    """A phone: a fresh browser context (its own IndexedDB) and a page that records script errors."""
    ctx = browser.new_context(**PHONE, locale=locale, timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.set_default_timeout(SETTLE)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on(
        "console",
        lambda m: page.errors.append(m.text) if m.type == "error" and "Content Security" in m.text else None,
    )
    return ctx, page


def sign_in_with_key_file(page, base: str, key_file: Path, *, lang: str = "zh") -> None:
    """Import a key file on the sign-in page; the page signs in by itself and opens "My lots"."""
    page.goto(f"{base}/portal?lang={lang}")
    page.locator("#no-key summary").first.click()
    page.set_input_files("#f-keyfile", str(key_file))
    page.wait_for_url("**/portal/lots**")


def open_form(page, base: str, kind: str, *, lang: str = "zh", **params: str) -> None:
    query = "&".join([f"lang={lang}", *(f"{k}={v}" for k, v in params.items())])
    page.goto(f"{base}/portal/{kind}?{query}")
    page.wait_for_selector("html[data-portal-ready]", state="attached")


def submit(page, form: str = "#event-form") -> str:
    """Press the form's button; return "ok" once recorded or "refused" once an error shows."""
    page.locator(f"{form} button[type=submit]").click()
    ok = page.locator(".form-ok:not([hidden])")
    refused = page.locator(f"{form} .form-error:not([hidden])")
    ok.or_(refused).first.wait_for()
    return "ok" if ok.count() else "refused"


def field_error(page, path: str, form: str = "#event-form"):
    """The error slot of the input that fills event path `path` (data-field lists it)."""
    return page.locator(f'{form} [data-field~="{path}"] > .error').first


def genesis_app(tmp_path: Path, port: int):
    """A fresh app whose ledger holds only the first regulator, as `farmtrace init` makes it.

    Returns (app, the regulator's PartyKey, its key file).
    """
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        public_url=f"http://127.0.0.1:{port}",
    )
    app = create_app(settings)
    regulator = PartyKey.generate(uscc("11430100MB0000009"))
    key_file = tmp_path / "regulator.key"
    regulator.save(key_file)
    record = {
        "id": regulator.party,
        "id_type": "uscc",
        "name_zh": "长沙市市场监督管理局",
        "roles": ["regulator"],
        "address": "湖南省长沙市岳麓区岳麓大道218号",
        "keys": [regulator.public_record_key()],
        "contact_commitment": "0" * 64,
    }
    wire = {
        "kind": "party.register",
        "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
        "location": {"name": "登记窗口"},
        "inputs": [],
        "outputs": [],
        "detail": {"party": record},
    }
    app.state.service.record_genesis(regulator.sign(wire))  # as `farmtrace init` does
    return app, regulator, key_file


def applications(base: str, regulator: PartyKey) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{base}/parties/applications",
        headers={"Authorization": f"FarmTrace {regulator.token()}"},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()


def approve_all(base: str, regulator: PartyKey, *, revoke: dict[str, str] | None = None) -> list[str]:
    """Approve every pending application (as the regulator, with its key file); return the party ids.

    `revoke` maps a party id to a key id to revoke before its new key is added (a lost device).
    """
    client = Client(base, key=regulator)
    done = []
    for a in applications(base, regulator):
        place = {"name": "长沙市市场监督管理局登记窗口"}
        if a["kind"] == "register":
            client.record({"kind": "party.register", "location": place, "detail": {"party": a["record"]}})
        else:
            party = a["record"]["party_id"]
            if revoke and party in revoke:
                client.record(
                    {
                        "kind": "party.key_revoke",
                        "location": place,
                        "detail": {
                            "party_id": party,
                            "key_id": revoke[party],
                            "reason": "设备丢失 / device lost",
                        },
                    }
                )
            client.record({"kind": "party.key_add", "location": place, "detail": a["record"]})
        done.append(a["party_id"])
    return done
