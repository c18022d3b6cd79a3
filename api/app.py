"""The composition root: `create_app(settings)` builds storage, the log and the routes."""

from __future__ import annotations

from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from farmtrace.ledger.log import Log
from farmtrace.ledger.sqlstore import SqlStore
from farmtrace.ledger.witnessing import Witnessing
from farmtrace.trace.alert_process import AlertProcess, open_log_reader
from farmtrace.trace.alerts import Alerts
from farmtrace.trace.applications import Applications
from farmtrace.trace.audits import AuditJob
from farmtrace.trace.clock import Clock, utc_now
from farmtrace.trace.epcis_subscriptions import Notifier
from farmtrace.trace.index_keeper import IndexKeeper
from farmtrace.trace.index_process import KeeperProcess, open_sql_log
from farmtrace.trace.ingest import verifying
from farmtrace.trace.push_watch import PUSH_SERVICES, PushWatches
from farmtrace.trace.service import TraceService
from farmtrace.trace.web_push import VapidKey
from farmtrace.web import console as web_console
from farmtrace.web import consumer as web_consumer
from farmtrace.web import home as web_home
from farmtrace.web import label_scans as web_label_scans
from farmtrace.web import labels as web_labels
from farmtrace.web import portal as web_portal
from farmtrace.web import prices as web_prices
from farmtrace.web import resolver as web_resolver
from farmtrace.web import watch as web_watch
from farmtrace.web.portal import label_activation as web_portal_labels
from farmtrace.web.portal import notices as web_portal_notices
from farmtrace.web.portal import offline as web_portal_offline
from farmtrace.web.portal import sheets as web_portal_sheets
from farmtrace.web.state import AppState

from .docs import install_docs
from .errors import install_error_handlers
from .limits import BodyLimit
from .methods import HeadAsGet
from .reader_caching import ReaderCaching
from .routes import alerts as alert_routes
from .routes import checkpoints as checkpoint_routes
from .routes import compliance as compliance_routes
from .routes import console as console_routes
from .routes import epcis_query as epcis_query_routes
from .routes import ledger as ledger_routes
from .routes import national as national_routes
from .routes import recall_notices as recall_notice_routes
from .routes import tiles as tiles_routes
from .routes import trace as trace_routes
from .routes import vocabulary as vocabulary_routes
from .routes import watch as watch_routes
from .schemas import install_openapi
from .settings import ConfigError, Settings

__all__ = ["app_from_env", "create_app", "open_log", "open_service"]


def open_log(settings: Settings, *, clock: Clock = utc_now) -> Log:
    """Open (and create, if new) the log's storage and its signer; `clock` times its checkpoints.

    A key is generated (in development) only for a new ledger, one whose store holds no checkpoint,
    and saved only once the log has opened with it. An existing ledger whose key is missing is
    refused (ConfigError naming where the key was looked for): a new key would sign another log.
    """
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqlStore.from_url(settings.resolved_database_url)
    try:
        if store.latest_checkpoint() is None:
            signer, generated = settings.new_log_signer()
        else:
            signer, generated = settings.log_signer(), False
        log = Log(store, signer, clock=lambda: clock().timestamp())
    except BaseException:
        store.close()
        raise
    try:
        if generated:
            settings.save_log_key(signer)
        else:
            settings.save_log_verifier(signer.verifier)  # for ledgers made before log.pub was kept
    except BaseException:
        log.close(close_store=True)
        raise
    return log


def open_service(settings: Settings, *, clock: Clock = utc_now) -> TraceService:
    """The domain service over the configured log (tables created if new), reading the time from `clock`."""
    log = open_log(settings, clock=clock)
    service = TraceService(log, log.engine, clock=clock, bootstrap_keys=settings.bootstrap_keys())
    service.create_tables()
    return service


def _index_keeper(settings: Settings, log: Log, clock: Clock) -> IndexKeeper | KeeperProcess:
    """The head index's keeper: in this process (a thread, on `clock`), or with
    FARMTRACE_INDEX_KEEPER=process in a process of its own (on the machine's clock)."""
    if settings.index_keeper == "process" and log.signer is not None:
        opener = partial(open_sql_log, settings.resolved_database_url, log.signer.key_string())
        return KeeperProcess(opener, lag=settings.index_lag)
    return IndexKeeper(log, clock=lambda: clock().timestamp(), lag=settings.index_lag)


