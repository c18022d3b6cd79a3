"""The portal's form for an official veterinarian's 动物检疫合格证明 (issue 20 §5), through HTTP: offered
to a veterinarian in zh and en with the four forms, refused to other roles, asking for a session; the
event it signs (built here as static/portal-forms.js builds it) is recorded by POST /events, appears
on the consumer page, and a second certificate under the same number is refused with the portal's
words for the quarantine rule."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import Signer
from farmtrace.trace import scenario as sc

from ..trace.story import ABATTOIR, EAR_TAGS, NAMES, PIG_FARM, START, VET, Ledger, actor, pork_story, said_by
from ..trace.test_replay import _entry, _genesis, record

ORIGIN = "test.local/livestock-portal"
LOG_SIGNER = Signer.from_seed(ORIGIN, b"\x0c" * 32)
NOW = START + timedelta(hours=3)


def _key(pid: str) -> PartyKey:
    a = actor(pid)
    return PartyKey.from_seed(a.party, a.seed)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("livestock-portal")
    lg = pork_story(Ledger(), until="harvest")  # three pigs, not yet certified
    settings = Settings.from_env(
        {}, data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", log_key=LOG_SIGNER.key_string(),
        log_origin=ORIGIN,
    )  # fmt: skip
    app = create_app(settings, clock=lambda: NOW)
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
    with TestClient(app) as client:
        yield client, app
    app.state.log.close(close_store=True)


def _get(client: TestClient, path: str, who: str | None = None):
    client.cookies.clear()
    if who is not None:
        client.cookies.set("ft_token", _key(who).token(origin=ORIGIN, now=NOW))
    return client.get(path, follow_redirects=False)


def test_the_form_is_offered_to_a_veterinarian_in_both_languages(portal):
    client, _ = portal
    zh = _get(client, "/portal/quarantine?lot=PIG-001", VET)
    assert zh.status_code == 200 and "出具动物检疫合格证明" in zh.text and 'data-form="quarantine"' in zh.text
    for form in ("动物A", "动物B", "产品A", "产品B"):
        assert f"动物检疫合格证明（{form}）" in zh.text
    assert re.search(r'<option value="animal_b" selected>', zh.text) and 'value="PIG-001"' in zh.text
    assert 'href="/portal/quarantine?lang=zh"' in zh.text  # in the veterinarian's menu
    en = _get(client, "/portal/quarantine?lang=en", VET)
    assert en.status_code == 200 and "Issue an animal quarantine certificate" in en.text
    assert (
        "Animal quarantine certificate (products, B)" in en.text
        and "Ear tags (animal certificates)" in en.text
    )


def test_the_form_is_refused_to_other_roles_and_needs_a_session(portal):
    client, _ = portal
    denied = _get(client, "/portal/quarantine", PIG_FARM)
    assert denied.status_code == 403 and "官方兽医（动物卫生监督机构）" in denied.text
    assert 'href="/portal/quarantine' not in _get(client, "/portal/lots", PIG_FARM).text
    assert _get(client, "/portal/quarantine").status_code == 303


def _certificate(number: str, *, minutes: int) -> dict:
    """The wire event static/portal-forms.js builds from the form (animal_b, the three pigs)."""
    said = sc.quarantine(
        [{"lot": "PIG-001", "quantity": "3", "unit": "head", "follows": []}],
        form="animal_b", certificate_no=number, owner=NAMES[PIG_FARM], species="猪", purpose="屠宰",
        origin="湖南省长沙市宁乡市花明楼镇", destination=NAMES[ABATTOIR], official_vet="王建国",
        ear_tags=EAR_TAGS, transport="road", vehicle="湘A·D1234",
    )  # fmt: skip
    return said_by(VET, said, time=START + timedelta(minutes=minutes))


def _post(client: TestClient, app, wire: dict):
    wire["inputs"][0]["follows"] = [app.state.service.lot_summary("PIG-001").head]
    entry = base64.b64encode(_key(VET).sign(wire)).decode()
    auth = {"Authorization": "FarmTrace " + _key(VET).token(origin=ORIGIN, now=NOW)}
    client.cookies.clear()
    return client.post("/events", json={"entry": entry}, headers=auth)


def test_the_signed_certificate_is_recorded_and_shown_and_its_number_is_not_reused(portal):
    client, app = portal
    r = _post(client, app, _certificate("4301820099", minutes=60))
    assert r.status_code in (200, 201), r.text
    page = client.get("/l/PIG-001").text
    assert "动物检疫合格证明（动物B），编号 4301820099" in page and "官方兽医：王建国" in page
    again = _post(client, app, _certificate("4301820099", minutes=61))
    assert again.status_code == 422 and again.json()["rule"] == "quarantine", again.text
