"""The HTTP API (aiohttp): subscriptions, for tools that cannot run the CLI, and the read-only
dashboard (stream/web/dashboard.py: its paths, and when they need a token).

    GET    /healthz                          no token needed
    GET    /v1/subscriptions                 list (secrets hidden)
    POST   /v1/subscriptions                 add; 201 with the secret, shown this once
    GET    /v1/subscriptions/{id}            show
    PATCH  /v1/subscriptions/{id}            change topics, rules, min_severity, kinds, name,
                                             target, report (schedule: delivery/schedule.py)
    POST   /v1/subscriptions/{id}/pause      stop deliveries (alerts meanwhile are not kept)
    POST   /v1/subscriptions/{id}/resume
    DELETE /v1/subscriptions/{id}            204

Every /v1 call needs ``Authorization: Bearer <token>`` with one of ``api.tokens``. Errors are
JSON ``{"error": "..."}``: 401 no or wrong token (the guard's own answer), and for the errors of
stream/errors.py the status in STATUS: 400 bad JSON, 404 unknown id, 422 invalid subscription,
503 ClickHouse down; 500 for any other error (the unexpected ones are logged with their trace).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stream.delivery.store import SubscriptionStore
from stream.delivery.subscriptions import public
from stream.errors import (
    ConfigError,
    FinpulseError,
    InvalidSubscription,
    ServiceUnavailable,
    SubscriptionNotFound,
    UsageError,
    by_class,
)
from stream.logs import get_logger
from stream.web.dashboard import is_dashboard, token_from

log = get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STORE = web.AppKey("store", SubscriptionStore)
LOCK = web.AppKey("lock", asyncio.Lock)

# The answer to each error of the tree (its most specific class here wins); others get 500.
STATUS: dict[type[BaseException], int] = {
    UsageError: 400,  # the body is not a JSON object
    SubscriptionNotFound: 404,
    InvalidSubscription: 422,
    ServiceUnavailable: 503,  # ClickHouse down: try again later
}


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _authorized(request: web.Request, tokens: list[str]) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return _matches(given.strip(), tokens)


def _matches(given: str, tokens: list[str]) -> bool:
    # Compare with every token in constant time: timing tells nothing about any of them.
    hits = [hmac.compare_digest(given.encode(), t.encode()) for t in tokens]
    return bool(given) and any(hits)


def _middleware(tokens: list[str], open_reads: bool) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/") and not _authorized(request, tokens):
            return _error(401, "a valid bearer token is required", **{
                "WWW-Authenticate": 'Bearer realm="finpulse"'})  # fmt: skip
        reads = not open_reads and is_dashboard(request.path)
        if reads and not _matches(token_from(request), tokens):
            hint = "this API listens beyond loopback: open the dashboard with ?token=<a token>"
            return _error(401, hint)
        try:
            return await handler(request)
        except web.HTTPException:
            raise  # aiohttp's own answers: unknown route, wrong method, body too large
        except FinpulseError as exc:
            status = by_class(STATUS, exc, 500)
            if status >= 500:
                log.warning("api_error", path=request.path, status=status, error=str(exc)[:300])
            return _error(status, str(exc))
        except Exception:
            log.exception("api_unexpected_error", path=request.path)
            return _error(500, "internal error: the API's log has the details")

    return guard


async def _call(request: web.Request, method: str, *args: Any) -> Any:
    """Run a store method off the event loop; one at a time (the store has one connection)."""
    async with request.app[LOCK]:
        return await asyncio.to_thread(getattr(request.app[STORE], method), *args)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as exc:  # not UTF-8 (UnicodeDecodeError) or not JSON (JSONDecodeError)
        raise UsageError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError("body must be a JSON object")
    return data


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def list_subscriptions(request: web.Request) -> web.Response:
    subs = await _call(request, "all")
    return web.json_response({"subscriptions": [public(s) for s in subs]})


async def add_subscription(request: web.Request) -> web.Response:
    sub = await _call(request, "add", await _body(request))
    log.info("subscription_added", subscription=sub.subscription_id, target=sub.target)
    return web.json_response(vars(sub), status=201)


async def show_subscription(request: web.Request) -> web.Response:
    return web.json_response(public(await _call(request, "get", request.match_info["id"])))


async def change_subscription(request: web.Request) -> web.Response:
    sub = await _call(request, "change", request.match_info["id"], await _body(request))
    log.info("subscription_changed", subscription=sub.subscription_id, status=sub.status)
    return web.json_response(public(sub))


def _set_status(status: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        sub = await _call(request, "change", request.match_info["id"], {"status": status})
        log.info("subscription_changed", subscription=sub.subscription_id, status=sub.status)
        return web.json_response(public(sub))

    return handler


async def delete_subscription(request: web.Request) -> web.Response:
    sub = await _call(request, "delete", request.match_info["id"])
    log.info("subscription_deleted", subscription=sub.subscription_id)
    return web.Response(status=204)


def create_app(
    store: SubscriptionStore,
    tokens: list[str],
    *,
    dashboard: Callable[[web.Application], None] | None = None,
    open_reads: bool = True,
) -> web.Application:
    """The API; ``dashboard`` adds the read-only pages (stream/web/dashboard.py), open to
    anyone who reaches them when ``open_reads`` (the API on loopback), else behind the tokens."""
    if not tokens:
        raise ConfigError(
            "no API token: set FINPULSE_API_TOKENS (or api.tokens), e.g. to the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe())'`"
        )
    app = web.Application(middlewares=[_middleware(tokens, open_reads)], client_max_size=64 * 1024)
    app[STORE] = store
    app[LOCK] = asyncio.Lock()
    app.add_routes(
        [
            web.get("/healthz", health),
            web.get("/v1/subscriptions", list_subscriptions),
            web.post("/v1/subscriptions", add_subscription),
            web.get("/v1/subscriptions/{id}", show_subscription),
            web.patch("/v1/subscriptions/{id}", change_subscription),
            web.post("/v1/subscriptions/{id}/pause", _set_status("paused")),
            web.post("/v1/subscriptions/{id}/resume", _set_status("active")),
            web.delete("/v1/subscriptions/{id}", delete_subscription),
        ]
    )
    if dashboard is not None:
        dashboard(app)
    app.on_cleanup.append(_close(store))
    return app


def _close(store: SubscriptionStore) -> Callable[[web.Application], Awaitable[None]]:
    async def close(app: web.Application) -> None:
        store.close()

    return close
