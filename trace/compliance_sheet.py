"""Compliance records as rows for the city's credit platform (公共信用信息平台): CSV, XLSX and JSON.

    COMPLIANCE_COLUMNS                      (key, English header, Chinese header) of the export
    CATEGORY_LABELS                         each category's (Chinese, English) name
    compliance_rows(records, names, lang=, base=)   one row per item, each citing its evidence

Every row cites its evidence: an on-ledger row its event id and ledger index and the address of the
signed event (`{base}/events/{id}`, which anyone may fetch and check against the log); a refused
attempt its number and the address of the stored attempt (`{base}/compliance/refusals/{n}`, for
regulators), and says in `source` that the log does not hold it. The writers are the events
export's (trace/exports.py: formula neutralising, a BOM for CSV, a filterable XLSX table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .compliance import ComplianceRecord

__all__ = ["CATEGORY_LABELS", "COMPLIANCE_COLUMNS", "compliance_rows"]

# (key, English header, Chinese header)
COMPLIANCE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("party", "Party ID", "主体代码"),
    ("party_name", "Party", "主体名称"),
    ("category", "Record", "记录类型"),
    ("at", "Time", "时间"),
    ("lot", "Lot (batch)", "批次号"),
    ("recorded_by", "Recorded by (party ID)", "记录方代码"),
    ("recorded_by_name", "Recorded by", "记录方名称"),
    ("reason", "Reason or result", "原因/结果"),
    ("reference", "Report, certificate or rule", "报告编号/合格证编号/规则"),
    ("source", "Evidence held in", "证据来源"),
    ("event_id", "Event ID (SHA-256)", "事件编号"),
    ("ledger_index", "Ledger index", "账本序号"),
    ("anomaly_id", "Refused attempt no.", "拒绝记录编号"),
    ("evidence", "Evidence", "证据链接"),
)

CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "failed_test": ("检测不合格", "Failed test"),
    "recall": ("产品召回", "Recall"),
    "entry_rejected": ("入市查验拒收", "Rejected at market entry"),
    "suspension": ("暂停资格", "Suspension"),
    "refused": ("违规操作被拒绝", "Refused attempt"),
}

_SOURCE = {
    True: ("签名账本", "The signed log"),
    False: ("平台拒绝记录（不在账本中）", "The platform's refusals (not in the log)"),
}


def _label(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def compliance_rows(
    records: Iterable[ComplianceRecord], names: Mapping[str, str], *, lang: str = "zh", base: str = ""
) -> list[dict[str, Any]]:
    """One row per item of `records`, by column key (plus `category_code`, the category's code, for
    the JSON form). `names`: party id -> name; `base`: the service's public URL, prefixed to the
    evidence paths ("" leaves them relative)."""
    out: list[dict[str, Any]] = []
    for record in records:
        for item in record.items:
            out.append(
                {
                    "party": item.party,
                    "party_name": names.get(item.party, ""),
                    "category": _label(CATEGORY_LABELS[item.category], lang),
                    "category_code": item.category,
                    "at": item.at,
                    "lot": item.lot,
                    "recorded_by": item.recorded_by,
                    "recorded_by_name": names.get(item.recorded_by, ""),
                    "reason": item.reason,
                    "reference": item.reference,
                    "source": _label(_SOURCE[item.on_ledger], lang),
                    "event_id": item.event_id,
                    "ledger_index": item.ledger_index if item.ledger_index is not None else "",
                    "anomaly_id": item.anomaly_id if item.anomaly_id is not None else "",
                    "evidence": base.rstrip("/") + item.evidence,
                }
            )
    return out
