"""The trace graph's layout and SVG (web/console/graph.py), standalone: no app, no browser."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from farmtrace.trace.reads.lots import Holder, LotStatus, TraceEdge, TraceGraph, TraceNode
from farmtrace.web.console.graph import NODE_H, NODE_W, Layout, format_svg
from farmtrace.web.console.graph import layout_trace as layout_graph

from .console_support import boxes_overlap, svg_boxes

LABELS = {"recalled": "已召回", "failed": "检测不合格", "rejected": "拒收", "selected": "当前"}
SVG = "{http://www.w3.org/2000/svg}"


def node(lot: str, **status: bool) -> dict:
    return {
        "lot": lot,
        "product": "宁乡包菜",
        "quantity": "10",
        "unit": "kg",
        "created_by": "F430124-000123",
        "created_by_name": "张记家庭农场",
        "holders": [{"party": "F430124-000123", "name": "张记家庭农场", "quantity": "10"}],
        "status": {"failed": False, "recalled": False, "rejected": False, "cleared": True, **status},
    }


def story_one(**status: bool) -> dict:
    """Story 1's recall reach: a harvest lot split into 50, one of which is repacked into 10 bags."""
    nodes = [node("NX-BC-1120", **status)]
    edges = []
    for i in range(1, 51):
        nodes.append(node(f"MWD-BC-{i:02d}", **status))
        edges.append({"from": "NX-BC-1120", "to": f"MWD-BC-{i:02d}", "quantity": "10 kg"})
    for i in range(1, 11):
        nodes.append(node(f"XF-BAG-{i:04d}", **status))
        edges.append({"from": "MWD-BC-01", "to": f"XF-BAG-{i:04d}", "quantity": "1 kg"})
    return {"lot": "NX-BC-1120", "nodes": nodes, "edges": edges}


def typed(trace: dict) -> TraceGraph:
    """A trace written here as its JSON form (easy to vary), as the TraceGraph the console draws."""
    nodes = tuple(
        TraceNode(
            lot=n["lot"],
            product=n["product"],
            product_en=None,
            quantity=n["quantity"],
            unit=n["unit"],
            created_by=n["created_by"],
            created_by_name=n["created_by_name"],
            created_at="2026-11-20T00:00:00Z",
            origin=False,
            status=LotStatus(**n["status"]),
            holders=tuple(Holder(**h) for h in n["holders"]),
            direction="self",
        )
        for n in trace["nodes"]
    )
    edges = tuple(TraceEdge(e["from"], e["to"], e["quantity"]) for e in trace["edges"])
    return TraceGraph(lot=trace["lot"], direction="both", nodes=nodes, edges=edges, origins=())


def layout_trace(trace: dict) -> Layout:
    return layout_graph(typed(trace))


def draw(trace: dict) -> str:
    return str(format_svg(layout_trace(trace), labels=LABELS, href=lambda c: f"/console/lots/{c}", title="t"))


def assert_readable(svg: str, trace: dict) -> None:
    """Every lot drawn once, no two boxes overlapping, everything inside the picture."""
    root = ET.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    boxes = svg_boxes(svg)
    assert set(boxes) == {n["lot"] for n in trace["nodes"]}
    items = sorted(boxes.items())
    for i, (a, box_a) in enumerate(items):
        x, y, w, h = box_a
        assert (w, h) == (NODE_W, NODE_H)
        assert x >= 0 and x + w <= width and y >= 0 and y + h <= height, a
        for b, box_b in items[i + 1 :]:
            assert not boxes_overlap(box_a, box_b), (a, b)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "lot"]
    assert sorted(labels) == sorted(boxes)


def test_story_one_recall_reach_is_readable():
    trace = story_one()
    svg = draw(trace)
    assert_readable(svg, trace)
    layout = layout_trace(trace)
    # Three columns: the harvest lot, its 50 parts, the 10 bags; arrows point right.
    assert sorted({round(n.x) for n in layout.nodes.values()}) == [12, 324, 636]
    for e in layout.edges:
        p, c = layout.nodes[e.parent], layout.nodes[e.child]
        assert e.points[0] == (p.x + NODE_W, e.points[0][1]) and p.y <= e.points[0][1] <= p.y + NODE_H
        assert e.points[-1] == (c.x, e.points[-1][1]) and c.y <= e.points[-1][1] <= c.y + NODE_H
    # Every edge carries its quantity; the 10 bags sit level with their parent, not at the top.
    root = ET.fromstring(svg)
    quantities = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "qty"]
    assert sorted(quantities) == sorted(["10 kg"] * 50 + ["1 kg"] * 10)
    parent = layout.nodes["MWD-BC-01"]
    bags = [layout.nodes[f"XF-BAG-{i:04d}"] for i in range(1, 11)]
    assert min(b.y for b in bags) <= parent.cy <= max(b.y + b.h for b in bags)
    # Siblings keep their code order.
    column = sorted((n for n in layout.nodes.values() if n.lot.startswith("MWD")), key=lambda n: n.y)
    assert [n.lot for n in column] == [f"MWD-BC-{i:02d}" for i in range(1, 51)]


def test_quantity_labels_do_not_collide():
    layout = layout_trace(story_one())
    spots = sorted((round(e.label_at[0]), round(e.label_at[1])) for e in layout.edges)
    for (x1, y1), (x2, y2) in itertools.pairwise(spots):
        assert x1 != x2 or abs(y1 - y2) >= 12, ((x1, y1), (x2, y2))


