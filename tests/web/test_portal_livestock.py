"""The portal's forms for livestock (issue 20 §5), through HTTP: a pig farm harvests in head (头) with
ear tags and a live weight, splits and ships its animals; a slaughterhouse receives them under the
动物检疫合格证明 and slaughters them into meat by mass with its 肉品品质检验合格证. The pages offer what
each needs in zh and en (the head unit, the ear tags, the animals a lot holds, the slaughter only to a
processor, the label activation page in the menu); the events are built here as
static/portal-forms.js and static/portal-livestock.js build them, signed, and recorded by POST
/events, or refused at the field the page would mark."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta

import pytest
import rfc8785
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.client import PartyKey
from farmtrace.ledger.note import Signer
from farmtrace.trace import scenario as sc
from farmtrace.web.portal.routes import NAV_ROLES

from ..trace.story import (
    ABATTOIR,
    ANIMAL_CERT,
    EAR_TAGS,
    PIG_FARM,
    PIGS,
    START,
    VET,
    Ledger,
    actor,
    pork_story,
    said_by,
)
from ..trace.test_replay import _entry, _genesis, record

ORIGIN = "test.local/portal-livestock"
LOG_SIGNER = Signer.from_seed(ORIGIN, b"\x1c" * 32)
NOW = START + timedelta(hours=3)
NEW_PIGS = [f"1430182{n:08d}" for n in (11, 12, 13, 14)]
MEAT = {"name_zh": "宁乡花猪 白条肉", "category": "肉类"}


def _key(pid: str) -> PartyKey:
    a = actor(pid)
    return PartyKey.from_seed(a.party, a.seed)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal-livestock")
    lg = pork_story(
        Ledger(), until="ship"
    )  # three pigs, certified (动物B), on their way to the slaughterhouse
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


def _post(client: TestClient, app, who: str, said: dict, *, minutes: int):
    """Sign `said` as `who` at START + minutes, each input following its lot's head, and POST it.

    Signed over its RFC 8785 bytes as the browser signs (static/signing.js), unparsed: a malformed
    event reaches the server as a page that skipped its own checks would send it."""
    for ref in said.get("inputs", []):
        ref["follows"] = [app.state.service.lot_summary(ref["lot"]).head]
    key = _key(who)
    wire = {
        **said_by(who, said, time=START + timedelta(minutes=minutes)),
        "party": key.party,
        "key_id": key.key_id,
        "v": 1,
    }
    entry = base64.b64encode(key.sign_canonical(rfc8785.dumps(wire))).decode()
    client.cookies.clear()
    auth = {"Authorization": "FarmTrace " + _key(who).token(origin=ORIGIN, now=NOW)}
    return client.post("/events", json={"entry": entry}, headers=auth)


def _nav(text: str) -> list[str]:
    return re.findall(r'<li><a href="/portal/([a-z_]+)\?lang=(?:zh|en)"', text)


def _option(text: str, lot: str) -> str:
    """The <option> of holding `lot` in a form's lot select."""
    found = re.search(rf'<option value="{re.escape(lot)}"[^>]*>', text)
    assert found, lot
    return html.unescape(found.group(0))


def test_the_harvest_form_offers_head_with_ear_tags_and_live_weight(portal):
    client, _ = portal
    zh = _get(client, "/portal/harvest", PIG_FARM)
    assert zh.status_code == 200 and '<option value="head">头</option>' in zh.text
    assert 'data-when-unit="head" hidden' in zh.text  # shown by the page once 头 is chosen
    assert 'data-field="outputs[0].ear_tags"' in zh.text and 'name="ear_tags"' in zh.text
    assert 'data-field="outputs[0].live_weight"' in zh.text and "活重（公斤）" in zh.text
    assert "活畜可按头计价，也可按活重每公斤计价。" in zh.text
    en = _get(client, "/portal/harvest?lang=en", PIG_FARM)
    assert '<option value="head">head</option>' in en.text and "Live weight (kg)" in en.text
    assert "One per head, 15 digits" in en.text


def test_the_menu_names_label_activation_for_the_roles_that_may_activate(portal):
    client, _ = portal
    farm = _get(client, "/portal/lots", PIG_FARM).text
    assert _nav(farm)[-2:] == ["label_activate", "import"] and ">激活标签</a>" in farm
    assert ">Activate labels</a>" in _get(client, "/portal/lots?lang=en", ABATTOIR).text
    assert "label_activate" not in _nav(
        _get(client, "/portal/lots", VET).text
    )  # an official vet labels nothing
    assert NAV_ROLES["label_activate"] == frozenset({"producer", "processor", "wholesaler", "retailer"})


