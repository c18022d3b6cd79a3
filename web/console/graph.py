# size: one algorithm (the four steps of the docstring) and its one drawing, over PlacedNode/Layout
"""A lot's lineage drawn as a graph: a layered left-to-right layout, rendered as self-contained SVG.

    layout_trace(trace) -> Layout     a TraceGraph (trace/reads/lots.py) placed on a plane
    format_svg(layout, *, labels, href) -> Markup     the layout as an <svg> element

The layout is the classic layered drawing of a DAG (Sugiyama et al.), kept small:

  1. layers: each lot's generation, the longest path to it from a lot with no parent in the graph,
     so every edge points right; an edge spanning several layers gets a waypoint in each layer it
     crosses, which takes a slot there like a (thin) node, so long edges never run through boxes;
  2. order within layers: barycentre sweeps (down, up, down, up), ties broken by lot code, which
     untangles splits and merges;
  3. vertical positions: each node wants to sit level with the mean of its neighbours in the layer
     before (then, sweeping back, the layer after); the nearest placement that keeps the order and
     the minimum gap is an isotonic regression (pool adjacent violators), so boxes never overlap;
  4. edges: smooth cubic curves, horizontal where they leave and enter boxes; a quantity label sits
     at the end where it cannot collide with a sibling's (the child's side for a split, the parent's
     for a merge).

Readable at any size: boxes and fonts keep their size (12 px text, 216 × 52 px boxes) and the SVG
grows instead — the page scrolls it. A story-1 recall (61 lots: 1 → 50 → 10) is 3 columns and
about 2,900 px tall.

Status is shown three ways, so it survives grey-scale printing and colour blindness: a fill colour,
a hatch pattern, and words on the box ("Recalled", "Failed test", "Rejected"). Every text is
escaped; the SVG uses presentation attributes only (no style attribute, which a strict
Content-Security-Policy would block), and each box links to `href(lot)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup, escape

from farmtrace.trace.reads.lots import TraceGraph, TraceNode

__all__ = ["NODE_H", "NODE_W", "Layout", "PlacedEdge", "PlacedNode", "format_svg", "layout_trace"]

NODE_W = 216
NODE_H = 52
WAYPOINT_H = 8
V_GAP = 10
COL_GAP = 96
MARGIN = 12
FONT = 12
LABEL_FONT = 11
MAX_TEXT_W = NODE_W - 16
FLAGS = ("recalled", "failed", "rejected")
# (fill, stroke, hatch colour) per flag; the first flag a lot has decides its box.
_STYLE = {
    "recalled": ("#fdecee", "#a3001b", "#e8a0aa"),
    "failed": ("#fff1e0", "#b34d00", "#f0b27a"),
    "rejected": ("#f3ecf9", "#6a1b9a", "#c9a8e0"),
}
_PLAIN = ("#ffffff", "#7b8794")
_SELECTED = ("#e8f1fb", "#1f4e79")
_FONTS = 'system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif'
_MONO = 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace'


@dataclass
class PlacedNode:
    lot: str
    layer: int
    x: float
    y: float
    w: float
    h: float
    data: TraceNode | None = None  # None for a waypoint
    waypoint: bool = False  # a bend of a long edge, not a lot

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class PlacedEdge:
    parent: str
    child: str
    quantity: str | None
    points: list[tuple[float, float]]  # from the parent's right side, through waypoints, to the child
    label_at: tuple[float, float, str]  # x, y, text-anchor


@dataclass
class Layout:
    lot: str
    nodes: dict[str, PlacedNode]  # lots only
    edges: list[PlacedEdge]
    width: float
    height: float


# --- 1. layers -----------------------------------------------------------------------------------


def _layers(
    codes: list[str], parents: dict[str, list[str]], children: dict[str, list[str]]
) -> dict[str, int]:
    """Longest-path layering (Kahn's order); a cycle (never expected in lineage) is broken arbitrarily."""
    indegree = {c: len(parents[c]) for c in codes}
    layer = dict.fromkeys(codes, 0)
    ready = sorted(c for c in codes if indegree[c] == 0)
    seen = 0
    while True:
        while ready:
            c = ready.pop()
            seen += 1
            for k in children[c]:
                layer[k] = max(layer[k], layer[c] + 1)
                indegree[k] -= 1
                if indegree[k] == 0:
                    ready.append(k)
        if seen >= len(codes):
            return layer
        # A cycle: release the lowest-coded lot still waiting.
        stuck = min(c for c in codes if indegree[c] > 0)
        indegree[stuck] = 0
        ready.append(stuck)


# --- 2. order ------------------------------------------------------------------------------------


def _order(rows: list[list[str]], up: dict[str, list[str]], down: dict[str, list[str]]) -> None:
    """Barycentre sweeps in place; `up`/`down` are each item's neighbours in the previous/next layer."""

    def sweep(indexes: range, nbrs: dict[str, list[str]], ref_step: int) -> None:
        for i in indexes:
            # Items with neighbours there are sorted among the slots they hold; the others keep
            # theirs (moving them would uncross nothing, and siblings stay in code order).
            ref = {v: k for k, v in enumerate(rows[i + ref_step])}
            keys, slots = {}, []
            for k, v in enumerate(rows[i]):
                ks = [ref[n] for n in nbrs.get(v, ()) if n in ref]
                if ks:
                    keys[v] = (sum(ks) / len(ks), v)
                    slots.append(k)
            moved = sorted(keys, key=keys.__getitem__)
            for k, v in zip(slots, moved, strict=True):
                rows[i][k] = v

    for _ in range(2):
        sweep(range(1, len(rows)), up, -1)
        sweep(range(len(rows) - 2, -1, -1), down, +1)


# --- 3. positions --------------------------------------------------------------------------------


def _isotonic(values: list[float]) -> list[float]:
    """The non-decreasing sequence nearest to `values` in least squares (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [sum, count]
    for v in values:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, n = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
    out: list[float] = []
    for s, n in blocks:
        out += [s / n] * int(n)
    return out


def _place(items: list[PlacedNode], wanted_centres: list[float]) -> None:
    """Set each item's y as near its wanted centre as the order and the gaps allow."""
    offsets, acc = [], 0.0
    for it in items:
        offsets.append(acc)
        acc += it.h + V_GAP
    z = _isotonic([c - it.h / 2 - off for c, it, off in zip(wanted_centres, items, offsets, strict=True)])
    for it, zk, off in zip(items, z, offsets, strict=True):
        it.y = zk + off


# --- the whole layout --------------------------------------------------------------------------------


def layout_trace(trace: TraceGraph) -> Layout:
    """Place the nodes and edges of a trace (TraceService.trace_graph's answer). Pure and deterministic."""
    data = {n.lot: n for n in trace.nodes}
    codes = sorted(data)
    edges = [(e.parent, e.child, e.quantity) for e in trace.edges if e.parent in data and e.child in data]
    edges = sorted(set(edges))
    parents: dict[str, list[str]] = {c: [] for c in codes}
    children: dict[str, list[str]] = {c: [] for c in codes}
    for p, c, _ in edges:
        parents[c].append(p)
        children[p].append(c)
    layer = _layers(codes, parents, children)

    # Nodes, and a waypoint in every layer a long edge crosses.
    nodes: dict[str, PlacedNode] = {
        c: PlacedNode(c, layer[c], 0.0, 0.0, NODE_W, NODE_H, data[c]) for c in codes
    }
    items: dict[str, PlacedNode] = dict(nodes)
    up: dict[str, list[str]] = {c: [] for c in codes}
    down: dict[str, list[str]] = {c: [] for c in codes}
    chains: dict[tuple[str, str], list[str]] = {}
    for p, c, _ in edges:
        chain = [p]
        for k in range(layer[p] + 1, layer[c]):
            wid = f"\x00{p}\x00{c}\x00{k}"  # never a lot code (those are printable)
            items[wid] = PlacedNode(wid, k, 0.0, 0.0, 0.0, WAYPOINT_H, waypoint=True)
            up[wid], down[wid] = [], []
            chain.append(wid)
        chain.append(c)
        chains[(p, c)] = chain
        for a, b in pairwise(chain):
            down[a].append(b)
            up[b].append(a)

    depth = max(layer.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for key in sorted(items):
        rows[items[key].layer].append(key)
    _order(rows, up, down)
    _settle(rows, items, up, down)

    # Shift into the picture; columns left to right.
    top = min((it.y for it in items.values()), default=0.0)
    for it in items.values():
        it.y += MARGIN - top
        it.x = MARGIN + it.layer * (NODE_W + COL_GAP)
        if it.waypoint:
            it.x += NODE_W / 2
    height = max((it.y + it.h for it in items.values()), default=0.0) + MARGIN
    width = MARGIN * 2 + depth * NODE_W + (depth - 1) * COL_GAP

    placed: list[PlacedEdge] = []
    for p, c, qty in edges:
        pts = [(nodes[p].x + NODE_W, _port(nodes[p], children[p], c))]
        pts += [(items[w].x, items[w].cy) for w in chains[(p, c)][1:-1]]
        pts.append((nodes[c].x, _port(nodes[c], parents[c], p)))
        if len(parents[c]) == 1 or len(children[p]) > 1:
            label = (pts[-1][0] - 8, pts[-1][1] - 4, "end")  # beside the child: one label per child
        else:
            label = (pts[0][0] + 8, pts[0][1] - 4, "start")  # beside the parent
        placed.append(PlacedEdge(p, c, qty, pts, label))
    return Layout(trace.lot, nodes, placed, width, height)


def _settle(
    rows: list[list[str]],
    items: dict[str, PlacedNode],
    up: dict[str, list[str]],
    down: dict[str, list[str]],
) -> None:
    """Step 3: start stacked, then settle each layer level with its neighbours: down, up, down."""
    for row in rows:
        y = 0.0
        for key in row:
            items[key].y = y
            y += items[key].h + V_GAP

    def settle(i: int, nbrs: dict[str, list[str]]) -> None:
        row = [items[k] for k in rows[i]]
        wanted = []
        for it in row:
            ys = [items[n].cy for n in nbrs[it.lot]]
            wanted.append(sum(ys) / len(ys) if ys else it.cy)
        _place(row, wanted)

    depth = len(rows)
    for _ in range(2):
        for i in range(1, depth):
            settle(i, up)
        for i in range(depth - 2, -1, -1):
            settle(i, down)
    for i in range(1, depth):
        settle(i, up)


def _port(node: PlacedNode, others: list[str], other: str) -> float:
    """Where an edge meets a box: spread over its side when few edges do, else at mid-height."""
    n = len(others)
    if n <= 1 or n > 4:
        return node.cy
    k = sorted(others).index(other)
    return node.y + node.h * (k + 1) / (n + 1)


# --- SVG ---------------------------------------------------------------------------------------------


def _text_width(text: str, size: float) -> float:
    """A conservative width estimate: CJK and full-width characters 1 em, others 0.62 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.62 for ch in text)


def _fit(text: str, size: float, width: float = MAX_TEXT_W) -> str:
    if _text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def _path(points: list[tuple[float, float]]) -> str:
    """Cubic segments with horizontal tangents at every point."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        mid = (x0 + x1) / 2
        d.append(f"C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(d)


def format_svg(
    layout: Layout,
    *,
    labels: Mapping[str, str],
    href: Callable[[str], str],
    title: str = "",
) -> Markup:
    """The layout as an <svg> element (safe to insert into HTML as is).

    `labels` gives the words shown on boxes: "recalled", "failed", "rejected", "selected" and
    "holders" (with "{n}"), and optionally "unit.<unit>" for each unit (else its code); `href(lot)`
    the link of each box.
    """
    w, h = layout.width, layout.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trace-graph" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="{escape(_FONTS)}" font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
        "<defs>",
        '<marker id="ft-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0L10,5L0,10z" fill="#5f6b64"/></marker>',
    ]
    for flag, (fill, _, hatch) in _STYLE.items():
        out.append(
            f'<pattern id="ft-hatch-{flag}" width="8" height="8" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="8" height="8" fill="{fill}"/>'
            f'<rect width="3" height="8" fill="{hatch}"/></pattern>'
        )
    out.append("</defs>")

    # Edges first, under the boxes; their labels after the boxes' backgrounds, with a white halo.
    out.append('<g class="edges" fill="none" stroke="#5f6b64" stroke-width="1.3">')
    for e in layout.edges:
        child = layout.nodes[e.child].data
        flagged = child is not None and any(getattr(child.status, f) for f in FLAGS)
        colour = ' stroke="#a3001b" stroke-dasharray="6 3"' if flagged else ""
        out.append(
            f'<path class="edge" data-from="{escape(e.parent)}" data-to="{escape(e.child)}" '
            f'd="{_path(e.points)}" marker-end="url(#ft-arrow)"{colour}/>'
        )
    out.append("</g>")

    out.append('<g class="nodes">')
    for lot in sorted(layout.nodes):
        out.append(_node_svg(layout.nodes[lot], selected=lot == layout.lot, labels=labels, href=href))
    out.append("</g>")

    out.append(
        f'<g class="edge-labels" font-size="{LABEL_FONT}" fill="#1b1f1c" stroke="#ffffff" '
        'stroke-width="3" paint-order="stroke" stroke-linejoin="round">'
    )
    for e in layout.edges:
        if e.quantity:
            x, y, anchor = e.label_at
            out.append(
                f'<text class="qty" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
                f'data-from="{escape(e.parent)}" data-to="{escape(e.child)}">{escape(e.quantity)}</text>'
            )
    out.append("</g></svg>")
    return Markup("\n".join(out))


def _node_svg(n: PlacedNode, *, selected: bool, labels: Mapping[str, str], href: Callable[[str], str]) -> str:
    d = n.data
    assert d is not None, "a lot's box has its node"
    flags = [f for f in FLAGS if getattr(d.status, f)]
    if flags:
        fill, stroke, _ = _STYLE[flags[0]]
        fill = f"url(#ft-hatch-{flags[0]})"
    elif selected:
        fill, stroke = _SELECTED
    else:
        fill, stroke = _PLAIN
    width = 3.5 if selected else 1.5
    classes = " ".join(["node", *flags, *(["selected"] if selected else [])])
    product = d.product or ""
    qty = f"{d.quantity} {labels.get(f'unit.{d.unit}', d.unit)}".strip()  # the unit in words if given
    words = " · ".join(labels[f] for f in flags)
    tip = [n.lot, product, qty, d.created_by_name or d.created_by or ""]
    tip += [f"{x.name or x.party}: {x.quantity}" for x in d.holders]
    tip += [labels[f] for f in flags]
    x, y = n.x, n.y
    third = _fit(f"{qty} · ⚠ {words}" if words else qty, FONT)
    mark = ""
    if selected:
        mark = (
            f'<text class="mark" x="{x + NODE_W - 8:.1f}" y="{y + 17:.1f}" text-anchor="end" font-size="11" '
            f'fill="#1f4e79" font-weight="700">{escape(labels["selected"])}</text>'
        )
    # A solid band behind the texts keeps them legible over the hatch.
    band = (
        f'<rect x="{x + 4:.1f}" y="{y + 4:.1f}" width="{NODE_W - 8}" height="{NODE_H - 8}" rx="4" '
        f'fill="#ffffff" fill-opacity="0.82"/>'
        if flags
        else ""
    )
    status_fill = _STYLE[flags[0]][1] if flags else "#4d5751"
    bold = ' font-weight="700"' if flags else ""
    return (
        f'<a class="{classes}" href="{escape(href(n.lot))}" data-lot="{escape(n.lot)}" '
        f'aria-label="{escape(" · ".join(t for t in tip if t))}">'
        f"<title>{escape(chr(10).join(t for t in tip if t))}</title>"
        f'<rect class="box" x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>{band}'
        f'<text class="lot" x="{x + 8:.1f}" y="{y + 17:.1f}" font-family="{escape(_MONO)}" font-weight="700" '
        f'fill="#1b1f1c">{escape(n.lot)}</text>{mark}'
        f'<text class="product" x="{x + 8:.1f}" y="{y + 32:.1f}" fill="#1b1f1c">{escape(_fit(product, FONT))}</text>'
        f'<text class="status" x="{x + 8:.1f}" y="{y + 46:.1f}" fill="{status_fill}"{bold}>'
        f"{escape(third)}</text>"
        "</a>"
    )
