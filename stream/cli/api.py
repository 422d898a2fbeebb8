"""``finpulse api``: serve the HTTP API (stream/web/api.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from stream.cli.app import err_console, read_settings


def api(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
) -> None:
    """Serve the HTTP API (subscriptions), with bearer tokens from api.tokens."""
    from functools import partial

    from aiohttp import web

    from stream.clickhouse.client import connect
    from stream.delivery.store import SubscriptionStore
    from stream.web.api import create_app
    from stream.web.dashboard import add_dashboard, chart_library
    from stream.web.views import is_loopback

    settings = read_settings(ctx)
    tokens = [token.get_secret_value() for token in settings.api.tokens]
    host = host or settings.api.host
    port = port or settings.api.port
    opener = partial(connect, settings.clickhouse)
    dashboard = partial(add_dashboard, settings=settings, connect=opener, vendor=chart_library())
    store = SubscriptionStore(settings.clickhouse)
    web_app = create_app(store, tokens, dashboard=dashboard, open_reads=is_loopback(host))
    err_console.print(f"finpulse API on http://{host}:{port}/v1/subscriptions")
    err_console.print(f"finpulse dashboard on http://{host}:{port}/")
    web.run_app(web_app, host=host, port=port, print=None)
