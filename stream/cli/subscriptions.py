"""``finpulse subscriptions``: who gets which alerts, and a local webhook receiver to try them."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from stream.cli.app import console, err_console, read_settings
from stream.errors import UsageError

if TYPE_CHECKING:
    from stream.delivery.store import SubscriptionStore

app = typer.Typer(
    help="Alert subscriptions: who gets which alerts, by webhook or Kafka topic.",
    no_args_is_help=True,
)


def _store(ctx: typer.Context) -> contextlib.closing[SubscriptionStore]:
    from stream.delivery.store import SubscriptionStore

    return contextlib.closing(SubscriptionStore(read_settings(ctx).clickhouse))


def _show_subscription(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(data))
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(value) or "(all)"
        elif key.endswith("_at"):
            value = _utc(value)
        elif key == "report":
            value = _schedule_text(value)
        console.print(f"[bold]{key:>16}[/bold]  {value}")


def _utc(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ReportEvery = Annotated[
    str | None,
    typer.Option(help="Also send a report this often: daily, or 24h, 6h, 30m ... (divides a day)."),
]
ReportAt = Annotated[str, typer.Option(help="The reports' first time of day, HH:MM UTC.")]
ReportSince = Annotated[
    str | None, typer.Option(help="What each report covers (default: --report-every).")
]
ReportFormat = Annotated[str, typer.Option(help="html or pdf.")]
ReportTopic = Annotated[
    list[str] | None,
    typer.Option(help="Topic or pattern of the reports; repeat (default: the --topic ones)."),
]


def _report(every: str, at: str, since: str | None, fmt: str,
            topics: list[str] | None) -> dict[str, Any]:  # fmt: skip
    data: dict[str, Any] = {"every": every, "at": at, "format": fmt, "topics": topics or []}
    if since:
        data["since"] = since
    return data


@app.command("add")
def subscriptions_add(
    ctx: typer.Context,
    webhook: Annotated[str | None, typer.Option(help="Deliver by POST to this URL.")] = None,
    kafka_topic: Annotated[str | None, typer.Option(help="Deliver to this Kafka topic.")] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", "-t", help="Topic or pattern (AAPL, theme:*); repeat; none = all."),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="negative_surge, volume_spike, sentiment_reversal."),
    ] = None,
    min_severity: Annotated[str, typer.Option(help="warning or critical.")] = "warning",
    kind: Annotated[
        list[str] | None, typer.Option(help="alert, escalation, resolution (default: all).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label (default: the target).")] = None,
    secret: Annotated[
        str | None, typer.Option(help="Webhook signing secret (default: a new random one).")
    ] = None,
    paused: Annotated[bool, typer.Option(help="Add it paused.")] = False,
    legacy_headers: Annotated[
        bool, typer.Option(help="Also send the X-Finpulse-* signature headers (deprecated).")
    ] = False,
    report_every: ReportEvery = None,
    report_at: ReportAt = "00:00",
    report_since: ReportSince = None,
    report_format: ReportFormat = "html",
    report_topic: ReportTopic = None,
    as_json: JsonOption = False,
) -> None:
    """Add a subscription. Prints its webhook secret: the only time it is shown."""
    if (webhook is None) == (kafka_topic is None):
        raise UsageError("give exactly one of --webhook URL or --kafka-topic T")
    data: dict[str, Any] = {
        "channel": "webhook" if webhook else "kafka",
        "target": webhook or kafka_topic,
        "topics": topic or [],
        "rules": rule or [],
        "min_severity": min_severity,
        "status": "paused" if paused else "active",
        "legacy_headers": legacy_headers,
    }
    if kind:
        data["kinds"] = kind
    if name:
        data["name"] = name
    if secret:
        data["secret"] = secret
    if report_every:
        data["report"] = _report(report_every, report_at, report_since, report_format, report_topic)
    with _store(ctx) as store:
        sub = store.add(data)
    _show_subscription(vars(sub), as_json)
    if not as_json and sub.channel == "webhook":
        err_console.print(
            "[yellow]Keep the secret: receivers verify the webhook-signature header with it "
            "(Standard Webhooks), and it is not shown again.[/yellow]"
        )


@app.command("list")
def subscriptions_list(
    ctx: typer.Context,
    deleted: Annotated[bool, typer.Option(help="Include deleted subscriptions.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List subscriptions (secrets hidden)."""
    from stream.delivery.subscriptions import public

    with _store(ctx) as store:
        subs = store.all(include_deleted=deleted)
    if as_json:
        console.print_json(json.dumps([public(s) for s in subs]))
        return
    table = Table("id", "name", "status", "channel", "target", "topics", "rules", "severity")
    for s in subs:
        table.add_row(s.subscription_id, s.name, s.status, s.channel, s.target,
                      ", ".join(s.topics) or "(all)", ", ".join(s.rules) or "(all)",
                      f">= {s.min_severity}")  # fmt: skip
    console.print(table)


