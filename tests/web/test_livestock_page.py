"""Livestock on the consumer page (issue 20 §5), through HTTP: a pork lot's page names the pig farm's
animals (head count, ear tags folded under their count, live weight), each 动物检疫合格证明 (form,
number, official vet, issued and valid until, destination, purpose), and the slaughter (the
slaughterhouse, live weight, the outputs' kg, the yield, the 肉品品质检验合格证), in zh and en; the
journey's facts from the Python and JavaScript twins agree on it (trace/journey_facts.py, facts.js).

The chain is tests/trace/story.py's `pork_story`, signed and recorded through TraceService.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from farmtrace.api.app import create_app
from farmtrace.api.settings import Settings
from farmtrace.ledger.note import Signer
from farmtrace.trace.journey_facts import journey_facts
from farmtrace.trace.verify_journey import check_journey

from ..trace.story import (
    ANIMAL_CERT,
    EAR_TAGS,
    MEAT_CERT,
    PRODUCT_CERT,
    START,
    Ledger,
    pork_story,
    register_all,
)
from ..trace.test_replay import _entry, _genesis, record
from .js.node import node

LOG_SIGNER = Signer.from_seed("test.local/livestock", b"\x0b" * 32)
PORK_LOT = "PORK-001-L1"  # the stall's 20 kg of foreleg, split from a carcass half
FACTS = "async ([j, k]) => FarmtraceFacts.factsOf(j, await FarmtraceVerify.checkJourney(j, k))"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("livestock")
    lg = Ledger()
    register_all(lg)  # the market the pork story ships to
    pork_story(lg)
    settings = Settings.from_env(
        {},
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        log_key=LOG_SIGNER.key_string(),
        log_origin="test.local/livestock",
    )
    app = create_app(settings, clock=lambda: START + timedelta(hours=3))
    record(app.state.service, [_genesis(), *(_entry(e) for e, _ in lg.log)])
    with TestClient(app) as client:
        yield client, app
    app.state.log.close(close_store=True)


def _text(page: str) -> str:
    """The page's visible text, one line per element (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"\s*<[^>]+>\s*", "\n", page))


def _step(page: str, kind: str, kind_type: str | None = None) -> str:
    """The text of the server-painted step(s) of `kind` (a transform: of type `kind_type`)."""
    marker = f'data-kind="{kind}"' + (f' data-type="{kind_type}"' if kind_type else "")
    found = [m.start() for m in re.finditer(re.escape(marker), page)]
    assert found, marker
    return "\n".join(_text(page[at : page.index("</li>", at)]) for at in found)


def test_the_pork_page_names_the_quarantine_certificates(site):
    client, _ = site
    r = client.get(f"/l/{PORK_LOT}")
    assert r.status_code == 200
    quarantine = _step(r.text, "quarantine")
    assert f"动物检疫合格证明（动物B），编号 {ANIMAL_CERT}" in quarantine
    assert f"动物检疫合格证明（产品B），编号 {PRODUCT_CERT}" in quarantine
    assert "官方兽医：王建国" in quarantine and "用途：屠宰" in quarantine
    assert "猪 3 头" in quarantine and "产品：白条肉，130 kg" in quarantine
    assert "到达地点：长沙市生猪定点屠宰厂" in quarantine
    # issued at the event's time, valid one day (valid_days "1"), as recorded
    issued = re.search(r"签发 (\S+ \S+)，有效期至 (\S+ \S+)", quarantine)
    assert issued and issued[1][:10] == "2026-11-20" and issued[2] == "2026-11-21" + issued[1][10:]
    assert ">动物检疫<" in r.text  # the kind's name, never the raw code


def test_the_pork_page_shows_the_slaughter_and_its_yield(site):
    client, _ = site
    page = client.get(f"/l/{PORK_LOT}").text
    slaughter = _step(page, "transform", "slaughter")
    assert "屠宰" in slaughter and "定点屠宰厂：长沙市生猪定点屠宰厂" in slaughter
    assert "屠宰 3 头，宰前活重 345 kg" in slaughter
    assert "产出 2 批，共 258.5 kg：PORK-001-L、PORK-001-R" in slaughter
    assert "出肉率 74.9%" in slaughter  # 258.5 / 345 = 74.93 %
    assert f"肉品品质检验合格证编号：{MEAT_CERT}" in slaughter