def test_a_harvest_of_pigs_is_recorded_with_its_ear_tags_and_a_miscount_is_refused(portal):
    client, app = portal

    def harvest(lot: str, quantity: str, tags: list[str]) -> dict:
        out = {**sc.out(lot, quantity, PIGS, unit="head"), "ear_tags": tags, "live_weight": "460.5"}
        # Priced per kg of live weight (活重): the rules accept a mass unit's price on a head lot.
        return sc.harvest([out], origin={"name": "花猪养殖场 2 号栏"}, price=sc.price("15.8", "production"))

    short = _post(client, app, PIG_FARM, harvest("PIG-002", "3", NEW_PIGS[:2]), minutes=30)
    assert short.status_code == 400 and short.json()["field"] == "outputs[0].ear_tags", short.text
    assert "3 head need 3 ear tags, found 2" in short.json()["detail"]
    r = _post(client, app, PIG_FARM, harvest("PIG-002", "4", NEW_PIGS), minutes=31)
    assert r.status_code in (200, 201), r.text
    page = client.get("/l/PIG-002").text
    assert "出栏 4 头" in page and "活重 460.5 kg" in page
    # The farm's forms now list the animals of its head lot; a farm is offered no slaughter.
    transform = _get(client, "/portal/transform", PIG_FARM).text
    assert _option(transform, "PIG-002").endswith(
        f'data-animals="{" ".join(NEW_PIGS)}" data-live-weight="460.5">'
    )
    assert 'value="slaughter"' not in transform and 'name="out_tags"' in transform
    ship = _get(client, "/portal/ship?lot=PIG-002", PIG_FARM).text
    assert "PIG-002 · 宁乡花猪 · 4 头" in ship and '<option value="head">头</option>' in ship
    # A split names each new lot's animals; one naming an animal of another lot is refused at its field.
    split = sc.split(
        [sc.ref("PIG-002", "4", "head")],
        [
            {**sc.out("PIG-002-A", "1", PIGS, unit="head"), "ear_tags": [EAR_TAGS[0]]},
            {**sc.out("PIG-002-B", "3", PIGS, unit="head"), "ear_tags": NEW_PIGS[1:]},
        ],
    )
    wrong = _post(client, app, PIG_FARM, split, minutes=32)
    assert wrong.status_code == 422 and wrong.json()["rule"] == "ear_tag", wrong.text
    assert wrong.json()["field"] == "outputs[0].ear_tags[0]"
    split["outputs"][0]["ear_tags"] = [NEW_PIGS[0]]
    r = _post(client, app, PIG_FARM, split, minutes=33)
    assert r.status_code in (200, 201), r.text
    lots = _get(client, "/portal/transform", PIG_FARM).text
    assert _option(lots, "PIG-002-A").endswith(f'data-animals="{NEW_PIGS[0]}" data-live-weight="115.125">')


def test_the_slaughterhouse_receives_the_pigs_and_slaughters_them(portal):
    client, app = portal
    receive = _get(client, "/portal/receive", ABATTOIR).text
    assert "待收 3 头（共发 3 头）" in receive and "实收数量 (头)" in receive and 'value="3"' in receive
    assert f'<span class="code">{ANIMAL_CERT}</span> · 动物检疫合格证明（动物B） · 猪' in receive
    assert f'<option value="{ANIMAL_CERT}">' in receive  # offered for the entry check's certificate no.
    ship_event = re.search(r'data-ship-event="([0-9a-f]{64})"', receive).group(1)
    said = sc.receive(
        [sc.ref("PIG-001", "3", "head")], source=PIG_FARM, ship_event=ship_event, certificate_no=ANIMAL_CERT
    )
    r = _post(client, app, ABATTOIR, said, minutes=60)
    assert r.status_code in (200, 201), r.text

    for lang, says in (("zh", ("屠宰", "宰前活重（公斤）", "肉品品质检验合格证编号", ">肉类</option>")),
                       ("en", ("Slaughter", "Live weight before slaughter (kg)", ">Meat</option>"))):  # fmt: skip
        page = _get(client, f"/portal/transform?lang={lang}", ABATTOIR).text
        assert 'value="slaughter"' in page and all(s in page for s in says), lang
        assert 'data-field="detail.live_weight"' in page and 'data-field="detail.certificate_no"' in page
    assert _option(page, "PIG-001").endswith(f'data-animals="{" ".join(EAR_TAGS)}" data-live-weight="345">')
    assert '"yieldBands":{"1":["60","82"]' in page  # pigs: 60 to 82 % of live weight
    assert '"weightBand":["85","105"]' in page  # of the recorded live weight

    def slaughter(left: str, right: str) -> dict:
        outs = [sc.out("PORK-9-L", left, MEAT), sc.out("PORK-9-R", right, MEAT)]
        return sc.slaughter([sc.ref("PIG-001", "3", "head")], outs, live_weight="345", certificate_no="RP-9")

    low = _post(client, app, ABATTOIR, slaughter("90", "90"), minutes=70)  # 52 %: meat missing
    assert (
        low.status_code == 422 and low.json()["rule"] == "mass_balance" and low.json()["field"] == "outputs"
    )
    r = _post(client, app, ABATTOIR, slaughter("130", "128.5"), minutes=71)
    assert r.status_code in (200, 201), r.text
    assert "出肉率 74.9%" in client.get("/l/PORK-9-L").text
