"""The GS1-conformant resolver (web/resolver.py) over HTTP: the consumer's Digital Link URI answers
linkType requests, serves an RFC 9264 linkset that validates against GS1's linkset schema, redirects
to each link, describes itself at /.well-known/gs1resolver, and refuses a malformed GTIN with a 400
that names it (a page in Chinese or English for a person, problem+json for a client)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from fastapi.testclient import TestClient

from farmtrace.client import PartyKey
from farmtrace.client.client import CHINA_STANDARD_TIME
from farmtrace.web.labels.uri import label_uri

from .consumer_support import close_app, demo_app

ROOT = "http://127.0.0.1:8000"  # demo_app's public URL: what labels encode, the resolver's root
GTIN = "06901234567892"
BAG = "XF-BAG-0001"
LINK = f"/01/{GTIN}/10/{BAG}"
GS1 = "https://ref.gs1.org/voc/"
LINKSET = "application/linkset+json"
VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "gs1-linkset"
SCHEMA = json.loads((VECTORS / "gs1-linkset-schema.json").read_text())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resolver")
    app, _ = demo_app(tmp)
    with TestClient(app) as client:
        yield client, tmp
    close_app(app)


@pytest.fixture
def client(site):
    return site[0]


def _path(href: str) -> str:
    """An absolute link on the resolver's root as the path (and query) to GET through the client."""
    assert href.startswith(ROOT + "/"), href
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _linkset(client, lot: str = BAG, **kwargs) -> dict:
    r = client.get(f"/01/{GTIN}/10/{lot}", **kwargs)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == LINKSET
    return r.json()


# --- the page, unchanged --------------------------------------------------------------------------------


def test_without_a_link_type_the_uri_is_still_the_consumer_page(client):
    page, short = client.get(LINK), client.get(f"/l/{BAG}")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    # The same page as the short form, but for the language switch, which links the path it is on.
    assert page.text.replace(LINK, f"/l/{BAG}") == short.text
    assert "宁乡包菜" in page.text and 'data-state="pending"' in page.text
    # §2.9: the page links its linkset; it varies with Accept now (a linkset for linkset+json).
    link = page.headers["link"]
    assert link == f'<{ROOT}{LINK}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'
    assert {"Accept", "Accept-Language"} <= {v.strip() for v in page.headers["vary"].split(",")}
    assert page.headers["cache-control"] == "no-cache" and page.headers["access-control-allow-origin"] == "*"
    # A trailing slash is tolerated (§2.13); HEAD and OPTIONS are answered (§5).
    assert client.get(LINK + "/").text.replace(LINK + "/", LINK) == page.text
    assert client.head(LINK).status_code == 200
    options = client.options(LINK)
    assert options.status_code == 204 and "OPTIONS" in options.headers["access-control-allow-methods"]


# --- the linkset ---------------------------------------------------------------------------------------


def test_the_linkset_is_an_rfc9264_linkset_that_gs1s_schema_accepts(client):
    jsonschema.validate(json.loads((VECTORS / "valid-gs1-example.json").read_text()), SCHEMA)
    with pytest.raises(jsonschema.ValidationError):  # the schema check can fail
        jsonschema.validate(json.loads((VECTORS / "invalid-gs1-example.json").read_text()), SCHEMA)

    r = client.get(LINK + "?linkType=linkset")
    assert r.status_code == 200 and r.headers["content-type"] == LINKSET
    assert "http://www.w3.org/ns/json-ld#context" in r.headers["link"]
    body = r.json()
    jsonschema.validate(body, SCHEMA)
    (context,) = body["linkset"]
    assert context["anchor"] == label_uri(BAG, base=ROOT, gtin=GTIN)
    assert context["itemDescription"] == f"宁乡包菜 {BAG}"
    for rel, targets in context.items():
        if rel in ("anchor", "itemDescription"):
            continue
        assert rel.startswith(GS1) and isinstance(targets, list) and targets
        for target in targets:
            assert target["title"] and set(target) <= {"href", "title", "type", "hreflang"}
    types = {rel.removeprefix(GS1) for rel in context} - {"anchor", "itemDescription"}
    assert types == {"defaultLink", "pip", "traceability", "epcis", "certificationInfo", "recallStatus"}
    # §2.5.8: one default link, a title and nothing else; its target is also the gs1:pip link.
    (default,) = context[GS1 + "defaultLink"]
    assert set(default) == {"href", "title"} and default["href"] in [p["href"] for p in context[GS1 + "pip"]]

    # The same linkset by Accept header and by the deprecated linkType=all; English on request.
    assert _linkset(client, headers={"accept": LINKSET}) == body
    assert _linkset(client, params={"linkType": "all"}) == body
    english = _linkset(client, params={"linkType": "linkset"}, headers={"accept-language": "en"})
    assert english["linkset"][0]["itemDescription"] == f"Ningxiang cabbage {BAG}"
    # §2.10: the same answer for application/json, typed as asked.
    plain = client.get(LINK + "?linkType=linkset", headers={"accept": "application/json"})
    assert plain.headers["content-type"] == "application/json" and plain.json() == body