def _alert_keeper(settings: Settings, service: TraceService) -> tuple[Alerts, AlertProcess] | None:
    """With FARMTRACE_ALERT_KEEPER=process, the app's alerts and the process that scans for them;
    None: pages scan for alerts in this process when they read them (trace/alerts.py)."""
    if settings.alert_keeper != "process":
        return None
    watch = settings.price_watch()
    alerts = Alerts.of(service.log, service.engine, watch=watch)  # makes the alert tables before the child
    opener = partial(open_log_reader, settings.resolved_database_url, service.log.verifier.key_string())
    return alerts, AlertProcess(opener, watch=watch)


def _push_watches(settings: Settings, service: TraceService, clock: Clock) -> PushWatches | None:
    """Consumers' "watch this product" (Web Push), when FARMTRACE_PUSH_CONTACT names the operator;
    its VAPID key is kept in FARMTRACE_PUSH_KEY_FILE (made there on first use)."""
    if not settings.push_contact:
        return None
    path = settings.resolved_push_key_file
    try:
        key = VapidKey.load_or_create(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"FARMTRACE_PUSH_KEY_FILE ({path}) holds no usable P-256 key: {exc}") from exc
    return PushWatches(
        service.engine,
        service.log,
        key=key,
        contact=settings.push_contact,
        public_url=settings.public_url,
        clock=clock,
        words=web_watch.notice_words,
        allow_private=settings.webhook_private,
        services=PUSH_SERVICES + settings.push_services,
    )


