# Shared set-up for scripts/start and scripts/test; source it, don't run it.
# A fresh machine needs only Python 3.11+ and pip: everything else is installed here.

VENV="${FARMTRACE_VENV:-.venv}"

setup_python() {
    # $1: the pip extras to install, e.g. "test,bench"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating the virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.farmtrace-installed-$1"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "==> installing farmtrace and its dependencies ($1)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
        touch "$stamp"
    fi
    export PATH="$PWD/$VENV/bin:$PATH"
}

postgres_ready() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import os, sys, psycopg
url = os.environ.get("FARMTRACE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
try:
    psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=3).close()
except Exception:
    sys.exit(1)
PY
}

ensure_postgres() {
    # The PostgreSQL tests must run in CI, never be silently skipped: start the server if needed.
    postgres_ready && return 0
    echo "==> PostgreSQL is not answering on 127.0.0.1:5432; starting it"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "==> installing PostgreSQL from Debian's packages"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        # Trust local TCP connections (a test server on loopback only).
        $sudo sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
            "/etc/postgresql/$version/main/pg_hba.conf"
    fi
    $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    for _ in $(seq 1 30); do
        postgres_ready && break
        # A fresh cluster has no database "test" yet.
        $sudo -u postgres psql -qc "CREATE DATABASE test" >/dev/null 2>&1 || true
        sleep 1
    done
    postgres_ready || { echo "PostgreSQL could not be started" >&2; return 1; }
}

setup_system() {
    # Debian packages the browser and label tests need: Chromium (driven by Playwright through
    # executable_path: no browser download), CJK fonts for pages and PDF labels, poppler for PDFs.
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
    [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
    command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v faketime >/dev/null 2>&1 || missing+=(faketime)  # tests/test_any_hour.py fakes the wall clock
    command -v node >/dev/null 2>&1 || missing+=(nodejs)  # tests/web/test_js_*.py run web/static's scripts in Node
    # tests/api/test_publish.py serves published tiles with nginx; tests/ledger/test_go_tilecheck.py
    # checks them with Go's golang.org/x/mod/sumdb/tlog (built offline from Debian's GOPATH).
    [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
    command -v go >/dev/null 2>&1 || missing+=(golang-go)
    [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] || missing+=(golang-golang-x-mod-dev)
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
