"""The log's tiles (C2SP tlog-tiles, docs/tiles.md) served by the app, with nginx beside it.

    cd /tmp && python /work/main/bench/tiles_bench.py                   # 20,000 entries: a smoke test
    cd /tmp && python /work/main/bench/tiles_bench.py --size 1000000    # the figure for the report
    ... --requests N      requests per server (default 3000)
    ... --json FILE       also write the figures as JSON
    ... --before REF      also time the app at git revision REF ("app-before"), an A/B in one run

What is built: a ledger of `--size` entries shaped like signed events (bench/ledger_bench.py's
`make_entries`, 351-357 bytes each), appended with `Log.append_many` in chunks of 100k into SQLite,
as `farmtrace init` would lay it out; then `farmtrace publish` writes it as static files.

What is measured: the same sequence of requests, sampled across the whole tree (mostly full level-0
tiles and entry bundles, as a client auditing or mirroring the log reads them; some upper-level and
partial tiles, and the checkpoint), sent one after the other over one keep-alive connection per
server with `Accept-Encoding: gzip`, the two servers taking turns request by request, to

  1. the app: `farmtrace serve` (uvicorn, one worker) answering /log/…;      goal: p95 ≤ 5 ms
     (and, as "app own", the route's own time, from its Server-Timing header: reading the tile or
     bundle and compressing the bundle, without the HTTP stack and the client)
  2. nginx (Debian's nginx-light, one worker) serving the published directory at /log/ (the
     configuration of docs/tiles.md): the baseline a static server or CDN gives, reported beside it.

With `--before REF`, a third server runs the app as it was at git revision REF (`git archive` of
the repository into the bench's directory, put first on the server's PYTHONPATH as the package
`farmtrace`), taking its turn with the other two: an A/B of the app's code on the same machine, at
the same moment, over the same ledger.

Each server gets the whole sequence once to warm up (the page cache), then is timed on it. Taking
turns makes the two figures comparable on a shared machine, whose load swings from run to run. Wall time per request, client side. The ratio is nginx p95 ÷ app p95 (higher is better
for the app; below 1 means nginx is faster, as expected of static files).

The repository root is taken off sys.path first: its trace/ folder would shadow the standard
library's `trace` (STYLE.md); farmtrace is imported from the installed package.
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from ledger_bench import make_entries  # noqa: E402

from farmtrace.api.app import open_log  # noqa: E402
from farmtrace.api.settings import Settings  # noqa: E402
from farmtrace.ledger.tile_paths import format_tile_path, tiles_for_size  # noqa: E402

GOAL_P95_MS = 5.0
FARMTRACE = str(Path(sys.executable).with_name("farmtrace"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CHUNK = 100_000


def build(data: Path, size: int) -> float:
    """A ledger of `size` entries in `data`; return the seconds it took."""
    t0 = time.perf_counter()
    log = open_log(Settings.from_env({}, data_dir=data))
    try:
        for start in range(log.size, size, CHUNK):
            log.append_many(make_entries(min(CHUNK, size - start), seed=start))
    finally:
        log.close(close_store=True)
    return time.perf_counter() - t0


def sample_paths(size: int, n: int, *, seed: int = 16) -> list[str]:
    """`n` resource paths across the tree of `size`: 45% level-0 tiles, 45% bundles, 10% the rest."""
    rng = random.Random(seed)
    tiles = tiles_for_size(size)
    level0 = [t for t in tiles if t.level == 0]
    bundles = [t for t in tiles if t.is_bundle]
    other = [t for t in tiles if t.level > 0 or not t.is_full]
    out = []
    for _ in range(n):
        pick = rng.random()
        pool = level0 if pick < 0.45 else bundles if pick < 0.9 else other
        out.append("checkpoint" if pick > 0.98 else format_tile_path(rng.choice(pool)))
    return out


def measure(urls: dict[str, str], paths: list[str]) -> dict[str, dict]:
    """Wall time per request (ms) to each server, over one keep-alive connection each, after one
    warm-up pass. The servers take turns request by request (which goes first alternates too), so
    each figure sees the same machine: the load of whatever else runs on it swings a lot."""
    names = list(urls)
    times: dict[str, list[float]] = {name: [] for name in names}
    own: dict[str, list[float]] = {name: [] for name in names}  # the app's own time (Server-Timing)
    clients = {name: httpx.Client(headers={"Accept-Encoding": "gzip"}, timeout=30) for name in names}
    try:
        for warm in (True, False):
            for k, path in enumerate(paths):
                turn = k % len(names)
                for name in names[turn:] + names[:turn]:
                    t0 = time.perf_counter()
                    r = clients[name].get(f"{urls[name]}/{path}")
                    elapsed = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        raise AssertionError(f"{urls[name]}/{path}: HTTP {r.status_code}")
                    if not warm:
                        times[name].append(elapsed)
                        if "server-timing" in r.headers:
                            own[name].append(float(r.headers["server-timing"].split("dur=")[1]))
    finally:
        for client in clients.values():
            client.close()
    out = {name: _summary(samples) for name, samples in times.items()}
    for name, samples in own.items():
        if samples:
            out[f"{name}_server_timing"] = _summary(samples)
    return out


def _summary(samples: list[float]) -> dict:
    samples = sorted(samples)
    pct = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]  # noqa: E731
    return {
        "n": len(samples),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": samples[-1],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/checkpoint", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_app(data: Path, *, code: Path | None = None) -> tuple[subprocess.Popen, str]:
    """`farmtrace serve` (one worker) over the ledger in `data`; the process and its /log prefix.
    `code`: a directory holding a `farmtrace` package to run instead of the installed one."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
    env |= {"FARMTRACE_DATA_DIR": str(data), "FARMTRACE_VERIFY_WORKERS": "0"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    proc = subprocess.Popen(
        [FARMTRACE, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/log"
    _wait(url, proc, "farmtrace serve")
    return proc, url


def nginx_config(root: Path, port: int, state: Path) -> str:
    """The configuration of docs/tiles.md, on a loopback port, with its state in `state`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {k}_temp_path {state}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {state}/nginx.pid;\nerror_log {state}/error.log;\n"
        "events { worker_connections 64; }\nhttp {\n    access_log off;\n" + temp
        + "    gzip on;\n    gzip_types application/octet-stream;\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n"
        f'        location = /log/checkpoint {{ alias {root}/checkpoint; default_type "text/plain; charset=utf-8"; '
        'add_header Cache-Control "public, max-age=5"; }\n'
        f"        location ~ ^/log/(tile/.+\\.p/[0-9]+)$ {{ alias {root}/$1; default_type application/octet-stream; "
        'add_header Cache-Control "public, max-age=60"; }\n'
        f"        location /log/tile/ {{ alias {root}/tile/; default_type application/octet-stream; "
        'add_header Cache-Control "public, max-age=31536000, immutable"; }\n'
        "    }\n}\n"
    )  # fmt: skip


def start_nginx(root: Path, state: Path) -> tuple[subprocess.Popen, str] | None:
    """nginx (one worker) serving the published `root` at /log/; None if nginx is not installed."""
    if not os.path.exists(NGINX):
        return None
    state.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (state / "nginx.conf").write_text(nginx_config(root, port, state))
    proc = subprocess.Popen([NGINX, "-c", str(state / "nginx.conf"), "-p", str(state)])
    url = f"http://127.0.0.1:{port}/log"
    _wait(url, proc, "nginx")
    return proc, url


def checkout(ref: str, into: Path) -> Path:
    """The repository at git revision `ref` as a package `farmtrace` under `into` (returned, for
    PYTHONPATH): `git archive` of the four floors, linked as farmtrace/ledger, /trace, /web, /api
    (the layout the editable install maps, STYLE.md)."""
    src, pkg = into / "src", into / "pkg" / "farmtrace"
    src.mkdir(parents=True)
    pkg.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", _ROOT, "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    for floor in ("ledger", "trace", "web", "api"):
        (pkg / floor).symlink_to(src / floor)
    return into / "pkg"


def publish(data: Path, out: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FARMTRACE_")}
    env["FARMTRACE_DATA_DIR"] = str(data)
    t0 = time.perf_counter()
    subprocess.run([FARMTRACE, "publish", str(out)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=20_000, help="entries in the log (default 20,000)")
    p.add_argument("--requests", type=int, default=3000, help="timed requests per server (default 3000)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--before", metavar="REF", help="also time the app at this git revision (A/B)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="farmtrace-tiles-bench-") as tmp:
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o755)  # nginx's workers read the published files
        data, out = tmp_path / "data", tmp_path / "published"
        built = build(data, args.size)
        print(f"built a log of {args.size:,} entries in {built:.1f} s")
        published = publish(data, out)
        files = len(tiles_for_size(args.size)) + 1
        print(f"farmtrace publish: {files:,} files in {published:.1f} s")
        paths = sample_paths(args.size, args.requests)
        app_proc, app_url = start_app(data)
        before = start_app(data, code=checkout(args.before, tmp_path / "before")) if args.before else None
        started = start_nginx(out, tmp_path / "nginx")
        try:
            urls = {"app": app_url} | ({"app-before": before[1]} if before else {})
            urls |= {"nginx": started[1]} if started else {}
            figures = measure(urls, paths)
        finally:
            _stop(app_proc, signal.SIGTERM)
            if before:
                _stop(before[0], signal.SIGTERM)
            if started:
                _stop(started[0], signal.SIGQUIT)
    app, nginx = figures["app"], figures.get("nginx")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    ratio = nginx["p95_ms"] / app["p95_ms"] if nginx else None
    print(f"{'server':<8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    rows = [("app", app), ("nginx", nginx), ("app own", figures.get("app_server_timing"))]
    if args.before:
        rows += [("before", figures["app-before"]), ("bef. own", figures.get("app-before_server_timing"))]
    for name, fig in rows:
        if fig:
            print(
                f"{name:<8} {fig['p50_ms']:>8.2f} {fig['p95_ms']:>8.2f} {fig['p99_ms']:>8.2f} {fig['max_ms']:>8.2f}"
            )
        elif name == "nginx":
            print(f"{name:<8} (nginx is not installed: Debian's nginx-light)")
    met = app["p95_ms"] <= GOAL_P95_MS
    print(
        f"app p95 {app['p95_ms']:.2f} ms, goal ≤ {GOAL_P95_MS} ms: {'met' if met else 'NOT met'}"
        + (f"; nginx p95 ÷ app p95 = {ratio:.2f}" if ratio else "")
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "size": args.size,
                    "requests": args.requests,
                    "build_s": built,
                    "publish_s": published,
                    "app": app,
                    "nginx": nginx,
                    "app_server_timing": figures.get("app_server_timing"),
                    "before": {"ref": args.before, **figures["app-before"]} if args.before else None,
                    "before_server_timing": figures.get("app-before_server_timing"),
                    "goal_p95_ms": GOAL_P95_MS,
                    "met": met,
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": load},
                },
                indent=2,
            )
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