# size: the composition root builds every worker of the app and starts and stops it in one lifespan
def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The app over `settings`. `clock` is its one source of the current time (default `utc_now`): the
    service, the audit runner, the pages and the routes all read `app.state.clock`; tests pin it."""
    clock = clock or utc_now
    service = open_service(settings, clock=clock)
    log = service.log
    # Each new checkpoint goes to the configured witnesses in the background (docs/witness.md).
    witnessing = Witnessing(
        log, settings.witness_endpoints(), clock=lambda: clock().timestamp(), refresh=settings.witness_refresh()
    )
    # The head index's root is committed in the log at most FARMTRACE_INDEX_LAG s behind its tip.
    index_keeper = _index_keeper(settings, log, clock)
    service.recorder.after_batch = index_keeper.nudge
    # With FARMTRACE_ALERT_KEEPER=process, alerts are found in a process of their own, nudged too.
    alerting = _alert_keeper(settings, service)
    if alerting is not None:
        alert_keeper = alerting[1]

        def after_batch() -> None:
            index_keeper.nudge()
            alert_keeper.nudge()

        service.recorder.after_batch = after_batch
    notifier = Notifier(  # EPCIS webhooks
        service.engine, log, base=settings.vocabulary_base, clock=clock, allow_private=settings.webhook_private
    )
    watches = _push_watches(settings, service, clock)  # consumers' Web Push (docs/recall-notices.md)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if witnessing.endpoints:
            witnessing.start()
        index_keeper.start()
        if alerting is not None:
            alerting[1].start()
            alerting[0].kept_by(alerting[1])
        notifier.start()
        if watches is not None:
            watches.start()
        yield
        if watches is not None:
            watches.stop()
        notifier.stop()
        if alerting is not None:
            alerting[1].stop()
            alerting[0].kept_by(None)
        index_keeper.stop()
        witnessing.stop()
        # Let a running audit record its verdict before the store closes under it.
        app.state.audit_job.wait(timeout=60)
        log.close(close_store=True)

    app = FastAPI(
        title="farmtrace",
        summary="A verifiable farm-to-table traceability ledger",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from this server, not from a CDN
        redoc_url=None,
    )
    # The app's state is one typed object (web/state.py), built here once; `app.state.service` and
    # the rest keep their names, and the pages read them typed, never by string.
    app.state = AppState(  # type: ignore[assignment]
        settings=settings,
        clock=clock,
        log=log,
        service=service,
        audit_job=AuditJob(log, log.engine, clock=clock, witnesses=settings.witnesses()),
        applications=Applications(
            log.engine,
            per_hour=settings.applications_per_hour,
            max_pending=settings.max_pending_applications,
        ),
        witnessing=witnessing,
    )
    if watches is not None:
        web_watch.install(app.state, watches)  # type: ignore[arg-type]
    # Journeys and exports are JSON and text: compress them for phones on weak networks. Level 6,
    # zlib's default (Starlette's is 9): a bulk upload's answer (2,000 receipts, about 2 MB) then
    # takes 22 ms instead of 31 to compress on the event loop, and is 0.1% larger.
    # Tiles and entry bundles (application/octet-stream) encode themselves (api/routes/tiles.py).
    plain = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/octet-stream")
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6, exclude_content_types=plain)
    # Outside gzip and every route: an over-long body is refused before anything reads it.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(ledger_routes.router)
    app.include_router(tiles_routes.router)  # /log/: the log as C2SP tlog-tiles (docs/tiles.md)
    app.include_router(checkpoint_routes.router)  # /log/checkpoints: every signed checkpoint (docs/mirror.md)
    app.include_router(console_routes.router)  # before trace: /parties/applications is not a party id
    app.include_router(national_routes.router)  # /national-codes, a party's 来源/去向 export (docs/national-platform.md)
    app.include_router(compliance_routes.router)  # parties' compliance records (docs/compliance-record.md)
    app.include_router(alert_routes.router)  # /alerts: signals on accepted events (docs/alerts.md)
    app.include_router(recall_notice_routes.router)  # /recall-notices (docs/recall-notices.md)
    app.include_router(watch_routes.router)  # /push/key, /watch: consumers' Web Push (docs/recall-notices.md)
    app.include_router(trace_routes.router)
    app.include_router(vocabulary_routes.router)
    app.include_router(epcis_query_routes.router)  # /epcis: the EPCIS 2.0 query interface (docs/epcis-query.md)
    install_docs(app)
    # The web floor's routers (pages, labels) are mounted below, one line each.
    app.include_router(web_label_scans.router)  # before the resolver: /01/{gtin}/21/{serial}, pre-printed labels
    app.include_router(web_resolver.router)  # /01/...: the GS1 Digital Link resolver (docs/resolver.md)
    app.include_router(web_consumer.router)
    app.include_router(web_watch.router)  # /push-sw.js: the push-only service worker
    app.include_router(web_home.router)
    app.include_router(web_prices.router)  # /market-prices: the public price page
    app.include_router(web_labels.router)
    app.include_router(web_console.router)
    app.include_router(web_portal_offline.router)  # before the portal: /portal/sw.js, /portal/outbox are no forms
    app.include_router(web_portal_sheets.router)  # before the portal: /portal/import is no event form
    app.include_router(web_portal_notices.router)  # before the portal: /portal/notices is no event form
    app.include_router(web_portal_labels.router)  # before the portal: /portal/label_activate (docs/labels-anti-copy.md)
    app.include_router(web_portal.router)
    app.include_router(trace_routes.lot_router)  # last: /lots/{code:path} would match the routes above
    app.add_middleware(ReaderCaching)  # answers that depend on the reader: Vary, and private when signed in
    # HEAD on every GET route; outside gzip, so a HEAD's Content-Length is its GET's.
    app.add_middleware(HeadAsGet)
    install_openapi(app)  # after every route and middleware: it documents their error answers
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory farmtrace.api.app:app_from_env` (several workers).

    A served process also starts its signature-verification workers now (trace/ingest/verifying.py), so
    the first bulk upload does not wait for them; tests build apps with `create_app` and do not.
    """
    settings = Settings.from_env()
    app = create_app(settings)
    verifying.configure(settings.verify_workers)
    verifying.warm_up()
    served = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Stop the verification workers with the service: uvicorn ends a process it stopped on
        # SIGTERM by raising the signal again, so no exit handler of this process would stop them.
        try:
            async with served(app) as state:
                yield state
        finally:
            verifying.shut_down()

    app.router.lifespan_context = lifespan
    return app