def test_every_link_in_the_linkset_resolves(client):
    context = _linkset(client, params={"linkType": "linkset"})["linkset"][0]
    seen = {}
    for rel, targets in context.items():
        if rel in ("anchor", "itemDescription"):
            continue
        for target in targets:
            r = client.get(_path(target["href"]))
            assert r.status_code == 200, (rel, target["href"], r.text[:200])
            if "type" in target:
                assert r.headers["content-type"].split(";")[0] == target["type"], rel
            seen[rel.removeprefix(GS1)] = r
    assert "宁乡包菜" in seen["pip"].text
    assert seen["traceability"].json()["lot"] == BAG
    assert seen["epcis"].json()["type"] == "EPCISDocument"
    # The certificate is the lineage's 合格证, as the EPCIS form of its certify event.
    (cert,) = context[GS1 + "certificationInfo"]
    number = re.search(r"HGZ-[0-9-]+", cert["title"]).group(0)
    assert number in seen["certificationInfo"].text
    assert seen["recallStatus"].json() == {
        "lot": BAG,
        "recalled": False,
        "recalls": [],
        "tree_size": seen["recallStatus"].json()["tree_size"],
        "journey": f"/lots/{BAG}/journey",
    }


@pytest.mark.parametrize(
    "term", ["defaultLink", "pip", "traceability", "epcis", "certificationInfo", "recallStatus"]
)
def test_each_link_type_redirects_to_its_link_with_the_query_passed_on(client, term):
    (target,) = _linkset(client, params={"linkType": "linkset"})["linkset"][0][GS1 + term]
    for spelling in (f"gs1:{term}", f"{GS1}{term}", f"https://gs1.org/voc/{term}"):  # §2.14
        r = client.get(LINK, params={"linkType": spelling, "lang": "en"}, follow_redirects=False)
        assert r.status_code == 307, (spelling, r.status_code)
        location = r.headers["location"]
        assert location.split("?")[0] == target["href"]
        assert "lang=en" in location and "linkType=" in location  # §2.12: the whole query string
        assert 'rel="linkset"' in r.headers["link"]


