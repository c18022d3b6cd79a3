"""What every console page shares: the regulator gate's 403 page, rendering, and form fields.

`ConsoleRoute` is the console routers' route class. A page takes `regulator: RegulatorDep`
(web/deps.py); when the request is not a regulator's, that dependency raises NotRegulator
(web/auth.py) and this route class answers with the 403 page in the reader's language — why (no
token, one that does not authenticate, a party without the role) and the sign-in form — so no page
repeats the gate.

`render` adds the console's frame to web/render.py's: links keeping the language (`url`), the
notice after an action (?done=), the config static/console.js reads, and the regulator's own name
and address (where its events happen). Pages are regulator-only data: never cached.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from farmtrace.trace.clock import MAX_YEAR, MIN_YEAR, bounded_day
from farmtrace.trace.errors import InvalidEvent

from ..assets import asset_url, content_security_policy
from ..auth import NotRegulator
from ..i18n import Translator
from ..render import Surface, translator, url
from ..render import render as render_page
from ..state import app_state

__all__ = ["DONE", "ConsoleRoute", "form_day", "form_days", "kind_name", "next_path", "private_details", "render"]

DONE = ("approved", "rejected", "suspended", "revoked", "recalled")  # the ?done= notices

SURFACE = Surface(
    csp=content_security_policy(linked_styles=True),
    cache_control="no-store",  # regulator-only data: never kept by a shared cache or the browser
    vary="Accept-Language, Cookie",
    drop=("lang", "done"),
)
_ASSET_URLS = {name: asset_url(name) for name in ("console.css", "console.js", "signing.js")}


class ConsoleRoute(APIRoute):
    """A console page: NotRegulator from its dependencies is answered with the 403 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def gated(request: Request) -> Response:
            try:
                return await handler(request)
            except NotRegulator as refused:
                return forbidden_page(request, refused)

        return gated


def forbidden_page(request: Request, refused: NotRegulator) -> Response:
    """The 403 page: why the request is refused, in the reader's language, and the sign-in form."""
    t = translator(request, request.query_params.get("lang"))
    if refused.why == "no_token":
        reason = t("console.forbidden.no_token")
    elif refused.why == "bad_token":
        reason = t("console.forbidden.bad_token")
    else:
        assert refused.party is not None
        reason = t("console.forbidden.not_regulator", party=refused.party.id)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        t,
        "console/forbidden.html",
        status=403,
        title=t("console.forbidden.title"),
        reason=reason,
        who=refused.party,
        next=next_path(path, t),
    )


def next_path(path: str, t: Translator) -> str:
    """A same-site console path to return to after signing in (anything else: the console's home)."""
    if (
        path.startswith("/console")
        and not path.startswith("/console/signin")
        and "//" not in path
        and "\\" not in path
    ):
        return path
    return url("/console", t)


def render(request: Request, t: Translator, template: str, *, status: int = 200, **context: Any) -> Response:
    """A console page: `context` may name the `regulator` signed in and the `nav` entry to mark."""
    done = request.query_params.get("done")
    config: dict[str, Any] = {
        "lang": t.lang,
        "messages": t.catalogue("console.js."),
        "signin": url("/console/signin", t),
    }
    regulator = context.get("regulator")
    if regulator is not None:
        # Where the regulator's events happen: its registered name and address.
        record = app_state(request).service.party(regulator.id)
        config["regulator"] = regulator.id
        config["location"] = {"name": record.name_zh, "address": record.address}
    context.setdefault("regulator", None)
    return render_page(
        request,
        t,
        template,
        surface=SURFACE,
        status=status,
        assets=_ASSET_URLS,
        url=lambda path, **params: url(path, t, **params),
        flash=t(f"console.done.{done}") if done in DONE else None,
        config=config,
        nav=context.pop("nav", None),
        **context,
    )


def kind_name(kind: str, t: Translator) -> str:
    """An event kind in the reader's words (the kind's code if it has none)."""
    key = f"console.kind.{kind}"
    return t(key) if t.has(key) else kind


def private_details(details: Mapping[str, str] | None, t: Translator) -> list[tuple[str, str]] | None:
    """The registration desk's contact details as (label in the reader's language, value) pairs."""
    if not details:
        return None
    return [
        (t(f"console.private.{k}") if t.has(f"console.private.{k}") else k, v) for k, v in details.items()
    ]


def form_day(text: str, errors: list[str], t: Translator, field: str) -> date | None:
    """A YYYY-MM-DD form field (empty: None); a malformed one, or one outside the years the service
    handles (trace/clock.py's MIN_YEAR..MAX_YEAR), adds an error naming `field`."""
    text = text.strip()
    if not text or (len(text) == 10 and _is_day(text)):
        day = date.fromisoformat(text) if text else None
        try:
            return bounded_day(field, day)
        except InvalidEvent:
            errors.append(
                t(
                    "console.filter.day_out_of_range",
                    field=t(f"console.filter.{field}"),
                    value=text,
                    first=MIN_YEAR,
                    last=MAX_YEAR,
                )
            )
            return None
    errors.append(t("console.filter.bad_date", field=t(f"console.filter.{field}"), value=text[:20]))
    return None


def form_days(since: str, until: str, t: Translator) -> tuple[date | None, date | None, list[str]]:
    """The `since` and `until` day fields of a console form: (start, end, errors), as `form_day` reads each."""
    errors: list[str] = []
    return form_day(since, errors, t, "since"), form_day(until, errors, t, "until"), errors


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
