"""Debian's nginx serving a published tiles directory (`farmtrace publish`) on a free loopback port,
for the tests that read the log through a static server alone."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

__all__ = ["nginx_config", "start_nginx", "stop_nginx"]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(root: Path, port: int, state: Path) -> str:
    """An nginx configuration serving `root` (a published directory) at /log/ as tlog-tiles asks
    (docs/tiles.md shows the same `location` blocks for production)."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # tmp_path is 0700: the workers must read it
    return f"""{user}daemon off;
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {state}/body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    gzip on;
    gzip_types application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location = /log/checkpoint {{
            alias {root}/checkpoint;
            default_type "text/plain; charset=utf-8";
            add_header Cache-Control "public, max-age=5";
        }}
        location ~ ^/log/(tile/.+\\.p/[0-9]+)$ {{
            alias {root}/$1;
            default_type application/octet-stream;
            add_header Cache-Control "public, max-age=60";
        }}
        location /log/tile/ {{
            alias {root}/tile/;
            default_type application/octet-stream;
            add_header Cache-Control "public, max-age=31536000, immutable";
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(root: Path, state: Path) -> tuple[subprocess.Popen, str]:
    """Start nginx on a free loopback port over `root`; return the process and the /log prefix URL."""
    if not os.path.exists(NGINX):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (Debian's nginx-light; scripts/setup.sh installs it)")
        pytest.skip("nginx is not installed (Debian's nginx-light; scripts/setup.sh installs it)")
    state.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (state / "nginx.conf").write_text(nginx_config(root, port, state))
    proc = subprocess.Popen(
        [NGINX, "-c", str(state / "nginx.conf"), "-p", str(state)], stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/log"
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(f"{url}/checkpoint", timeout=1)
            return proc, url
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"nginx did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.05)


def stop_nginx(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGQUIT)  # nginx's graceful shutdown
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
