"""The read-only dashboard of ``finpulse api``: pages, their JSON and the static files.

    GET /                     overview: every topic, its latest window, sparkline, open alerts
    GET /topic/{topic}        a topic's timelines (1 min / 15 min / 1 h), alerts, texts, baseline
    GET /alerts               the alert feed with evidence and delivery status per subscriber
    GET /api/overview?length=900&hours=3     JSON behind the overview
    GET /api/topic/{topic}?hours=3           JSON behind a topic page
    GET /api/texts/{topic}?start=S&end=E     the texts behind a window, most negative first
    GET /api/alerts?hours=24                 JSON behind the alert feed
    GET /static/...           the pages' scripts and styles; /static/vendor/ the chart library

Live: the pages poll their JSON every few seconds (plain requests: nothing held open, any proxy
passes them) and show the data time and how far behind the wall clock it is. Open on loopback;
on any other address every path here needs one of the API tokens, as a bearer header, a
``finpulse_token`` cookie, or once as ``?token=`` (which sets the cookie).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from stream.clickhouse.client import mapped
from stream.config import ClickHouseSettings, Settings
from stream.errors import ConfigError
from stream.web import queries

STATIC = Path(__file__).with_name("static")
ROOT = Path(__file__).resolve().parents[2]  # the checkout (.tools/ beside stream/)
PAGES = {"overview": "topics", "topic": "topic", "alerts": "alerts"}  # page -> its title
COOKIE = "finpulse_token"
CLIENT = web.AppKey("dashboard_client", object)
CLIENT_LOCK = web.AppKey("dashboard_lock", asyncio.Lock)
ALPHA = web.AppKey("dashboard_alpha", float)
CH = web.AppKey("dashboard_clickhouse", ClickHouseSettings)
Connect = Callable[[], Any]


def chart_library() -> Path:
    """uPlot's dist folder, installed by ops/install into FINPULSE_TOOLS (default .tools/)."""
    tools = Path(os.environ.get("FINPULSE_TOOLS") or ROOT / ".tools")
    dist = tools / "node_modules" / "uplot" / "dist"
    if not (dist / "uPlot.iife.min.js").is_file():
        raise ConfigError(f"the chart library is not installed in {tools}: run ./ops/install "
                          "(or set FINPULSE_TOOLS to the folder it installed into)")  # fmt: skip
    return dist


def is_dashboard(path: str) -> bool:
    return not path.startswith("/v1/") and path != "/healthz"


def token_from(request: web.Request) -> str:
    """The token a browser sent: header, cookie or query (in that order)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and given:
        return given.strip()
    return request.cookies.get(COOKIE) or request.query.get("token", "")


def _mapped(settings: ClickHouseSettings, call: Callable[..., Any], *args: Any) -> Any:
    with mapped(settings):  # ClickHouse down: 503 with the fix, through the API's guard
        return call(*args)


async def _read(request: web.Request, call: Callable[..., Any], *args: Any) -> Any:
    """Run a query off the event loop, one at a time (one connection)."""
    async with request.app[CLIENT_LOCK]:
        client = request.app[CLIENT]
        return await asyncio.to_thread(_mapped, request.app[CH], call, client, *args)


def _number(request: web.Request, name: str, default: float) -> float:
    try:
        return float(request.query.get(name, default))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a number") from None


def page_html(name: str) -> str:
    """A page of static/pages/ in the frame every page shares (static/shell.html)."""
    shell = (STATIC / "shell.html").read_text(encoding="utf-8")
    body = (STATIC / "pages" / f"{name}.html").read_text(encoding="utf-8")
    return shell.replace("{title}", PAGES[name]).replace("{body}", body)


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    text = page_html(name)

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(text=text, content_type="text/html")
        if "token" in request.query:  # remember it: later requests from the page carry it
            response.set_cookie(COOKIE, request.query["token"], httponly=True, samesite="Strict")
        return response

    return handler


async def overview(request: web.Request) -> web.Response:
    length = int(_number(request, "length", 900))
    hours = _number(request, "hours", 3)
    data = await _read(request, queries.overview, time.time(), hours, length)
    return web.json_response(data)


async def topic(request: web.Request) -> web.Response:
    hours = _number(request, "hours", 3)
    name = request.match_info["topic"]
    data = await _read(request, queries.topic, name, time.time(), hours, request.app[ALPHA])
    return web.json_response(data)


async def texts(request: web.Request) -> web.Response:
    name = request.match_info["topic"]
    start, end = _number(request, "start", 0), _number(request, "end", 0)
    found = await _read(request, queries.texts, name, start, end)
    return web.json_response({"topic": name, "start": start, "end": end, "texts": found})


async def alerts(request: web.Request) -> web.Response:
    hours = _number(request, "hours", 24)
    found = await _read(request, queries.alerts, time.time() - hours * 3600)
    return web.json_response({"alerts": found, "now": time.time()})


def add_dashboard(app: web.Application, settings: Settings, connect: Connect,
                  vendor: Path) -> None:  # fmt: skip
    """Add the dashboard's routes; ``connect`` opens its ClickHouse client, ``vendor`` is the
    folder of the chart library's files (installed by ops/install)."""
    app[CLIENT] = connect()
    app[CLIENT_LOCK] = asyncio.Lock()
    app[ALPHA] = settings.alerts.alpha
    app[CH] = settings.clickhouse
    app.add_routes(
        [
            web.get("/", _page("overview")),
            web.get("/alerts", _page("alerts")),
            web.get("/topic/{topic}", _page("topic")),
            web.get("/api/overview", overview),
            web.get("/api/topic/{topic}", topic),
            web.get("/api/texts/{topic}", texts),
            web.get("/api/alerts", alerts),
            web.static("/static/vendor", vendor),
            web.static("/static", STATIC),
        ]
    )

    async def close(app: web.Application) -> None:
        app[CLIENT].disconnect()  # type: ignore[attr-defined]

    app.on_cleanup.append(close)