def test_selected_lot_is_highlighted_and_statuses_marked_three_ways():
    trace = story_one()
    trace["nodes"][1]["status"]["recalled"] = True  # MWD-BC-01
    trace["nodes"][2]["status"]["failed"] = True  # MWD-BC-02
    trace["nodes"][3]["status"]["rejected"] = True  # MWD-BC-03
    root = ET.fromstring(draw(trace))
    nodes = {a.get("data-lot"): a for a in root.iter(f"{SVG}a")}
    assert nodes["NX-BC-1120"].get("class") == "node selected"
    assert [k for k, a in nodes.items() if "selected" in a.get("class")] == ["NX-BC-1120"]
    assert nodes["NX-BC-1120"].find(f"{SVG}rect").get("stroke-width") == "3.5"
    for lot, flag in (("MWD-BC-01", "recalled"), ("MWD-BC-02", "failed"), ("MWD-BC-03", "rejected")):
        a = nodes[lot]
        assert flag in a.get("class").split()
        rect = a.find(f"{SVG}rect")
        assert rect.get("fill") == f"url(#ft-hatch-{flag})"  # colour and pattern
        status = next(t for t in a.iter(f"{SVG}text") if t.get("class") == "status")
        assert LABELS[flag] in status.text  # and words
        assert LABELS[flag] in a.get("aria-label")
    assert {p.get("id") for p in root.iter(f"{SVG}pattern")} == {
        "ft-hatch-recalled",
        "ft-hatch-failed",
        "ft-hatch-rejected",
    }
    # Edges into a flagged lot are drawn red and dashed.
    edge = next(p for p in root.iter(f"{SVG}path") if p.get("data-to") == "MWD-BC-01")
    assert edge.get("stroke") == "#a3001b" and edge.get("stroke-dasharray")


def test_texts_are_escaped_and_no_style_attributes():
    trace = {
        "lot": "EVIL-0001",
        "nodes": [
            {
                **node("EVIL-0001"),
                "product": '"><svg onload=alert(1)>',
                "created_by_name": "<script>x</script>",
            },
            {**node("EVIL-0002"), "product": "</text><script>alert(2)</script>"},
        ],
        "edges": [{"from": "EVIL-0001", "to": "EVIL-0002", "quantity": "<b>1</b> kg"}],
    }
    svg = str(
        format_svg(
            layout_trace(trace), labels=LABELS, href=lambda c: f"/x?a=1&b={c}", title='<title>"t"</title>'
        )
    )
    root = ET.fromstring(svg)  # well-formed: nothing broke out of its element
    assert "<script" not in svg and "<svg onload" not in svg and "<b>" not in svg
    assert len(re.findall(r"<title>", svg)) == 1 + 2  # the picture's and each box's, none injected
    assert " style=" not in svg  # a strict CSP would block style attributes
    products = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "product"]
    assert any(p.startswith('"><svg') for p in products)
    assert {a.get("href") for a in root.iter(f"{SVG}a")} == {"/x?a=1&b=EVIL-0001", "/x?a=1&b=EVIL-0002"}
    qty = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "qty")
    assert qty.text == "<b>1</b> kg"


def test_long_product_names_are_shortened_to_fit_the_box():
    trace = {
        "lot": "A",
        "nodes": [{**node("A"), "product": "非常非常非常非常非常非常非常长的产品名称" * 2}],
        "edges": [],
    }
    root = ET.fromstring(draw(trace))
    product = next(t for t in root.iter(f"{SVG}text") if t.get("class") == "product")
    assert product.text.endswith("…") and len(product.text) <= 17  # 16 CJK × 12 px fit 200 px
    assert "非常非常非常非常非常非常非常长的产品名称" in next(root.iter(f"{SVG}a")).get("aria-label")


def test_an_edge_skipping_a_layer_bends_around_the_boxes_between():
    # A merge of a fresh lot (layer 0) with a processed one (layer 1): the long edge gets a waypoint.
    trace = {
        "lot": "M",
        "nodes": [node("A"), node("B"), node("C"), node("M")],
        "edges": [
            {"from": "A", "to": "B", "quantity": "10 kg"},
            {"from": "B", "to": "M", "quantity": "10 kg"},
            {"from": "C", "to": "M", "quantity": "5 kg"},
            {"from": "A", "to": "C", "quantity": "5 kg"},
            {"from": "A", "to": "M", "quantity": "1 kg"},
        ],
    }
    layout = layout_trace(trace)
    assert_readable(draw(trace), trace)
    long = next(e for e in layout.edges if (e.parent, e.child) == ("A", "M"))
    assert len(long.points) == 3  # parent, one waypoint, child
    wx, wy = long.points[1]
    for n in layout.nodes.values():
        assert not (n.x <= wx <= n.x + NODE_W and n.y <= wy <= n.y + NODE_H), n.lot


def test_the_layout_is_deterministic():
    assert draw(story_one()) == draw(story_one())


@st.composite
def dags(draw_):
    n = draw_(st.integers(1, 40))
    lots = [f"L{i:03d}" for i in range(n)]
    edges = set()
    for child in range(1, n):
        for parent in draw_(st.sets(st.integers(0, child - 1), max_size=3)):
            edges.add((lots[parent], lots[child]))
    pick = draw_(st.integers(0, n - 1))
    return {
        "lot": lots[pick],
        "nodes": [node(c) for c in lots],
        "edges": [{"from": p, "to": c, "quantity": "1 kg"} for p, c in sorted(edges)],
    }


@settings(max_examples=60, deadline=None)
@given(dags())
def test_any_lineage_is_drawn_readably(trace):
    svg = draw(trace)
    assert_readable(svg, trace)
    layout = layout_trace(trace)
    for e in layout.edges:  # every arrow points right
        assert layout.nodes[e.child].x > layout.nodes[e.parent].x
