"""The HTTP API's answers to errors: the status table, JSON bodies, the token guard (no server)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from stream.errors import (
    ConfigError,
    InvalidSubscription,
    ServiceError,
    ServiceUnavailable,
    SubscriptionNotFound,
)
from stream.web.api import create_app

TOKEN = "unit-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FailingStore:
    """Stands in for SubscriptionStore: every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return call

    def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def serving(error: Exception) -> AsyncIterator[TestClient[Any, Any]]:
    """The API in process, on a store whose every call raises ``error``."""
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(FailingStore(error), [TOKEN])))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


DOWN = ServiceUnavailable("ClickHouse at h:1 did not answer", service="clickhouse", address="h:1")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidSubscription("target: an http(s) URL is expected"), 422),
        (SubscriptionNotFound(subscription_id="sub_x"), 404),
        (DOWN, 503),
        (ServiceError("ClickHouse answered 60", service="clickhouse", address="h:1", code=60), 500),
        (ConfigError("a finpulse error the table does not name"), 500),
    ],
)
async def test_each_error_of_the_tree_gets_its_status_and_its_message_as_json(
    error: Exception, status: int
) -> None:
    async with serving(error) as client:
        response = await client.get("/v1/subscriptions/sub_x", headers=AUTH)
        assert response.status == status
        assert await response.json() == {"error": str(error)}


async def test_clickhouse_down_is_503_on_every_route() -> None:
    async with serving(DOWN) as client:
        calls = [
            client.get("/v1/subscriptions", headers=AUTH),
            client.post(
                "/v1/subscriptions", headers=AUTH, json={"channel": "kafka", "target": "t"}
            ),
            client.patch("/v1/subscriptions/sub_x", headers=AUTH, json={"rules": []}),
            client.post("/v1/subscriptions/sub_x/pause", headers=AUTH),
            client.delete("/v1/subscriptions/sub_x", headers=AUTH),
        ]
        for call in calls:
            response = await call
            assert response.status == 503
            assert "did not answer" in (await response.json())["error"]


async def test_an_unexpected_error_is_500_without_its_details() -> None:
    async with serving(RuntimeError("secret internals")) as client:
        response = await client.get("/v1/subscriptions", headers=AUTH)
        assert response.status == 500
        assert await response.json() == {"error": "internal error: the API's log has the details"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(body: bytes, message: str) -> None:
    async with serving(AssertionError("the store is not reached")) as client:
        response = await client.post("/v1/subscriptions", headers=AUTH, data=body)
        assert response.status == 400
        assert (await response.json())["error"].startswith(message)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}]
)
async def test_a_missing_or_wrong_token_is_401_before_the_store(headers: dict[str, str]) -> None:
    async with serving(AssertionError("the store is not reached")) as client:
        response = await client.get("/v1/subscriptions", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_health_needs_no_token_nor_the_store() -> None:
    async with serving(DOWN) as client:
        response = await client.get("/healthz")
        assert response.status == 200 and await response.json() == {"status": "ok"}


def test_the_api_refuses_to_start_without_a_token() -> None:
    with pytest.raises(ConfigError, match="no API token: set FINPULSE_API_TOKENS"):
        create_app(FailingStore(DOWN), [])  # type: ignore[arg-type]
