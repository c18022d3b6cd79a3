"""In-browser verification of a bag whose lineage has 60 lots, on a throttled CPU, with either engine.

    cd /tmp && python /work/main/bench/browser_bench.py             # 30 runs per row
    cd /tmp && python /work/main/bench/browser_bench.py --runs 20 --json FILE
    cd /tmp && python /work/main/bench/browser_bench.py --runs 20 --profile 5  # and where the time goes

Issue 17's goal: in headless Chromium with 4× CPU throttling (CDP `Emulation.setCPUThrottlingRate`),
the consumer page verifies such a bag with p95 ≤ 300 ms, with WebCrypto's Ed25519 and with the
vendored pure-JS fallback (web/static/vendor/noble.js, docs/browser-ed25519.md).

What is built, through the real service (every signature checked, every rule run), over the demo
(api/demo.py), by the demo's own parties and keys, in trace/scenario.py's words:

    coop    harvests H1, H2 (250 kg each) and merges them into P          3 lots
    lab     tests P; coop issues P's 合格证 and ships it to the market
    market  receives P (entry check), splits it 50 ways: S01..S50, 10 kg  +50
            and ships each to the shop, which receives each (100 events)
    shop    merges them ten at a time into C1..C5, merges those into K,   +6
            repacks K into bags, and sells bag 1                          +1: 60 lots
            (bag 1's lineage: itself, K, C1..C5, S01..S50, P, H1, H2)

That is 115 events on the bag's lineage. The Python twin (trace/verify_journey.py) checks the journey
before anything is timed.

What is measured: fresh loads of the bag's consumer page in one Chromium (360×740, device scale 2),
the time verify.js reports for `checkJourney` (performance.now() around it; the fetch is reported
apart) and, after each load, the same journey checked again in that page ("warm": scripts compiled,
JIT warm; what a second check costs), in four rows: {WebCrypto, noble} × {no throttling, 4× throttling}. The noble rows run with
tests/web/js/no_ed25519.js injected before the page's scripts (WebCrypto refuses Ed25519 with
NotSupportedError, as in-app webviews do), the same prelude the browser tests use. Runs alternate
row by row (A, B, C, D, A, B, ...), so the machine's noise falls on every row alike; the report
gives p50/p95/max per row, the raw samples in --json, and the ratios fallback ÷ WebCrypto and
4× ÷ 1× from the same run.

The repository root is taken off sys.path first: its trace/ folder would shadow the standard
library's `trace` (STYLE.md); farmtrace is imported from the installed package.
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from farmtrace.api.app import create_app  # noqa: E402
from farmtrace.api.demo import CABBAGE, CABBAGE_BAG, PARTIES, TEST_PASS, run_demo  # noqa: E402
from farmtrace.api.settings import Settings  # noqa: E402
from farmtrace.client.client import CHINA_STANDARD_TIME  # noqa: E402
from farmtrace.ledger.note import Signer  # noqa: E402
from farmtrace.trace import scenario as sc  # noqa: E402
from farmtrace.trace.errors import TraceError  # noqa: E402
from farmtrace.trace.index_keeper import IndexKeeper  # noqa: E402
from farmtrace.trace.verify_journey import check_journey  # noqa: E402

CHROMIUM = os.environ.get("FARMTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NO_ED25519 = Path(_ROOT) / "tests" / "web" / "js" / "no_ed25519.js"
GOAL_MS = 300.0
THROTTLE = 4
SPLIT = 50
BAG = "BB-BAG-0001"
ROWS = [  # (engine, CPU throttling rate)
    ("webcrypto", 1),
    ("noble", 1),
    ("webcrypto", THROTTLE),
    ("noble", THROTTLE),
]


# --- building the lineage ---------------------------------------------------------------------------


class Lineage:
    """Records the 60-lot lineage above as the demo's parties, one second apart, through the service."""

    def __init__(self, service, key_dir: Path) -> None:
        self.service = service
        self.actors: dict[str, sc.Actor] = {}
        for name, (pid, name_zh, _, _, address) in PARTIES.items():
            doc = json.loads((key_dir / f"{name}.key").read_text())
            self.actors[name] = sc.Actor.from_seed(
                pid, base64.b64decode(doc["seed"]), name=name_zh, address=address
            )
        self.at = datetime.now(CHINA_STANDARD_TIME).replace(microsecond=0) - timedelta(hours=6)
        self.head: dict[str, str] = {}
        self.events = 0

    def say(self, who: str, said: dict, *, moves: list[str]) -> str:
        self.at += timedelta(seconds=1)
        signed = self.actors[who].say(said, at=self.at)
        (result,) = self.service.record_many([signed.entry])
        if isinstance(result, TraceError):
            raise RuntimeError(f"the service refused {said['kind']} by {who}: {result}")
        self.head.update(dict.fromkeys(moves, signed.event_id))
        self.events += 1
        return signed.event_id

    def ref(self, lot: str, quantity: str) -> dict:
        return sc.ref(lot, quantity, follows=[self.head[lot]])

    def build(self) -> str:
        """Record it all; the bag's code."""
        market, shop = self.actors["market"].party, self.actors["shop"].party
        coop = self.actors["coop"].party
        fields = ["H1", "H2"]
        for lot in fields:
            origin = {"name": f"金洲镇 {lot} 号蔬菜基地"}
            self.say(
                "coop", sc.harvest([sc.out(f"BB-{lot}", "250", CABBAGE)], origin=origin), moves=[f"BB-{lot}"]
            )
        pooled = "BB-P"
        self.say(
            "coop",
            sc.merge([self.ref(f"BB-{lot}", "250") for lot in fields], [sc.out(pooled, "500", CABBAGE)]),
            moves=[f"BB-{lot}" for lot in fields] + [pooled],
        )
        test = self.say(
            "lab",
            sc.inspect(
                [self.ref(pooled, "500")], value=TEST_PASS["value"], result="pass", report_no="KJ-BB-0001"
            ),
            moves=[pooled],
        )
        cert = "HGZ-BB-0001"
        self.say(
            "coop",
            sc.certify(
                [self.ref(pooled, "500")],
                certificate_no=cert,
                product_name="宁乡包菜",
                origin="湖南省长沙市宁乡市",
                contact="合作社办公室",
            ),
            moves=[pooled],
        )
        shipped = self.say("coop", sc.ship([self.ref(pooled, "500")], destination=market), moves=[pooled])
        self.say(
            "market",
            sc.receive(
                [self.ref(pooled, "500")],
                source=coop,
                ship_event=shipped,
                certificate_no=cert,
                inspection_event=test,
            ),
            moves=[pooled],
        )
        parts = [f"BB-S{i:02d}" for i in range(1, SPLIT + 1)]
        self.say(
            "market",
            sc.split([self.ref(pooled, "500")], [sc.out(p, "10", CABBAGE) for p in parts]),
            moves=[pooled, *parts],
        )
        for part in parts:
            price = sc.price("2", "wholesale")
            shipped = self.say(
                "market", sc.ship([self.ref(part, "10")], destination=shop, price=price), moves=[part]
            )
            receive = sc.receive(
                [self.ref(part, "10")], source=market, ship_event=shipped, certificate_no=cert
            )
            self.say("shop", receive, moves=[part])
        crates = [f"BB-C{i}" for i in range(1, 6)]
        for i, crate in enumerate(crates):
            group = parts[10 * i : 10 * i + 10]
            self.say(
                "shop",
                sc.merge([self.ref(p, "10") for p in group], [sc.out(crate, "100", CABBAGE)]),
                moves=[*group, crate],
            )
        whole = "BB-K"
        self.say(
            "shop",
            sc.merge([self.ref(c, "100") for c in crates], [sc.out(whole, "500", CABBAGE)]),
            moves=[*crates, whole],
        )
        bags = [BAG, "BB-BAG-0002"]
        self.say(
            "shop",
            sc.repack([self.ref(whole, "500")], [sc.out(b, "1", CABBAGE_BAG) for b in bags]),
            moves=[whole, *bags],
        )
        self.say("shop", sc.sell([self.ref(BAG, "1")], price=sc.price("4.5", "retail")), moves=[])
        return BAG


