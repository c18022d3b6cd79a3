# size: the one settings class; its docstring lists every FARMTRACE_ variable, one place to read them
"""The one settings class. Every setting is an environment variable with the FARMTRACE_ prefix.

    FARMTRACE_DATABASE_URL    SQLAlchemy URL; default: SQLite file farmtrace-data/farmtrace.db
                              PostgreSQL: postgresql+psycopg://user@host:5432/dbname
    FARMTRACE_DATA_DIR        where the embedded default keeps its files (default ./farmtrace-data)
    FARMTRACE_LOG_ORIGIN      the log's name in checkpoints (default farmtrace.local/log, in
                              development only: production must name its own log)
    FARMTRACE_LOG_KEY         the log's signer key (PRIVATE+KEY+…); or
    FARMTRACE_LOG_KEY_FILE    a file holding it (default <data dir>/log.key, created in development
                              for a new ledger, with its verifier key beside it in log.pub)
    FARMTRACE_WITNESS_KEYS    comma-separated cosignature/v1 verifier keys of trusted witnesses
                              (their cosignatures are read and shown; no checkpoint is sent to them)
    FARMTRACE_WITNESSES       comma-separated `URL VKEY` pairs: witnesses the service submits each new
                              checkpoint to (c2sp.org/tlog-witness, docs/witness.md); their keys are
                              trusted as FARMTRACE_WITNESS_KEYS' are
    FARMTRACE_WITNESS_QUORUM  how many of those witnesses must cosign the checkpoint a consumer's page
                              accepts (default: a majority; ledger/policy.py, docs/witness-policy.md)
    FARMTRACE_WITNESS_MAX_AGE the most seconds old the quorum's cosignatures may be for the page to
                              call the record current (default 600: a recall withheld
                              behind an older, genuine snapshot shows within ten minutes)
    FARMTRACE_BOOTSTRAP_KEY   the first regulator's public key (base64 of its 32-byte Ed25519 key, the
                              `public_key` `farmtrace party-key` prints); or
    FARMTRACE_BOOTSTRAP_KEY_FILE  a file holding it, or the JSON `farmtrace party-key` prints. While
                              the ledger has no party, only a self-registration signed with it is
                              accepted over HTTP; unset, the first regulator comes from `farmtrace init`
    FARMTRACE_PUBLIC_URL      the public base URL used in QR labels (default: the address `farmtrace
                              serve` binds, http://127.0.0.1:8000 unless told otherwise)
    FARMTRACE_ENV             development (default) or production
    FARMTRACE_VERIFY_WORKERS  processes that verify signatures of bulk uploads (default: one per
                              CPU, at most 8; 0 verifies in the serving process)
    FARMTRACE_MAX_BODY_BYTES  the largest request body accepted, in bytes (default 16 MiB: a full
                              5,000-entry upload of the client's is at most 12 MiB); larger: 413
    FARMTRACE_APPLICATIONS_PER_HOUR   applications one client address may file per hour (default 20)
    FARMTRACE_MAX_PENDING_APPLICATIONS  pending applications the desk holds at most (default 300)
    FARMTRACE_INDEX_LAG       the most seconds the head index's committed root (an index entry in the
                              log, trace/index_keeper.py) lags behind the log's tip (default 10)
    FARMTRACE_INDEX_MAX_AGE   the most seconds a journey's index entry may be older than the newest
                              witness cosignature of its checkpoint for the page to call the journey
                              complete (default FARMTRACE_INDEX_LAG + 60; docs/index.md §4)
    FARMTRACE_INDEX_KEEPER    process (a process of its own, off ingest's CPU; trace/index_process.py;
                              the default under `farmtrace serve`) or thread (the serving process keeps
                              the head index; the default of an app made in process, e.g. in tests)
    FARMTRACE_ALERT_KEEPER    process (the alerts' scan in a process of its own, nudged after each
                              capture, off ingest's CPU; trace/alert_process.py; the default under
                              `farmtrace serve`) or thread (the serving process scans when a page
                              reads alerts; the default of an app made in process; docs/alerts.md)
    FARMTRACE_VOCAB_BASE      base URI of the EPCIS extension vocabulary ({base}/ns#) and problem
                              types ({base}/problems/…); default: the public URL (the service serves both)
    FARMTRACE_WEBHOOK_PRIVATE 1 lets EPCIS subscriptions deliver to loopback, private and link-local
                              addresses (default 0: refused, so that a party cannot aim the service at
                              the operator's own network)
    FARMTRACE_PUSH_CONTACT    a mailto: or https: URI push services may reach the operator at (VAPID's
                              `sub`, RFC 8292). Set, the consumer page offers "watch this product"
                              (Web Push, trace/push_watch.py, docs/recall-notices.md); unset (default),
                              it does not, and GET /push/key answers 404
    FARMTRACE_PUSH_KEY_FILE   the platform's VAPID key (P-256, PEM), made there on first use
                              (default <data dir>/push.key; every server of one site must share it)
    FARMTRACE_PUSH_SERVICES   push services' hosts a watch's endpoint may name besides the browsers'
                              own (FCM, Mozilla, WNS, Apple: push_watch.PUSH_SERVICES), comma-separated,
                              an exact host or ".suffix"; nothing else is ever sent to
    FARMTRACE_PRICE_WINDOW_DAYS  price alerts: the whole CST days before a price's own day its
                              baseline is taken from (default 30; trace/price_watch.py, docs/alerts.md)
    FARMTRACE_PRICE_MIN_SAMPLES  the fewest prices in that window a price is judged against (default 10)
    FARMTRACE_PRICE_THRESHOLD the robust score (|price − median| / scale) above which a price is an
                              alert (default 5)
    FARMTRACE_PRICE_FLOOR     the scale's least value, as a fraction of the median (default 0.10)
    FARMTRACE_LABEL_SCAN_OFTEN, _FAR_KM, _PER_WINDOW, _WINDOW  pre-printed labels' scans warn above
                              OFTEN scans (default 50) or in an area more than FAR_KM from every sale
                              (default 100); at most PER_WINDOW scans (5) of a label count per WINDOW
                              seconds (600) (trace/label_scans.py, docs/labels-anti-copy.md)

Outside development, a missing or placeholder log key is refused rather than generated; for an
existing ledger it is refused everywhere (a new key would sign another log).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from farmtrace.ledger.errors import LedgerError
from farmtrace.ledger.note import CosignatureVerifier, Signer, Verifier
from farmtrace.ledger.policy import Policy
from farmtrace.ledger.witnessing import WitnessEndpoint
from farmtrace.trace.errors import InvalidEvent
from farmtrace.trace.label_scans import ScanPolicy
from farmtrace.trace.price_watch import PriceWatch

__all__ = ["ConfigError", "Settings", "bound_public_url", "public_url_warning"]

DEFAULT_LOG_ORIGIN = "farmtrace.local/log"  # refused outside development (Settings.from_env)
_PLACEHOLDERS = ("changeme", "change-me", "placeholder", "example-key", "xxx")


class ConfigError(Exception):
    """A setting is missing or unsafe; the message names the variable."""


def _public_key(text: object, name: str) -> bytes:
    """A 32-byte Ed25519 public key from its standard base64 (as party records write it)."""
    try:
        raw = base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"{name} must be the base64 of a 32-byte Ed25519 public key") from exc
    if len(raw) != 32:
        raise ConfigError(f"{name} must be the base64 of a 32-byte Ed25519 public key, found {len(raw)} bytes")
    return raw


def _count(env: dict[str, str], name: str) -> int | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > 64:
        raise ConfigError(f"{name} must be a whole number from 0 to 64, found {text!r}")
    return int(text)


def _base_uri(env: dict[str, str], name: str) -> str:
    text = env.get(name, "").strip()
    if not text:
        return ""
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ConfigError(f"{name} must be an http(s) URL with no query or fragment, found {text!r}")
    return text.rstrip("/")


def _switch(env: dict[str, str], name: str) -> bool:
    text = env.get(name, "").strip()
    if text not in ("", "0", "1"):
        raise ConfigError(f"{name} must be 0 or 1, found {text!r}")
    return text == "1"


def _keeper(env: dict[str, str], name: str) -> str:
    text = env.get(name, "").strip() or "thread"
    if text not in ("thread", "process"):
        raise ConfigError(f"{name} must be thread or process, found {text!r}")
    return text


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _limit(env: dict[str, str], name: str, default: int, *, least: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or int(text) < least:
        raise ConfigError(f"{name} must be a whole number of at least {least}, found {text!r}")
    return int(text)


def _push_contact(env: dict[str, str], name: str) -> str:
    text = env.get(name, "").strip()
    if text and not re.fullmatch(r"mailto:[^\s@]+@[^\s@]+|https://[^\s/?#]+\S*", text):
        raise ConfigError(f"{name} must be a mailto: or https: URI (RFC 8292's contact), found {text!r}")
    return text


def _push_services(env: dict[str, str], name: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in env.get(name, "").split(",") if h.strip())
    for host in hosts:
        if not re.fullmatch(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", host):
            raise ConfigError(f"{name} lists host names or .suffixes, comma-separated; found {host!r}")
    return hosts


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    data_dir: Path = Path("farmtrace-data")
    log_origin: str = DEFAULT_LOG_ORIGIN
    log_key: str | None = field(default=None, repr=False)
    log_key_file: Path | None = None
    witness_keys: tuple[str, ...] = ()
    witness_urls: tuple[str, ...] = ()  # `URL VKEY` each (FARMTRACE_WITNESSES)
    witness_quorum: int | None = None  # None: a majority of the witnesses (FARMTRACE_WITNESS_QUORUM)
    witness_max_age: int = 600  # seconds (FARMTRACE_WITNESS_MAX_AGE)
    bootstrap_key: str | None = None
    bootstrap_key_file: Path | None = None
    public_url: str = "http://127.0.0.1:8000"
    environment: str = "development"
    verify_workers: int | None = None  # None: one per CPU but one, at least 1 (trace/ingest/verifying.py)
    max_body_bytes: int = 16 * 1024 * 1024  # api/limits.py; client.MAX_BATCH_BYTES must fit in it
    applications_per_hour: int = 20  # per client address (trace/applications.py)
    max_pending_applications: int = 300
    vocab_base: str = ""  # empty: public_url (see `vocabulary_base`)
    index_lag: int = 10  # seconds between two index entries at least (FARMTRACE_INDEX_LAG)
    index_max_age: int | None = None  # seconds (FARMTRACE_INDEX_MAX_AGE); None: index_lag + 60
    index_keeper: str = "thread"  # or "process" (FARMTRACE_INDEX_KEEPER)
    alert_keeper: str = "thread"  # or "process" (FARMTRACE_ALERT_KEEPER)
    webhook_private: bool = False  # EPCIS subscriptions (and push endpoints) may be private addresses
    push_contact: str = ""  # FARMTRACE_PUSH_CONTACT; empty: no "watch this product"
    push_key_file: Path | None = None  # FARMTRACE_PUSH_KEY_FILE; None: <data dir>/push.key
    push_services: tuple[str, ...] = ()  # FARMTRACE_PUSH_SERVICES: more push services' hosts
    # Price alerts (trace/price_watch.py, docs/alerts.md): the baseline's window in days, the fewest
    # prices it judges from, the robust score that alerts, the scale's floor as a fraction of the median.
    price_window_days: int = 30  # FARMTRACE_PRICE_WINDOW_DAYS
    price_min_samples: int = 10  # FARMTRACE_PRICE_MIN_SAMPLES
    price_threshold: str = "5"  # FARMTRACE_PRICE_THRESHOLD
    price_floor: str = "0.10"  # FARMTRACE_PRICE_FLOOR
    label_scan: tuple[int, int, int, int] = (50, 100, 5, 600)  # FARMTRACE_LABEL_SCAN_{OFTEN,FAR_KM,PER_WINDOW,WINDOW}

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("FARMTRACE_DATA_DIR", "farmtrace-data"))
        values = {
            "data_dir": data_dir,
            "database_url": env.get("FARMTRACE_DATABASE_URL", ""),
            "log_origin": env.get("FARMTRACE_LOG_ORIGIN", "").strip() or DEFAULT_LOG_ORIGIN,
            "log_key": env.get("FARMTRACE_LOG_KEY") or None,
            "log_key_file": Path(env["FARMTRACE_LOG_KEY_FILE"])
            if env.get("FARMTRACE_LOG_KEY_FILE")
            else None,
            "witness_keys": tuple(
                k.strip() for k in env.get("FARMTRACE_WITNESS_KEYS", "").split(",") if k.strip()
            ),
            "witness_urls": tuple(
                w.strip() for w in env.get("FARMTRACE_WITNESSES", "").split(",") if w.strip()
            ),
            "witness_quorum": _count(env, "FARMTRACE_WITNESS_QUORUM"),
            "witness_max_age": _limit(env, "FARMTRACE_WITNESS_MAX_AGE", 600, least=1),
            "bootstrap_key": env.get("FARMTRACE_BOOTSTRAP_KEY", "").strip() or None,
            "bootstrap_key_file": Path(env["FARMTRACE_BOOTSTRAP_KEY_FILE"])
            if env.get("FARMTRACE_BOOTSTRAP_KEY_FILE")
            else None,
            "public_url": env.get("FARMTRACE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            "environment": env.get("FARMTRACE_ENV", "development"),
            "verify_workers": _count(env, "FARMTRACE_VERIFY_WORKERS"),
            "max_body_bytes": _limit(env, "FARMTRACE_MAX_BODY_BYTES", 16 * 1024 * 1024, least=64 * 1024),
            "applications_per_hour": _limit(env, "FARMTRACE_APPLICATIONS_PER_HOUR", 20, least=1),
            "max_pending_applications": _limit(env, "FARMTRACE_MAX_PENDING_APPLICATIONS", 300, least=1),
            "vocab_base": _base_uri(env, "FARMTRACE_VOCAB_BASE"),
            "index_lag": _limit(env, "FARMTRACE_INDEX_LAG", 10, least=0),
            "index_max_age": _limit(env, "FARMTRACE_INDEX_MAX_AGE", 0, least=1) or None,  # unset: 0
            "index_keeper": _keeper(env, "FARMTRACE_INDEX_KEEPER"),
            "alert_keeper": _keeper(env, "FARMTRACE_ALERT_KEEPER"),
            "webhook_private": _switch(env, "FARMTRACE_WEBHOOK_PRIVATE"),
            "push_contact": _push_contact(env, "FARMTRACE_PUSH_CONTACT"),
            "push_key_file": Path(env["FARMTRACE_PUSH_KEY_FILE"])
            if env.get("FARMTRACE_PUSH_KEY_FILE")
            else None,
            "push_services": _push_services(env, "FARMTRACE_PUSH_SERVICES"),
            "price_window_days": _limit(env, "FARMTRACE_PRICE_WINDOW_DAYS", 30, least=1),
            "price_min_samples": _limit(env, "FARMTRACE_PRICE_MIN_SAMPLES", 10, least=3),
            "price_threshold": env.get("FARMTRACE_PRICE_THRESHOLD", "").strip() or "5",
            "price_floor": env.get("FARMTRACE_PRICE_FLOOR", "").strip() or "0.10",
            "label_scan": tuple(
                _limit(env, f"FARMTRACE_LABEL_SCAN_{name}", default, least=1)
                for name, default in (("OFTEN", 50), ("FAR_KM", 100), ("PER_WINDOW", 5), ("WINDOW", 600))
            ),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.witness_endpoints()  # a bad FARMTRACE_WITNESSES is refused at start, naming it
        settings.witness_policy()  # so is a quorum the witnesses cannot meet
        settings.price_watch()  # and a price alert setting out of its range
        if not settings.development and settings.log_origin == DEFAULT_LOG_ORIGIN:
            # Regulator tokens are bound to the origin: two deployments sharing the default would
            # accept each other's.
            raise ConfigError(
                f"FARMTRACE_LOG_ORIGIN must name this deployment's own log outside development "
                f"(e.g. trace.example.gov.cn/log), not the default {DEFAULT_LOG_ORIGIN!r}: regulator tokens "
                "are bound to the origin, so deployments sharing the default accept each other's"
            )
        return settings

    @property
    def vocabulary_base(self) -> str:
        """The base URI of the extension vocabulary and problem types: FARMTRACE_VOCAB_BASE, else
        the public URL. Either way the service serves `{base}/ns` and `{base}/problems/…` itself, so
        the URIs resolve; set it to a name the operator will keep, since documents carry it."""
        return (self.vocab_base or self.public_url).rstrip("/")

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'farmtrace.db').resolve()}"

    @property
    def resolved_push_key_file(self) -> Path:
        """Where the VAPID key is kept (FARMTRACE_PUSH_KEY_FILE, else push.key in the data directory)."""
        return self.push_key_file or self.data_dir / "push.key"

    @property
    def resolved_log_key_file(self) -> Path:
        return self.log_key_file or self.data_dir / "log.key"

    @property
    def resolved_log_verifier_file(self) -> Path:
        """Where the log's public (verifier) key is kept, beside its key file: log.pub for log.key.
        Written with the key; read by the commands that only read a ledger (verify, checkpoint, export)."""
        return self.resolved_log_key_file.with_suffix(".pub")

    def _log_key_text(self) -> str | None:
        if self.log_key is not None:
            return self.log_key
        path = self.resolved_log_key_file
        return path.read_text().strip() if path.exists() else None

    def _where_the_key_was_looked_for(self) -> str:
        return f"FARMTRACE_LOG_KEY is unset and {self.resolved_log_key_file.resolve()} does not exist"

    def log_signer(self) -> Signer:
        """The log's signer, from FARMTRACE_LOG_KEY or its key file. Raises ConfigError naming where
        it looked when there is none: an existing ledger's log must be signed by the key that signed it."""
        text = self._log_key_text()
        if text is None:
            raise ConfigError(
                f"no log key: {self._where_the_key_was_looked_for()}; set FARMTRACE_LOG_KEY or "
                "FARMTRACE_LOG_KEY_FILE to the key that signed this ledger's log (a new key would sign another log)"
            )
        return self._parse_signer(text)

    def new_log_signer(self) -> tuple[Signer, bool]:
        """The signer for a NEW ledger (one with no checkpoint): the configured key, or in development
        a fresh one. Returns (signer, generated); a generated key is not yet saved: `save_log_key`
        writes it once the log has opened with it. Outside development a missing key is refused."""
        text = self._log_key_text()
        if text is not None:
            return self._parse_signer(text), False
        if not self.development:
            raise ConfigError(
                f"no log key: {self._where_the_key_was_looked_for()}; outside development none is generated: "
                "make one with `farmtrace keygen ORIGIN --out FILE` and point FARMTRACE_LOG_KEY_FILE at it"
            )
        return Signer.generate(self.log_origin), True

    def save_log_key(self, signer: Signer) -> None:
        """Write a generated log key to its key file (mode 0600, never over an existing file) and its
        verifier key beside it (`resolved_log_verifier_file`)."""
        path = self.resolved_log_key_file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(signer.key_string() + "\n")
        self.save_log_verifier(signer.verifier)

    def save_log_verifier(self, verifier: Verifier) -> None:
        """Keep the log's public key beside its key file, for auditors without the private key.
        Only when the key comes from a file, and only if none is there yet."""
        if self.log_key is not None and self.log_key_file is None:
            return  # the key came from the environment: there is no key file to put it beside
        pub = self.resolved_log_verifier_file
        try:
            if not pub.exists() and pub.parent.is_dir():
                pub.write_text(verifier.key_string() + "\n")
        except OSError:
            pass  # a convenience only (the key file's directory may be read-only): `--key` still works

    def log_verifier(self) -> Verifier:
        """The log's public key, for commands that only read a ledger: from the configured signer key
        if there is one, else from the verifier key file beside where it would be. ConfigError naming
        the places looked at if neither is there."""
        text = self._log_key_text()
        if text is not None:
            return self._parse_signer(text).verifier
        pub = self.resolved_log_verifier_file
        if not pub.exists():
            raise ConfigError(
                f"no log key: {self._where_the_key_was_looked_for()}, nor is its verifier key in {pub.resolve()}; "
                "pass --key with the log's verifier key (as `farmtrace init` prints it), "
                "or set FARMTRACE_LOG_KEY or FARMTRACE_LOG_KEY_FILE"
            )
        try:
            verifier = Verifier.from_key_string(pub.read_text().strip())
        except LedgerError as exc:
            raise ConfigError(f"{pub} does not hold a log verifier key: {exc}") from exc
        if verifier.name != self.log_origin:
            raise ConfigError(
                f"the log verifier key in {pub} is named {verifier.name!r} but FARMTRACE_LOG_ORIGIN is {self.log_origin!r}"
            )
        return verifier

    def _parse_signer(self, text: str) -> Signer:
        if any(p in text.lower() for p in _PLACEHOLDERS) and not self.development:
            raise ConfigError(
                "FARMTRACE_LOG_KEY is a placeholder; generate one with `farmtrace keygen ORIGIN --out FILE` and point FARMTRACE_LOG_KEY_FILE at it"
            )
        try:
            signer = Signer.from_key_string(text)
        except LedgerError as exc:
            raise ConfigError(f"the log key is not a valid signer key: {exc}") from exc
        if signer.name != self.log_origin:
            raise ConfigError(
                f"the log key is named {signer.name!r} but FARMTRACE_LOG_ORIGIN is {self.log_origin!r}"
            )
        return signer

    def bootstrap_keys(self) -> tuple[bytes, ...]:
        """The raw Ed25519 public keys that may sign the genesis entry over HTTP (see
        `TraceService.record_genesis`): FARMTRACE_BOOTSTRAP_KEY and the key in FARMTRACE_BOOTSTRAP_KEY_FILE.
        Empty if neither is set. Raises ConfigError naming the variable if a key does not parse."""
        keys = []
        if self.bootstrap_key is not None:
            keys.append(_public_key(self.bootstrap_key, "FARMTRACE_BOOTSTRAP_KEY"))
        if self.bootstrap_key_file is not None:
            name = f"FARMTRACE_BOOTSTRAP_KEY_FILE ({self.bootstrap_key_file})"
            try:
                text = self.bootstrap_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{name} cannot be read: {exc.strerror or exc}") from exc
            if text.startswith("{"):  # the JSON `farmtrace party-key` prints
                try:
                    text = json.loads(text)["public_key"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(f"{name} is JSON without a public_key string") from exc
            keys.append(_public_key(text, name))
        return tuple(keys)

    def witnesses(self) -> list[CosignatureVerifier]:
        """Every trusted witness key: FARMTRACE_WITNESS_KEYS', then those of FARMTRACE_WITNESSES."""
        try:
            keys = [CosignatureVerifier.from_key_string(k) for k in self.witness_keys]
        except LedgerError as exc:
            raise ConfigError(f"FARMTRACE_WITNESS_KEYS holds an invalid key: {exc}") from exc
        for endpoint in self.witness_endpoints():
            if endpoint.key not in keys:
                keys.append(endpoint.key)
        return keys

    def witness_policy(self) -> Policy:
        """The policy a consumer's page holds the checkpoint to (ledger/policy.py): FARMTRACE_WITNESS_QUORUM
        of `witnesses()` (a majority by default), cosigned at most FARMTRACE_WITNESS_MAX_AGE seconds
        ago; `quorum none` with no witnesses. ConfigError naming the variable for a quorum out of range."""
        keys = self.witnesses()
        if self.witness_quorum is not None and not 1 <= self.witness_quorum <= max(len(keys), 1):
            raise ConfigError(
                f"FARMTRACE_WITNESS_QUORUM must be from 1 to the {len(keys)} configured witnesses, "
                f"found {self.witness_quorum}"
            )
        if self.witness_quorum is not None and not keys:
            raise ConfigError(
                "FARMTRACE_WITNESS_QUORUM is set but no witness is configured (FARMTRACE_WITNESSES)"
            )
        try:
            return Policy.of_witnesses(keys, quorum=self.witness_quorum, max_age=self.witness_max_age)
        except LedgerError as exc:  # two witnesses' keys under one name
            raise ConfigError(f"the witnesses cannot form a policy: {exc}") from exc

    def label_scan_policy(self) -> ScanPolicy:
        """When pre-printed labels' scans warn, and how many count (trace/label_scans.py)."""
        return ScanPolicy(*self.label_scan)

    def price_watch(self) -> PriceWatch:
        """How prices are watched for alerts (trace/price_watch.py). Raises ConfigError naming the
        variable whose value is not a number in its range."""
        names = {
            "window_days": "FARMTRACE_PRICE_WINDOW_DAYS",
            "min_samples": "FARMTRACE_PRICE_MIN_SAMPLES",
            "threshold": "FARMTRACE_PRICE_THRESHOLD",
            "floor": "FARMTRACE_PRICE_FLOOR",
        }
        try:
            threshold, floor = Decimal(self.price_threshold), Decimal(self.price_floor)
        except InvalidOperation:
            bad = "threshold" if not _is_decimal(self.price_threshold) else "floor"
            found = getattr(self, "price_" + bad)
            raise ConfigError(f"{names[bad]} must be a number, found {found!r}") from None
        try:
            return PriceWatch(
                window_days=self.price_window_days,
                min_samples=self.price_min_samples,
                threshold=threshold,
                floor=floor,
            )
        except InvalidEvent as exc:
            raise ConfigError(f"{names[exc.field]}: {exc.message}") from None

    def index_age_limit(self) -> int:
        """The most seconds a journey's index entry may be older than its checkpoint's newest witness
        cosignature (the page's clock without witnesses) for the page to call it the latest:
        FARMTRACE_INDEX_MAX_AGE, by default FARMTRACE_INDEX_LAG + 60 (docs/index.md §4 step 1b)."""
        return self.index_max_age if self.index_max_age is not None else self.index_lag + 60

    def witness_refresh(self) -> float:
        """How old (seconds) a witness's cosignature of the latest checkpoint may get before the log
        sends that checkpoint again (ledger/witnessing.py): a quarter of FARMTRACE_WITNESS_MAX_AGE,
        at least a minute and at most an hour, so a quiet log's pages never go stale."""
        return float(max(60, min(3600, self.witness_max_age // 4)))

    def witness_endpoints(self) -> tuple[WitnessEndpoint, ...]:
        """The witnesses each new checkpoint is submitted to (FARMTRACE_WITNESSES)."""
        try:
            return WitnessEndpoint.parse_list(",".join(self.witness_urls))
        except LedgerError as exc:
            raise ConfigError(
                f"FARMTRACE_WITNESSES: {exc} (each witness is 'URL VKEY', comma-separated)"
            ) from exc


# --- the public URL and the address `farmtrace serve` binds --------------------------------------

_WILDCARDS = ("", "0.0.0.0", "::")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bound_public_url(host: str, port: int) -> str:
    """The public URL a server bound to `host`:`port` gives its labels when FARMTRACE_PUBLIC_URL is unset.

    `http://host:port`; for a wildcard bind (0.0.0.0, ::) the loopback address on that port, since
    no name for the machine can be guessed (`public_url_warning` then says so).
    """
    if host in _WILDCARDS:
        host = "::1" if host == "::" else "127.0.0.1"
    return f"http://{_authority(host, port)}"


def public_url_warning(public_url: str, *, host: str, port: int) -> str | None:
    """One line saying why labels printed with `public_url` would not reach a server bound to
    `host`:`port`, or None when they would.

    Warns when a plain-http public URL names another host or port than the one bound (loopback
    names count as one host, and any host matches a wildcard bind), and when a wildcard bind comes
    with a loopback public URL (phones cannot open 127.0.0.1). An https URL is not compared: `serve`
    speaks plain HTTP, so such a URL is a TLS proxy's, and a proxy's address is meant to differ.
    """
    parts = urlsplit(public_url)
    try:
        public_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"FARMTRACE_PUBLIC_URL {public_url!r} has no valid port: labels will not open"
    public_host = parts.hostname or ""
    bound = _authority(host or "0.0.0.0", port)
    if host in _WILDCARDS and _loopback(public_host):
        return (
            f"labels will point to {public_url}, a loopback address, while the server listens on {bound} "
            "for other machines: phones cannot open it; set FARMTRACE_PUBLIC_URL to this machine's public URL"
        )
    if parts.scheme != "http":
        return None
    same_host = (
        host in _WILDCARDS
        or public_host == host
        or (_loopback(public_host) and _loopback(host))
    )
    if same_host and public_port == port:
        return None
    return (
        f"labels will point to {public_url} but the server listens on {bound}: "
        "fix FARMTRACE_PUBLIC_URL, or unset it to use the bound address"
    )