@app.command("show")
def subscriptions_show(
    ctx: typer.Context, subscription_id: str, as_json: JsonOption = False
) -> None:
    """Show one subscription (secret hidden)."""
    from stream.delivery.subscriptions import public

    with _store(ctx) as store:
        sub = store.get(subscription_id)
    _show_subscription(public(sub), as_json)


@app.command("pause")
def subscriptions_pause(ctx: typer.Context, subscription_id: str) -> None:
    """Pause deliveries; alerts raised meanwhile are not kept for later."""
    with _store(ctx) as store:
        store.change(subscription_id, {"status": "paused"})
    console.print(f"{subscription_id} paused")


@app.command("resume")
def subscriptions_resume(ctx: typer.Context, subscription_id: str) -> None:
    """Resume deliveries of a paused subscription."""
    with _store(ctx) as store:
        store.change(subscription_id, {"status": "active"})
    console.print(f"{subscription_id} active")


@app.command("report")
def subscriptions_report(
    ctx: typer.Context,
    subscription_id: str,
    every: Annotated[
        str | None, typer.Option(help="daily, or 24h, 6h, 30m ... (divides a day).")
    ] = None,
    at: ReportAt = "00:00",
    since: ReportSince = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic", "-t", help="Topic or pattern; repeat (default: the subscription's)."
        ),
    ] = None,
    off: Annotated[bool, typer.Option(help="Stop the reports.")] = False,
) -> None:
    """Schedule reports for a subscription, delivered as its alerts are (or stop them: --off)."""
    if off == (every is not None):
        raise UsageError("give exactly one of --every D or --off")
    report = {} if every is None else _report(every, at, since, fmt, topic)
    with _store(ctx) as store:
        sub = store.change(subscription_id, {"report": report})
    console.print(f"{subscription_id} reports: {_schedule_text(sub.report)}")


def _schedule_text(report: dict[str, Any]) -> str:
    if not report:
        return "none"
    topics = ", ".join(report["topics"]) or "the subscription's topics"
    return (f"every {report['every']} from {report['at']} UTC, the last {report['since']} of "
            f"{topics}, {report['format']}")  # fmt: skip


@app.command("delete")
def subscriptions_delete(ctx: typer.Context, subscription_id: str) -> None:
    """Delete a subscription; queued alerts for it are cancelled."""
    with _store(ctx) as store:
        store.delete(subscription_id)
    console.print(f"{subscription_id} deleted")


@app.command("receive")
def subscriptions_receive(
    secret: Annotated[str, typer.Option(envvar="FINPULSE_WEBHOOK_SECRET", help="The secret.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 18006,
) -> None:
    """A local webhook receiver for trying subscriptions: verifies each signature, prints alerts
    and reports."""
    import time

    from aiohttp import web

    from stream.delivery import signing

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        ok = signing.verify_standard(secret, dict(request.headers), body, now=time.time())
        if not ok:
            err_console.print("[red]refused: bad or old signature[/red]")
            return web.Response(status=401)
        message = json.loads(body)
        if message.get("type") == "finpulse.report":
            report = message["report"]
            console.print(
                f"report {report['subject']}  {report['format']}  {', '.join(report['topics'])}  "
                f"{len(message['content_base64']) * 3 // 4} bytes  {report['note']}".rstrip()
            )
            return web.Response(status=204)
        alert = message["alert"]
        console.print(
            f"{_utc(alert['window_start'])}  {alert['severity']:>8}  {alert['rule']:<18} "
            f"{alert['kind']:<10} {alert['topic']:<12} value {alert['value']:.3f} "
            f"(baseline {alert['baseline']:.3f})"
        )
        return web.Response(status=204)

    web_app = web.Application()
    web_app.router.add_post("/{tail:.*}", receive)
    console.print(f"receiving on http://127.0.0.1:{port}/ (Ctrl-C stops)")
    web.run_app(web_app, host="127.0.0.1", port=port, print=None)
