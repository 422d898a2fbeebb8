"""When the dashboard's read-only pages need a token: never on loopback, always elsewhere; the
subscription endpoints need one either way (no server, no ClickHouse)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stream.web.api import create_app
from tests.unit.web.test_api import TOKEN, FailingStore


def _pages(app: web.Application) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="page")

    app.add_routes([web.get("/", page), web.get("/api/overview", page)])


async def _status(open_reads: bool, path: str, **kwargs: Any) -> int:
    app = create_app(FailingStore(RuntimeError()), [TOKEN], dashboard=_pages, open_reads=open_reads)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get(path, **kwargs)
        return response.status
    finally:
        await client.close()


BEARER = {"headers": {"Authorization": f"Bearer {TOKEN}"}}


@pytest.mark.parametrize(
    ("open_reads", "path", "kwargs", "status"),
    [
        (True, "/", {}, 200),
        (True, "/api/overview", {}, 200),
        (True, "/v1/subscriptions", {}, 401),
        (False, "/", {}, 401),
        (False, "/api/overview", {}, 401),
        (False, "/api/overview", {"headers": {"Authorization": "Bearer wrong"}}, 401),
        (False, "/api/overview", BEARER, 200),
        (False, f"/?token={TOKEN}", {}, 200),
        (False, "/api/overview", {"cookies": {"finpulse_token": TOKEN}}, 200),
        (False, "/healthz", {}, 200),
    ],
)
async def test_the_pages_are_open_on_loopback_and_need_a_token_elsewhere(
    open_reads: bool, path: str, kwargs: dict[str, Any], status: int
) -> None:
    assert await _status(open_reads, path, **kwargs) == status
