"""Livestock in the regulator's exports (trace/exports.py, issue 20 §5), through HTTP on the pork
story: the CSV and XLSX of a pork lot's trace carry each certificate's number, name, official vet and
validity, the animals' ear tag count and live weight, and the slaughter's 肉品品质检验合格证 and live
weight (bizStep killing); the lot page and the console name the new kind and unit in words."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from farmtrace.client import PartyKey

from ..trace.story import ANIMAL_CERT, MEAT_CERT, PRODUCT_CERT, REGULATOR, START, actor
from .test_livestock_page import PORK_LOT, site  # noqa: F401 - the pork story's app


@pytest.fixture(scope="module")
def console(site):  # noqa: F811
    client, app = site
    regulator = actor(REGULATOR)
    key = PartyKey.from_seed(regulator.party, regulator.seed)
    client.cookies.set("ft_token", key.token(origin="test.local/livestock", now=START + timedelta(hours=3)))
    yield client, app
    client.cookies.clear()


def _csv(client, lang: str = "zh") -> list[dict[str, str]]:
    r = client.get("/console/exports/lot", params={"code": PORK_LOT, "fmt": "csv", "lang": lang})
    assert r.status_code == 200, r.text[:300]
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_the_csv_carries_the_certificates_and_the_animals(console):
    client, _ = console
    rows = _csv(client)
    quarantine = {r["证明编号"]: r for r in rows if r["事件类型"] == "quarantine"}
    assert set(quarantine) == {ANIMAL_CERT, PRODUCT_CERT}
    animal = quarantine[ANIMAL_CERT]
    assert animal["证明名称"] == "动物检疫合格证明（动物B）" and animal["官方兽医"] == "王建国"
    assert animal["耳标数"] == "3" and animal["单位"] == "head" and animal["业务步骤"] == "inspecting"
    assert animal["有效期至"].startswith("2026-11-21T") and animal["有效期至"][10:] == animal["事件时间"][10:]
    assert (
        quarantine[PRODUCT_CERT]["证明名称"] == "动物检疫合格证明（产品B）"
        and quarantine[PRODUCT_CERT]["耳标数"] == ""
    )
    slaughter = [r for r in rows if r["业务步骤"] == "killing"]
    assert {r["批次角色"] for r in slaughter} == {"input", "output"}
    assert {(r["证明编号"], r["证明名称"], r["活重（千克）"]) for r in slaughter} == {
        (MEAT_CERT, "肉品品质检验合格证", "345")
    }
    (harvest,) = [r for r in rows if r["事件类型"] == "harvest"]
    assert (harvest["数量"], harvest["单位"], harvest["耳标数"], harvest["活重（千克）"]) == (
        "3",
        "head",
        "3",
        "345",
    )


def test_the_workbook_has_the_columns_in_english_with_numbers_as_numbers(console):
    client, _ = console
    r = client.get("/console/exports/lot", params={"code": PORK_LOT, "fmt": "xlsx", "lang": "en"})
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(values_only=True))
    header = list(values[0])
    for name in (
        "Certificate no.",
        "Certificate",
        "Official veterinarian",
        "Valid until",
        "Ear tags (count)",
    ):
        assert name in header
    (table,) = ws.tables.values()
    assert table.ref == f"A1:W{len(values)}"
    harvest = next(v for v in values[1:] if v[header.index("Event")] == "harvest")
    assert harvest[header.index("Ear tags (count)")] == 3 and harvest[header.index("Live weight (kg)")] == 345


def test_the_console_lot_page_counts_in_head(console):
    client, _ = console
    page = client.get("/console/lots/PIG-001").text
    assert "<dd>3 头</dd>" in page.replace("\n", "") or "3 头</dd>" in page
    assert ">3 头 · " in page or ">3 头<" in page  # the graph's box, in words too
    en = client.get("/console/lots/PIG-001?lang=en").text
    assert "3 head" in en