def lineage_lots(journey: dict, lot: str) -> set[str]:
    """The lots of `lot`'s lineage, read from the journey's own entries (as verify.js's step 5c)."""
    creators: dict[str, dict] = {}
    for item in journey["events"]:
        event = json.loads(base64.b64decode(item["entry"]).split(b"\n")[1])
        for out in event["outputs"]:
            creators[out["lot"]] = event
    seen, queue = set(), [lot]
    while queue:
        code = queue.pop()
        if code not in seen:
            seen.add(code)
            queue += [ref["lot"] for ref in creators.get(code, {"inputs": []})["inputs"]]
    return seen


# --- measuring --------------------------------------------------------------------------------------


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def _summary(samples: list[float]) -> dict:
    return {
        "n": len(samples),
        "p50_ms": round(_pct(samples, 0.50), 1),
        "p95_ms": round(_pct(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
        "mean_ms": round(statistics.fmean(samples), 1),
        "samples_ms": [round(x, 1) for x in samples],
    }


def serve(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


# The same journey checked again in the page just loaded, as its page() does: scripts compiled, JIT warm.
WARM = """async () => {
    const cfg = JSON.parse(document.getElementById("ft-config").textContent);
    const journey = await (await fetch(cfg.journey, {cache: "no-store"})).json();
    const now = Math.floor(Date.now() / 1000);
    const policy = cfg.witnessPolicy ? {policy: cfg.witnessPolicy, maxAge: cfg.witnessMaxAge, now} : undefined;
    return (await FarmtraceVerify.checkJourney(journey, cfg.logKey, policy)).ms;
}"""


def _proven(result: dict) -> bool:
    """Every signature, proof, link and index proof checked out."""
    return not result["failures"]


def _check_profile(profile: dict) -> dict[str, float]:
    """Self time (µs) per function in a CDP CPU profile, over the samples from the first to the last
    one with checkJourney on the stack (the check, awaits included: whatever ran in between counts)."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}

    def in_check(nid):
        while nid is not None:
            if nodes[nid]["callFrame"]["functionName"] == "checkJourney":
                return True
            nid = parent.get(nid)
        return False

    samples, deltas = profile["samples"], profile["timeDeltas"]
    inside = [i for i, nid in enumerate(samples) if in_check(nid)]
    out: dict[str, float] = {}
    for i in range(inside[0], inside[-1]) if inside else ():
        cf = nodes[samples[i]]["callFrame"]
        where = cf["url"].rsplit("/", 1)[-1].split("?")[0]
        name = (
            f"{cf['functionName'] or '(anonymous)'} {where}:{cf['lineNumber'] + 1}"
            if where
            else cf["functionName"]
        )
        out[name] = out.get(name, 0.0) + deltas[i + 1]
    return out


def profile_rows(pages: dict, url: str, loads: int) -> dict:
    """`loads` fresh loads per throttled row under the CDP sampling profiler (100 µs): where the
    check's time goes, as ms per load by function (self time), the 20 largest."""
    out = {}
    for (engine, rate), (page, cdp) in pages.items():
        if rate != THROTTLE:
            continue
        total: dict[str, float] = {}
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 100})
        for _ in range(loads):
            cdp.send("Profiler.start")
            page.goto(f"{url}/l/{BAG}")
            page.wait_for_selector("#verify:not([data-state=pending])", timeout=120_000)
            for name, us in _check_profile(cdp.send("Profiler.stop")["profile"]).items():
                total[name] = total.get(name, 0.0) + us
        cdp.send("Profiler.disable")
        top = sorted(total.items(), key=lambda kv: -kv[1])
        out[f"{engine} {rate}x"] = {
            "window_ms": round(sum(total.values()) / loads / 1000, 1),
            "self_ms": {name: round(us / loads / 1000, 2) for name, us in top[:20]},
        }
    return out


def measure(url: str, *, runs: int, events: int, profile: int = 0) -> dict:
    """`runs` fresh loads per row, rows alternating; each row its own context, page and CDP session."""
    from playwright.sync_api import sync_playwright

    samples: dict[tuple[str, int], dict[str, list[float]]] = {
        row: {"verify": [], "fetch": [], "warm": []} for row in ROWS
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {}
        for engine, rate in ROWS:
            ctx = browser.new_context(
                viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
            )
            if engine == "noble":
                ctx.add_init_script(path=str(NO_ED25519))
            page = ctx.new_page()
            cdp = ctx.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
            pages[engine, rate] = (page, cdp)
        for i in range(runs + 1):  # run 0 warms each context's cache (scripts, fonts): not counted
            for row in ROWS:
                page, cdp = pages[row]
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": row[1]})
                page.goto(f"{url}/l/{BAG}")
                page.wait_for_selector("#verify:not([data-state=pending])", timeout=120_000)
                result = page.evaluate("window.farmtraceVerification")
                if result["events"] != events or result.get("engine") != row[0] or not _proven(result):
                    raise RuntimeError(f"row {row}: the page did not verify the bag as expected: {result}")
                if i:
                    samples[row]["verify"].append(result["ms"])
                    samples[row]["fetch"].append(result["fetchMs"])
                    samples[row]["warm"].append(page.evaluate(WARM))
        profiles = profile_rows(pages, url, profile) if profile else None
        version = browser.version
        browser.close()
    return {
        "chromium": version,
        **({"profile": profiles} if profiles else {}),
        "rows": {
            f"{engine} {rate}x": {name: _summary(values) for name, values in s.items()}
            for (engine, rate), s in samples.items()
        },
    }


# --- the run ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="fresh page loads per row (at least 20)")
    ap.add_argument("--json", help="write the figures, raw samples included, here too")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then N more loads per 4x row under the CDP CPU profiler: the check's self time by function",
    )
    args = ap.parse_args(argv)
    if args.runs < 20:
        ap.error("--runs: the goal is a p95 over at least 20 runs")
    log = lambda msg: print(msg, flush=True)  # noqa: E731

    tmp = Path(tempfile.mkdtemp(prefix="farmtrace-browser-bench-"))
    try:
        settings = Settings.from_env(
            {},
            data_dir=tmp,
            database_url=f"sqlite:///{tmp / 'bench.db'}",
            log_key=Signer.generate("farmtrace.local/log").key_string(),
        )
        app = create_app(settings)
        service = app.state.service
        run_demo(service, tmp / "keys")
        t0 = time.perf_counter()
        lineage = Lineage(service, tmp / "keys")
        bag = lineage.build()
        log(f"recorded {lineage.events} events through the service in {time.perf_counter() - t0:.1f} s")
        # The head index's entry, so the journey carries a map proof for each of the 60 lineage lots
        # and the page checks completeness too (issue 17 §2), as it would on a served log.
        IndexKeeper(service.log, clock=time.time, lag=0).commit_due()
        journey = json.loads(json.dumps(service.journey_bundle(bag).to_wire()))
        lots = lineage_lots(journey, bag)
        report = check_journey(journey, log_key=service.log.verifier.key_string())
        if report.failures or len(lots) != 60 or len(journey["index"]["lots"]) < 60:
            raise RuntimeError(f"the bag's journey: {report.summary()}; {len(lots)} lots in its lineage")
        log(
            f"{bag}: {report.events} events, {len(lots)} lots in its lineage, {len(journey['keys'])} keys; ledger size {service.log.size}"
        )
        server, thread, url = serve(app)
        try:
            log(f"measuring {len(ROWS)} rows × {args.runs} fresh loads, alternating, at {url}")
            figures = measure(url, runs=args.runs, events=report.events, profile=args.profile)
            journey_bytes = len(httpx.get(f"{url}/lots/{bag}/journey", timeout=60).content)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            service.log.close(close_store=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rows = figures["rows"]
    print()
    print(f"bag {BAG}: {report.events} events, 60 lots in its lineage; journey {journey_bytes:,} bytes")
    print(
        f"{'row':<14} {'n':>3} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'fetch p50':>9} {'warm p50/p95':>13}  goal"
    )
    for name, r in rows.items():
        v, w = r["verify"], r["warm"]
        goal = ""
        if name.endswith(f" {THROTTLE}x"):
            goal = f"p95 ≤ {GOAL_MS:.0f} ms: " + ("PASS" if v["p95_ms"] <= GOAL_MS else "MISS")
        warm = f"{w['p50_ms']:.0f}/{w['p95_ms']:.0f}"
        print(
            f"{name:<14} {v['n']:>3} {v['p50_ms']:>7.1f} {v['p95_ms']:>7.1f} {v['max_ms']:>7.1f}"
            f" {r['fetch']['p50_ms']:>9.1f} {warm:>13}  {goal}"
        )
    p95 = {name: r["verify"]["p95_ms"] for name, r in rows.items()}
    for rate in (1, THROTTLE):
        print(f"noble ÷ WebCrypto at {rate}x (p95): {p95[f'noble {rate}x'] / p95[f'webcrypto {rate}x']:.2f}")
    for engine in ("webcrypto", "noble"):
        print(f"{engine} {THROTTLE}x ÷ 1x (p95): {p95[f'{engine} {THROTTLE}x'] / p95[f'{engine} 1x']:.2f}")
    for name, prof in figures.get("profile", {}).items():
        print(
            f"\n{name}, profiled ({args.profile} loads): {prof['window_ms']} ms a load from the check's first sample to its last"
        )
        for fn, ms in prof["self_ms"].items():
            print(f"  {ms:8.2f} ms  {fn}")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}, {platform.platform()}"
    )
    print(f"browser: Chromium {figures['chromium']}, 360×740 at device scale factor 2, headless")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"bag": BAG, "events": report.events, "lots": 60, "journey_bytes": journey_bytes, **figures},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