def test_the_pork_page_shows_the_animals_with_their_ear_tags_folded(site):
    client, _ = site
    page = client.get(f"/l/{PORK_LOT}").text
    harvest = _step(page, "harvest")
    assert "出栏 3 头" in harvest and "活重 345 kg" in harvest
    folded = re.search(
        r'<details class="ear-tags"><summary>([^<]*)</summary><p class="code">([^<]*)</p>', page
    )
    assert folded and folded[1] == "耳标号（3 个）" and folded[2].split() == EAR_TAGS


def test_the_pork_page_in_english(site):
    client, _ = site
    page = client.get(f"/l/{PORK_LOT}?lang=en").text
    assert f"Animal quarantine certificate (animals, B), no. {ANIMAL_CERT}" in _step(page, "quarantine")
    assert f"Animal quarantine certificate (products, B), no. {PRODUCT_CERT}" in page
    assert "Official veterinarian: 王建国" in page and "valid until 2026-11-21" in page
    slaughter = _step(page, "transform", "slaughter")
    assert "3 head slaughtered, live weight 345 kg" in slaughter and "Yield 74.9%" in slaughter
    assert f"Meat quality inspection certificate no. {MEAT_CERT}" in slaughter
    assert "3 head of livestock" in page and "Ear tags (3)" in page
    assert ">Animal quarantine<" in page and ">Slaughter<" in page


def test_the_pig_lots_page_counts_in_head(site):
    client, _ = site
    page = client.get("/l/PIG-001").text
    assert re.search(r"<dd>3 头</dd>", page)
    assert "出栏 3 头" in page and f"编号 {ANIMAL_CERT}" in page
    origin = page[page.index('class="card origin"') :]
    assert "<dt>养殖场</dt>" in origin and "<dt>出栏日期</dt>" in origin and "<dt>地块</dt>" not in origin


def test_only_a_livestock_page_loads_the_livestock_script_and_words(site):
    client, _ = site
    page = client.get(f"/l/{PORK_LOT}").text
    config = json.loads(
        re.search(r'<script type="application/json" id="ft-config">(.*?)</script>', page, re.S)[1]
    )
    assert "facts-livestock.js" in page and config["messages"]["kind.quarantine"] == "动物检疫"
    assert config["messages"]["detail.quarantine.form.product_b"] == "动物检疫合格证明（产品B）"
    assert "动物检疫" not in client.get("/static/words-zh.js").text  # every page's words stay as they were
    # A lot of story 1 (cabbage) would not load it: tests/web/test_pages.py test_pages_are_small.


@pytest.fixture(scope="module")
def js():
    with node("codec.js", "vmap.js", "completeness.js", "verify.js", "facts.js") as process:
        yield process


@pytest.mark.parametrize("lot", [PORK_LOT, "PIG-001", "PORK-001-L"])
def test_the_twins_agree_on_the_pork_journey(site, js, lot):
    _, app = site
    service = app.state.service
    journey = json.loads(json.dumps(service.journey_bundle(lot).to_wire()))
    key = service.log.verifier.key_string()
    python = journey_facts(journey, check_journey(journey, log_key=key))
    assert js.evaluate(FACTS, [journey, key]) == python
    assert python["proven"] and python["unproven"] == []
    harvest = next(s for s in python["steps"] if s["kind"] == "harvest")
    assert harvest["outputs"] == [
        {"lot": "PIG-001", "quantity": "3", "unit": "head", "ear_tags": EAR_TAGS, "live_weight": "345"}
    ]
    numbers = [s["detail"]["certificate_no"] for s in python["steps"] if s["kind"] == "quarantine"]
    assert numbers == ([ANIMAL_CERT] if lot == "PIG-001" else [ANIMAL_CERT, PRODUCT_CERT])
