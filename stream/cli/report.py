"""``finpulse report``: a sentiment report for topics over a period (stream/web/report.py), as
HTML, or printed to PDF or PNG by headless Chromium (stream/web/render.py)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from stream.cli.app import err_console, read_settings


class Format(StrEnum):
    html = "html"
    pdf = "pdf"
    png = "png"


TOPIC_HELP = "A topic or a pattern (theme:*, ZQ?); repeat for several."
FORMAT_HELP = "html, pdf or png (default: from --out's suffix, else html)."


def report(
    ctx: typer.Context,
    topic: Annotated[list[str], typer.Option("--topic", "-t", help=TOPIC_HELP)],
    out: Annotated[Path, typer.Option(help="The file to write.")],
    since: Annotated[str, typer.Option(help="The period: 90m, 24h, 7d ...")] = "24h",
    fmt: Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)] = None,
) -> None:
    """Write a sentiment report: headline figures, timelines, alerts with their evidence, the most
    negative and most positive texts, sources and languages."""
    from stream.clickhouse.client import connect, mapped
    from stream.web.render import printed
    from stream.web.report import collect, render_html
    from stream.web.views import since_seconds

    settings = read_settings(ctx)
    chosen = fmt.value if fmt else (out.suffix.lstrip(".").lower() or "html")
    if chosen not in {f.value for f in Format}:
        chosen = "html"
    client = connect(settings.clickhouse)
    try:
        with mapped(settings.clickhouse):
            data = collect(client, topic, since_s=since_seconds(since), now=time.time(),
                           alpha=settings.alerts.alpha)  # fmt: skip
    finally:
        client.disconnect()
    page = render_html(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    if chosen == "html":
        out.write_text(page, encoding="utf-8")
    else:
        out.write_bytes(printed(page, chosen))
    names = ", ".join(t["topic"] for t in data["topics"])
    err_console.print(f"report on {names} ({since}) written to {out}")
