"""The console's compliance pages over HTTP (no browser): regulators only, both languages, every
party's counts, one party's items with the evidence each cites and whether the public sees it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from farmtrace.client import PartyKey

from ..clock_support import PINNED_AT, PinnedClock
from .consumer_support import demo_app


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compliance")
    app, demo = demo_app(tmp, clock=PinnedClock(PINNED_AT))
    keys = {name: PartyKey.load(tmp / "keys" / f"{name}.key") for name in demo["parties"]}
    with TestClient(app) as client:
        yield client, keys, demo["parties"]


def _cookie(key: PartyKey) -> dict[str, str]:
    return {"Cookie": f"ft_token={key.token(now=PINNED_AT)}"}


def _cells(page: str, party: str) -> dict[str, str]:
    row = re.search(rf'<tr data-party="{party}">(.*?)</tr>', page, re.S).group(1)
    found = dict(re.findall(r'data-count="(\w+)">(?:<span class="badge bad">)?(\d+)', row))
    found["public"] = re.search(r"data-public-total>(\d+)<", row).group(1)
    return found


@pytest.mark.parametrize("path", ["/console/compliance", "/console/compliance/{coop}"])
def test_the_compliance_pages_are_for_regulators_only(site, path):
    client, keys, parties = site
    url = path.format(coop=parties["coop"])
    for headers in ({}, _cookie(keys["coop"]), _cookie(keys["shop"])):
        client.cookies.clear()
        r = client.get(url, headers=headers)
        assert r.status_code == 403 and "无权访问" in r.text
        assert "有机磷" not in r.text  # nothing of any record
    assert client.get(url, headers=_cookie(keys["regulator"])).status_code == 200


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_party_is_listed_with_its_counts_in_both_languages(site, lang):
    client, keys, parties = site
    r = client.get("/console/compliance", params={"lang": lang}, headers=_cookie(keys["regulator"]))
    page = r.text
    assert r.status_code == 200 and f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in page
    assert ("征信" if lang == "zh" else "Compliance records") in page
    assert all(f'data-party="{p}"' in page for p in parties.values())
    coop = _cells(page, parties["coop"])
    assert (coop["failed_test"], coop["refused"], coop["recall"], coop["public"]) == ("1", "1", "0", "1")
    farm = _cells(page, parties["farm"])
    assert (farm["recall"], farm["public"]) == ("1", "1")
    market = _cells(page, parties["market"])
    assert (market["refused"], market["public"]) == ("1", "0")  # a refusal is not in the public summary
    assert 'aria-current="page"' in re.search(r'<a href="/console/compliance[^"]*"[^>]*>', page).group(0)
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert url.startswith(("/", "#", "?", "data:")), url


def test_a_partys_items_cite_their_evidence_and_say_what_the_public_sees(site):
    client, keys, parties = site
    coop = parties["coop"]
    r = client.get(f"/console/compliance/{coop}", params={"lang": "en"}, headers=_cookie(keys["regulator"]))
    page = r.text
    assert r.status_code == 200
    rows = re.findall(r'<tr data-category="(\w+)">(.*?)</tr>', page, re.S)
    assert [c for c, _ in rows] == ["failed_test", "refused"]
    failed, refused = rows[0][1], rows[1][1]
    event = re.search(
        r'href="/events/([0-9a-f]{64})" data-evidence>Signed event · ledger entry (\d+)<', failed
    )
    assert event is not None and "NX-XBC-1120" in failed and "Shown" in failed
    signed = client.get(f"/events/{event.group(1)}").json()
    assert signed["index"] == int(event.group(2)) and signed["event"]["detail"]["result"] == "fail"
    refusal = re.search(r'href="(/compliance/refusals/\d+)" data-evidence>', refused)
    assert refusal is not None and "not in the log" in refused and "Not shown" in refused
    stored = client.get(refusal.group(1), headers=_cookie(keys["regulator"]))
    assert stored.status_code == 200 and stored.json()["party"] == coop
    assert f"/exports/compliance.csv?lang=en&amp;party={coop}" in page
    zh = client.get(f"/console/compliance/{coop}", headers=_cookie(keys["regulator"])).text
    assert "检测不合格" in zh and "不在账本中" in zh and "签名事件 · 账本第" in zh
    # The refusal in the reader's words (the rule's name and meaning); the rules' English sentence
    # stays as evidence, marked as English.
    assert "封存批次流转" in zh and '<span class="small code" lang="en">lot NX-XBC-1120 failed' in zh


def test_a_clean_record_an_unknown_party_and_a_malformed_id(site):
    client, keys, parties = site
    h = _cookie(keys["regulator"])
    page = client.get(f"/console/compliance/{parties['shop']}", headers=h).text
    assert "data-none" in page and "该主体没有任何记录" in page
    assert client.get("/console/compliance/F430124-999999", headers=h).status_code == 404
    r = client.get("/console/compliance/not-a-party!", headers=h)
    assert r.status_code == 400 and "party_id" in r.text


def test_the_parties_page_links_each_party_to_its_record(site):
    client, keys, parties = site
    page = client.get("/console/parties", params={"lang": "en"}, headers=_cookie(keys["regulator"])).text
    for party in parties.values():
        assert f'href="/console/compliance/{party}?lang=en" data-compliance>Open its compliance record<' in page