@pytest.mark.parametrize("link_type", ["gs1:nosuchlt", "gs1:", "example:pip", "defaultLinkMulti"])
def test_a_link_type_the_lot_does_not_have_is_404(client, link_type):
    r = client.get(LINK, params={"linkType": link_type}, follow_redirects=False)
    assert r.status_code == 404 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "没有这类信息" in r.text and BAG in r.text
    en = client.get(LINK, params={"linkType": link_type, "lang": "en"})
    assert en.status_code == 404 and "No such information" in en.text
    api = client.get(LINK, params={"linkType": link_type}, headers={"accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert BAG in api.json()["detail"]


def test_an_unknown_lot_or_another_products_gtin_is_still_404(client):
    for path in (f"/01/{GTIN}/10/NO-SUCH-LOT", "/01/06901234567885/10/XF-BAG-0001"):
        assert client.get(path).status_code == 404
        assert client.get(path, params={"linkType": "linkset"}).status_code == 404
        r = client.get(path, headers={"accept": LINKSET})
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    # A well-formed Digital Link this resolver knows nothing about (§5.8): 404, not 400.
    assert client.get(f"/01/{GTIN}/21/serial").status_code == 404
    assert client.get(f"/01/{GTIN}").status_code == 404


# --- malformed Digital Links: 400 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "zh", "en"),
    [
        ("06901234567893", "校验位应为 2，这里是 3", "should be 2, not 3"),
        ("0690123456789", "校验位", None),  # a valid length (GTIN-13), a wrong check digit
        ("069012345678920", "这里是 15 位", "it has 15"),
        ("069012345678", "校验位", None),
        ("6901234567", "这里是 10 位", "it has 10"),
        ("69O1234567892", "只能由数字组成", "digits only"),
        ("abc", "只能由数字组成", "digits only"),
    ],
)
def test_a_malformed_gtin_is_400_with_the_reason(client, gtin, zh, en):
    path = f"/01/{gtin}/10/{BAG}"
    page = client.get(path)
    assert page.status_code == 400 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert "商品条码无效" in page.text and gtin in page.text and zh in page.text
    english = client.get(path, headers={"accept-language": "en"})
    assert (
        english.status_code == 400 and "Not a valid product barcode" in english.text and gtin in english.text
    )
    problem = client.get(path, headers={"accept": "application/json"})
    assert problem.status_code == 400 and problem.headers["content-type"] == "application/problem+json"
    body = problem.json()
    assert body["status"] == 400 and body["field"] == "gtin" and gtin in body["detail"]
    if en:
        assert en in body["detail"] and en in english.text
    # Also without a lot: the GTIN is read first.
    assert client.get(f"/01/{gtin}").status_code == 400


def test_a_malformed_lot_or_path_is_400(client):
    for path in (f"/01/{GTIN}/10/" + "X" * 21, f"/01/{GTIN}/10/", f"/01/{GTIN}/foo", f"/01/{GTIN}/21"):
        r = client.get(path, headers={"accept": "application/problem+json"})
        assert r.status_code == 400, path
        assert r.json()["field"] in ("lot", "path")
        assert client.get(path).status_code == 400


# --- the resolver description ---------------------------------------------------------------------------


def test_the_well_known_resolver_description(client):
    r = client.get("/.well-known/gs1resolver")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["access-control-allow-origin"] == "*"
    d = r.json()
    assert set(d) == {
        "name",
        "resolverRoot",
        "supportedPrimaryKeys",
        "supportedLinkType",
        "linkTypeDefaultCanBeLinkset",
        "jsonLdContextLocation",
    }
    assert d["resolverRoot"] == ROOT and d["supportedPrimaryKeys"] == ["01"]
    assert d["supportedLinkType"] == [{"namespace": GS1, "prefix": "gs1:"}]
    assert d["linkTypeDefaultCanBeLinkset"] is False and isinstance(d["name"], str)
    # The root and the primary key it declares are where the labels' Digital Links resolve.
    assert label_uri(BAG, base=d["resolverRoot"], gtin=GTIN).endswith(LINK)
    assert client.options("/.well-known/gs1resolver").status_code == 204


# --- the recall status, through the write path -------------------------------------------------------------


def test_the_recall_status_reflects_a_recall_recorded_over_http(site):
    client, tmp = site
    bag, harvest = "XF-BAG-0002", "NX-BC-1120"
    status = client.get(f"/01/{GTIN}/10/{bag}", params={"linkType": "gs1:recallStatus"})  # followed
    assert status.status_code == 200 and status.json()["recalled"] is False

    # The regulator recalls the harvest lot the bag was packed from: a signed event, POST /events.
    regulator = PartyKey.load(tmp / "keys" / "regulator.key")
    lot = client.get(f"/lots/{harvest}").json()
    reason = "复检发现农残超标 / Residues over the limit on re-test"
    wire = {
        "kind": "recall",
        "event_time": datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds"),
        "location": {"name": "长沙市市场监督管理局"},
        "inputs": [
            {"lot": harvest, "quantity": lot["quantity"], "unit": lot["unit"], "follows": [lot["head"]]}
        ],
        "outputs": [],
        "detail": {"reason": reason, "instructions": "请停止食用 / Stop eating it"},
    }
    entry = base64.b64encode(regulator.sign(wire)).decode()
    receipt = client.post("/events", json={"entry": entry})
    assert receipt.status_code == 201, receipt.text

    status = client.get(f"/01/{GTIN}/10/{bag}", params={"linkType": "gs1:recallStatus"}).json()
    assert status["recalled"] is True
    (recall,) = status["recalls"]
    assert (
        recall["event"] == receipt.json()["event_id"]
        and recall["lot"] == harvest
        and recall["reason"] == reason
    )
    assert status["tree_size"] == receipt.json()["size"]
    assert client.get(recall["epcis"]).status_code == 200
    # The linkset still points at it, and the page says it too.
    (target,) = _linkset(client, bag, params={"linkType": "linkset"})["linkset"][0][GS1 + "recallStatus"]
    assert client.get(_path(target["href"])).json() == status
    assert client.get(f"/lots/{bag}/recallstatus", headers={"accept": "application/json"}).json() == status
    assert "召回" in client.get(f"/01/{GTIN}/10/{bag}").text


def test_a_type_the_lot_lacks_is_404_and_two_certificates_are_300(site):
    """A new lot harvested over HTTP has no certificate: gs1:certificationInfo is 404. With two
    certificates, nothing in the request chooses one: 300, listing both as a linkset (§2.6.3)."""
    client, tmp = site
    coop = PartyKey.load(tmp / "keys" / "coop.key")
    lot = "NX-RES-0001"
    link = f"/01/{GTIN}/10/{lot}"

    def post(wire: dict) -> str:
        wire = {"inputs": [], "outputs": [], **wire}
        wire["event_time"] = datetime.now(CHINA_STANDARD_TIME).isoformat(timespec="seconds")
        r = client.post("/events", json={"entry": base64.b64encode(coop.sign(wire)).decode()})
        assert r.status_code == 201, r.text
        return r.json()["event_id"]

    product = {"name_zh": "宁乡包菜", "name_en": "Ningxiang cabbage", "gtin": GTIN}
    post(
        {
            "kind": "harvest",
            "location": {"name": "金洲镇 3 号蔬菜基地"},
            "outputs": [{"lot": lot, "quantity": "40", "unit": "kg", "product": product}],
            "detail": {"origin": {"name": "金洲镇 3 号蔬菜基地"}},
        }
    )
    assert (
        GS1 + "certificationInfo" not in _linkset(client, lot, params={"linkType": "linkset"})["linkset"][0]
    )
    r = client.get(link, params={"linkType": "gs1:certificationInfo"}, follow_redirects=False)
    assert r.status_code == 404 and "gs1:certificationInfo" in r.text

    numbers = ["HGZ-430124-20261207-101", "HGZ-430124-20261207-102"]
    for number in numbers:
        head = client.get(f"/lots/{lot}").json()["head"]
        post(
            {
                "kind": "certify",
                "location": {"name": "金洲镇 3 号蔬菜基地"},
                "inputs": [{"lot": lot, "quantity": "40", "unit": "kg", "follows": [head]}],
                "detail": {
                    "certificate_no": number,
                    "product_name": "宁乡包菜",
                    "origin": "湖南省长沙市宁乡市",
                    "commitments": ["no_banned_substances", "withdrawal_period_observed"],
                    "contact": "刘建国",
                },
            }
        )
    r = client.get(link, params={"linkType": "gs1:certificationInfo"}, follow_redirects=False)
    assert r.status_code == 300 and r.headers["content-type"] == LINKSET
    jsonschema.validate(r.json(), SCHEMA)
    (context,) = r.json()["linkset"]
    assert set(context) == {"anchor", "itemDescription", GS1 + "certificationInfo"}
    certificates = context[GS1 + "certificationInfo"]
    assert sorted(re.search(r"HGZ-[0-9-]+", c["title"]).group(0) for c in certificates) == numbers
    for c in certificates:
        assert client.get(_path(c["href"])).status_code == 200
