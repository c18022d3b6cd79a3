"""The regulator's console: server-rendered pages, in Simplified Chinese (default) or English.

    GET /console                    ledger health: size, latest checkpoint and its witnesses, the last
                                    full audit (result, time, first failure) and a button to run one
    GET /console/parties            parties and pending applications: approve, reject, suspend, revoke
    GET /console/lots               look a lot up (?code= redirects to its page)
    GET /console/lots/{code}        the lot's trace as a graph, its recall report, one-click recall
    GET /console/anomalies          refused attempts, filtered by rule, party and date range
    GET /console/prices             prices by stage for a product over time, as a chart
    GET /console/compliance         parties' compliance records (公共征信), and one in full with its evidence
    GET /console/alerts             accepted events that look wrong: prices, cold-chain readings (alerts.py)
    GET /console/thresholds         the cold-chain thresholds: in force, every version, set a new one
    GET /console/recalls            recalls: who has acknowledged each, and holders' stop-sale lists
    GET /console/exports            exports of a date range or a lot's trace: EPCIS, CSV, XLSX
    GET /console/exports/range      ?since=&until=&fmt=  303 to /exports/events.{fmt} (dates are CST days)
    GET /console/exports/lot        ?code=&fmt=          303 to the lot's export
    GET /console/signin             sign in with a key file or the key this browser already holds

Every page but the sign-in page takes `RegulatorDep`: the `ft_token` cookie (or an Authorization
header) checked by web/auth.py. Anyone else — no token, a forged or expired one, another party's —
gets a 403 page in their language, with the sign-in form (page.py `ConsoleRoute`). Pages only read:
everything that changes the ledger is an event signed in the browser with the regulator's own key
(static/signing.js, driven by static/console.js) and recorded through POST /events, so the server
never holds a regulator's key; starting an audit and rejecting an application go to the JSON API
with a token header. After an action the browser reloads the page with ?done=<what>, shown as a
notice. The Content-Security-Policy is the consumer page's, plus this origin's stylesheet: no
inline script, no style attribute.

    page.py      the 403 gate (ConsoleRoute), the console's frame around web/render.py, form fields
    health.py    ledger_health() (also GET /ledger/health's) and GET /console
    parties.py   sign-in and the parties' registry        lots.py     lookup and a lot's trace
    reports.py   anomalies and prices                     exports.py  the export forms
    alerts.py    alerts and cold-chain thresholds
    graph.py     the trace's layout and SVG                compliance.py  parties' compliance records
    recall_acks.py  recalls' acknowledgements and stop-sale lists
"""

from __future__ import annotations

from fastapi import APIRouter

from . import alerts, compliance, exports, health, lots, parties, recall_acks, reports

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for _module in (health, parties, lots, reports, compliance, alerts, exports, recall_acks):
    router.include_router(_module.router)
