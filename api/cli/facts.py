"""What `farmtrace verify-lot` prints after its checks: the facts it proved (trace/journey_facts.py), in
Simplified Chinese or English, in the consumer page's words (web/i18n/common.py).

    fact_lines(facts, lang) -> list[str]

The lines read only the facts (`journey_facts`' JSON, the twin of web/static/facts.js), never what the
server says beside them; when the journey failed a check, they list only what could be proven and the
ledger entries that could not.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from farmtrace.web.i18n import Translator
from farmtrace.web.render import names, unit_name

__all__ = ["fact_lines"]

_STAGES = ("production", "wholesale", "retail")


def _money(amount: Any) -> str:
    """A price as recorded, to the fen (as the page shows it); anything else as it is."""
    try:
        return str(Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return str(amount)


def fact_lines(facts: dict[str, Any], lang: str) -> list[str]:
    """The facts as indented lines in `lang` ("zh" or "en"); the first line is the heading."""
    t = Translator(lang)
    known = facts["parties"]

    def who(pid: str) -> str:
        return (names(known[pid], t)[0] if pid in known else "") or pid

    def qty(q: dict[str, Any]) -> str:
        return f"{q['quantity']} {unit_name(str(q['unit']), t)}"

    head = "facts.cli.verified" if facts["verified"] else "facts.cli.partial"
    lines = [t(head, n=len(facts["proven"]))]
    for r in facts["recalls"]:
        lines.append(f"  ⚠ {t('recall.title')} · {r['lot']} · {t('detail.reason', reason=r['reason'])}")
    if facts["status"]["failed"]:
        lines.append(f"  ⚠ {t('status.failed')}")
    if facts["status"]["rejected"]:
        lines.append(f"  ⚠ {t('status.rejected')}")
    if facts["product"] is not None:
        name, other = names(facts["product"], t)
        shown = f"{name} ({other})" if other else name
        lines.append(f"  {t('product.lot')} {facts['lot']}: {shown} · {qty(facts['quantity'])}")
        if facts["product"].get("variety"):
            lines.append(f"  {t('product.variety')}: {facts['product']['variety']}")
    for o in facts["origins"]:
        where = o["origin"] if isinstance(o["origin"], dict) else {}
        place = ", ".join(str(x) for x in (where.get("name"), where.get("address")) if x)
        lines.append(
            f"  {t('origin.title')}: {who(o['party'])} · {t('detail.field', field=place)}"
            f" · {t('origin.harvested')} {str(o['time'])[:10]}"
        )
    for x in facts["tests"]:
        verdict = t("detail.pass" if x["result"] == "pass" else "detail.fail")
        lines.append(
            f"  {t('detail.analyte', analyte=x['analyte'])} · "
            f"{t('detail.value', value=x['value'], limit=x['limit'], unit=x['unit'])}: {verdict}"
            f" · {t('detail.report', report=x['report_no'])}"
        )
    for c in facts["certificates"]:
        lines.append(f"  {t('detail.certificate', number=c['certificate_no'])} · {who(c['party'])}")
    if facts["hands"]:
        lines.append(f"  {t('facts.cli.hands')}: " + " → ".join(who(p) for p in facts["hands"]))
    for p in facts["prices"]:
        price = p["price"]
        stage = t(f"price.{price.get('stage')}") if price.get("stage") in _STAGES else ""
        amount = t(
            "price.amount", amount=_money(price.get("amount")), unit=unit_name(str(price.get("unit")), t)
        )
        lines.append(f"  {t('detail.price', stage=stage, price=amount)} · {who(p['party'])}")
    if facts["unproven"]:
        indexes = t("list.sep").join(str(i) for i in facts["unproven"])
        lines.append(f"  {t('facts.cli.unproven', indexes=indexes)}")
    return lines
