"""The HTTP API (aiohttp): subscriptions, for tools that cannot run the CLI.

    GET    /healthz                          no token needed
    GET    /v1/subscriptions                 list (secrets hidden)
    POST   /v1/subscriptions                 add; 201 with the secret, shown this once
    GET    /v1/subscriptions/{id}            show
    PATCH  /v1/subscriptions/{id}            change topics, rules, min_severity, kinds, name, target
    POST   /v1/subscriptions/{id}/pause      stop deliveries (alerts meanwhile are not kept)
    POST   /v1/subscriptions/{id}/resume
    DELETE /v1/subscriptions/{id}            204

Every /v1 call needs ``Authorization: Bearer <token>`` with one of ``api.tokens``. Errors are
JSON ``{"error": "..."}``: 400 bad JSON, 401 no or wrong token, 404 unknown id, 422 invalid
subscription, 503 ClickHouse down.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stream.delivery.store import SubscriptionNotFound, SubscriptionStore
from stream.delivery.subscriptions import InvalidSubscription, public
from stream.errors import ServiceUnavailable
from stream.logs import get_logger

log = get_logger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STORE = web.AppKey("store", SubscriptionStore)
LOCK = web.AppKey("lock", asyncio.Lock)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _authorized(request: web.Request, tokens: list[str]) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    # Compare with every token in constant time: timing tells nothing about any of them.
    hits = [hmac.compare_digest(given.strip().encode(), t.encode()) for t in tokens]
    return any(hits)


def _middleware(tokens: list[str]) -> Any:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/") and not _authorized(request, tokens):
            return _error(401, "a valid bearer token is required", **{
                "WWW-Authenticate": 'Bearer realm="finpulse"'})  # fmt: skip
        try:
            return await handler(request)
        except InvalidSubscription as exc:
            return _error(422, str(exc))
        except SubscriptionNotFound as exc:
            return _error(404, str(exc))
        except ServiceUnavailable as exc:
            return _error(503, str(exc))

    return guard


async def _call(request: web.Request, method: str, *args: Any) -> Any:
    """Run a store method off the event loop; one at a time (the store has one connection)."""
    async with request.app[LOCK]:
        return await asyncio.to_thread(getattr(request.app[STORE], method), *args)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {exc}"}), content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be a JSON object"}),
            content_type="application/json",
        )
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


def create_app(store: SubscriptionStore, tokens: list[str]) -> web.Application:
    if not tokens:
        raise ValueError("no API token: set api.tokens (FINPULSE_API_TOKENS)")
    app = web.Application(middlewares=[_middleware(tokens)], client_max_size=64 * 1024)
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
    app.on_cleanup.append(_close(store))
    return app


def _close(store: SubscriptionStore) -> Callable[[web.Application], Awaitable[None]]:
    async def close(app: web.Application) -> None:
        store.close()

    return close
