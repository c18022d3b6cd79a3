"""One party's 来源/去向 (source and destination) record, in the shape of NY/T 4712-2025.

NY/T 4712-2025 (农产品质量安全追溯 数据格式) has each producer or trader record, for every batch it
takes in (入库批次), where it came from (来源), and for every batch it sends out (出库批次), where it
went (去向), so that a regulator can join one party's record to the next party's and hand them up
to the national platform. This module draws that record from signed events: one `StockFlow` per lot
line that entered or left the party's stock, each citing its event id and ledger index, so every row
can be checked against the log. What was followed, and where it departs from the standard (whose
full field list we could not read), is docs/national-platform.md.

    stock_flows(events, party, ...)   the flows, in ledger order (pure)
    FLOW_COLUMNS                      (key, English header, Chinese header) of the export
    flow_rows(flows, lang=)           the rows the exports' writers take (trace/exports.py)

Which events move a party's stock, and which way:

    harvest    its outputs in (来源: own production, at the harvest's origin)
    receive    its inputs in, when the entry check accepted them (来源: the shipper; the ship event
               and the 合格证 number checked are cited); a rejected delivery never entered the stock
    transform  its inputs out and its outputs in (split, merge, repack, process), each naming the other side
    ship       its inputs out (去向: the destination party)
    sell       its inputs out (去向: sold; buyers are not recorded)
    destroy    its inputs out, for the party that held them (a regulator may record it)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .model.details import DestroyDetail, HarvestDetail, ReceiveDetail, ShipDetail, TransformDetail
from .model.event import Event

__all__ = ["FLOW_COLUMNS", "StockFlow", "flow_rows", "flow_subjects", "stock_flows"]

# (key, English header, Chinese header)
FLOW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("party", "Party ID", "主体代码"),
    ("subject_code", "Party's subject code (national platform)", "主体码"),
    ("direction", "In or out", "出入库"),
    ("business", "Business", "业务类型"),
    ("event_time", "Event time", "时间"),
    ("lot", "Lot (batch)", "批次号"),
    ("tracing_code", "Tracing code (national platform)", "追溯码"),
    ("product", "Product", "产品名称"),
    ("quantity", "Quantity", "数量"),
    ("unit", "Unit", "单位"),
    ("counterparty", "Source / destination party ID", "来源/去向主体代码"),
    ("counterparty_name", "Source / destination party", "来源/去向主体名称"),
    ("counterparty_code", "Its subject code", "来源/去向主体码"),
    ("place", "Place", "地点"),
    ("related_lots", "Made from / made into", "关联批次"),
    ("certificate_no", "Certificate (合格证) checked", "合格证编号"),
    ("related_event", "Shipment event ID", "关联发货事件"),
    ("event_id", "Event ID (SHA-256)", "事件编号"),
    ("ledger_index", "Ledger index", "账本序号"),
)

_DIRECTION = {"in": ("入库", "In"), "out": ("出库", "Out")}
_BUSINESS = {
    "harvest": ("生产", "Production"),
    "receive": ("收货", "Received"),
    "split": ("分拆", "Split"),
    "merge": ("合并", "Merged"),
    "repack": ("分装", "Repacked"),
    "process": ("加工", "Processed"),
    "ship": ("发货", "Shipped"),
    "sell": ("销售", "Sold"),
    "destroy": ("销毁", "Destroyed"),
}


@dataclass(frozen=True)
class StockFlow:
    """A lot line that entered (`direction` "in") or left ("out") the party's stock.

    `business` is a key of the business table above (the transform's type for a transform);
    `counterparty` the source (in) or destination (out) party, "" when there is none (own production,
    a transform, a sale to the public, a destruction); `related_lots` a transform's other side;
    `related_event` the shipment a receipt closes; `certificate_no` the 合格证 its entry check named.
    Names and codes are filled in from the tables (indexes of signed records), "" where unknown.
    """

    party: str
    direction: str
    business: str
    event_time: str
    lot: str
    quantity: Decimal
    unit: str
    event_id: str
    ledger_index: int
    counterparty: str = ""
    place: str = ""
    related_lots: tuple[str, ...] = ()
    related_event: str = ""
    certificate_no: str = ""
    product: str = ""
    tracing_code: str = ""
    subject_code: str = ""
    counterparty_name: str = ""
    counterparty_code: str = ""


def _lines(event: Event, party: str, event_id: str, index: int) -> list[StockFlow]:
    """The flows one event makes for `party` (none if it moves nothing of the party's)."""
    detail = event.detail
    common = {"party": party, "event_time": event.event_time, "event_id": event_id, "ledger_index": index}
    ins = [r.lot for r in event.inputs]
    outs = [o.lot for o in event.outputs]

    def flow(direction: str, business: str, lot: str, quantity: Decimal, unit: str, **kw: Any) -> StockFlow:
        return StockFlow(direction=direction, business=business, lot=lot, quantity=quantity, unit=unit, **common, **kw)

    if isinstance(detail, DestroyDetail):
        holder = detail.holder or event.party
        if holder != party:
            return []
        return [flow("out", "destroy", r.lot, r.quantity, r.unit, place=event.location.name) for r in event.inputs]
    if event.party != party:
        return []
    if isinstance(detail, HarvestDetail):
        return [flow("in", "harvest", o.lot, o.quantity, o.unit, place=detail.origin.name) for o in event.outputs]
    if isinstance(detail, ReceiveDetail):
        check = detail.entry_check
        if check.result != "accepted":
            return []
        return [
            flow(
                "in", "receive", r.lot, r.quantity, r.unit, counterparty=detail.source, place=event.location.name,
                related_event=detail.ship_event, certificate_no=check.certificate_no or "",
            )
            for r in event.inputs
        ]  # fmt: skip
    if isinstance(detail, TransformDetail):
        place = event.location.name
        out = [flow("out", detail.type, r.lot, r.quantity, r.unit, place=place, related_lots=tuple(outs))
               for r in event.inputs]  # fmt: skip
        out += [flow("in", detail.type, o.lot, o.quantity, o.unit, place=place, related_lots=tuple(ins))
                for o in event.outputs]  # fmt: skip
        return out
    if isinstance(detail, ShipDetail):
        return [
            flow("out", "ship", r.lot, r.quantity, r.unit, counterparty=detail.destination, place=event.location.name)
            for r in event.inputs
        ]
    if event.kind == "sell":
        return [flow("out", "sell", r.lot, r.quantity, r.unit, place=event.location.name) for r in event.inputs]
    return []


def stock_flows(
    events: Iterable[tuple[Event, str, int]],
    party: str,
    *,
    names: Mapping[str, str],
    subject_codes: Mapping[str, str],
    tracing_codes: Mapping[str, str],
    products: Mapping[str, str],
) -> list[StockFlow]:
    """`party`'s flows in the (event, event id, ledger index) triples, in their order.

    `names` and `subject_codes` map party ids to names and 主体码, `tracing_codes` and `products` lot
    codes to 追溯码 and product names (Chinese); a missing entry is written as "".
    """
    out = []
    for event, event_id, index in events:
        for f in _lines(event, party, event_id, index):
            out.append(
                StockFlow(
                    **{
                        **f.__dict__,
                        "product": products.get(f.lot, ""),
                        "tracing_code": tracing_codes.get(f.lot, ""),
                        "subject_code": subject_codes.get(party, ""),
                        "counterparty_name": names.get(f.counterparty, "") if f.counterparty else "",
                        "counterparty_code": subject_codes.get(f.counterparty, "") if f.counterparty else "",
                    }
                )
            )
    return out


def flow_subjects(events: Iterable[tuple[Event, str, int]], party: str) -> tuple[set[str], set[str]]:
    """The lots and the parties (`party` and its counterparties) the flows of these events name:
    what a caller looks up before `stock_flows`."""
    lots: set[str] = set()
    parties = {party}
    for event, event_id, index in events:
        for f in _lines(event, party, event_id, index):
            lots.add(f.lot)
            if f.counterparty:
                parties.add(f.counterparty)
    return lots, parties


def flow_rows(flows: Iterable[StockFlow], *, lang: str = "zh") -> list[dict[str, Any]]:
    """The rows (by FLOW_COLUMNS key) the exports' writers take, labels in `lang` (zh or en)."""
    pick = 0 if lang == "zh" else 1
    rows = []
    for f in flows:
        row = {key: getattr(f, key) for key, _, _ in FLOW_COLUMNS}
        row["direction"] = _DIRECTION[f.direction][pick]
        row["business"] = _BUSINESS[f.business][pick]
        row["quantity"] = str(f.quantity)
        row["related_lots"] = " ".join(f.related_lots)
        rows.append(row)
    return rows
