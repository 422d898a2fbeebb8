"""Sentiment reports (``finpulse report``): one self-contained HTML page per run, for a topic or
a set of topics, with headline figures, the timelines (the dashboard's own chart code and the
chart library, inlined), alerts with their evidence, the most negative and most positive texts,
and texts per source and language. stream/web/render.py prints it to PDF or PNG.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stream.errors import UsageError
from stream.web import queries, views
from stream.web.dashboard import STATIC, chart_library

REPORT_LENGTHS = (900, 3600)  # a report spans hours: 15-minute and hourly windows


def collect(
    client: Any, patterns: Sequence[str], *, since_s: int, now: float, alpha: float
) -> dict[str, Any]:
    """Everything a report shows, for the topics matching ``patterns`` in the last
    ``since_s`` seconds."""
    since = now - since_s
    found = [t for t in queries.active_topics(client, since) if views.matches(t, patterns)]
    if not found:
        raise UsageError(
            f"no windows for {' '.join(patterns)} in the last {since_s // 3600 or 1} h: check "
            "the topic names (finpulse watch lists them) or widen --since"
        )
    topics = []
    for name in found:
        windows = [
            w
            for w in queries.topic_windows(client, name, since)
            if w["window_seconds"] in REPORT_LENGTHS
        ]
        topics.append(
            {
                "topic": name,
                "headline": queries.headline(client, name, since),
                "timelines": views.timelines(windows, alpha),
                "alerts": queries.topic_alerts(client, name, since),
                "most_negative": queries.texts(client, name, since, now + 1, limit=5),
                "most_positive": queries.texts(
                    client, name, since, now + 1, negative_first=False, limit=5
                ),
            }
        )
    return {
        "patterns": list(patterns),
        "since": since,
        "now": now,
        "topics": topics,
        "sources": queries.sources(client, found, since),
    }


def _texts(title: str, texts: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{views_time(t['published_at'])}</td><td class=topic>{_e(t['source'])}</td>"
        f"<td>{_e(t['lang'])}</td><td>{t['score']:+.2f}</td>"
        f"<td class=text>{_e(t['title'] + ' ' if t['title'] else '')}{_e(t['text'])}</td></tr>"
        for t in texts
    )
    return (
        f"<h3>{title}</h3><table><tr><th>published</th><th class=topic>source</th>"
        f"<th>lang</th><th>score</th><th class=topic>text</th></tr>{rows}</table>"
    )


def _alert(a: dict[str, Any]) -> str:
    evidence = json.dumps(a["evidence"], indent=1, sort_keys=True, ensure_ascii=False)
    kind = "resolution" if a["kind"] == "resolution" else a["severity"]
    return (
        f"<div class='alert {_e(kind)}'><span class='badge {_e(kind)}'>{_e(a['kind'])} · "
        f"{_e(a['severity'])}</span> <b>{_e(a['rule'])}</b> window {views_time(a['window_start'])}"
        f" ({a['window_seconds'] // 60} min): value {a['value']:.2f} vs baseline "
        f"{a['baseline']:.2f}, z {a['z']:.1f}<pre>{_e(evidence)}</pre></div>"
    )


def _topic(t: dict[str, Any], index: int) -> str:
    h = t["headline"]
    figures = "".join(
        f"<div class=figure><b>{value}</b>{label}</div>"
        for value, label in (
            (h["texts"], "texts"),
            (f"{h['score_mean']:+.2f}", "mean score"),
            (f"{h['negative_share']:.0%}", "negative"),
            (f"{h['positive_share']:.0%}", "positive"),
            (h["sources"], "sources"),
            (len(t["alerts"]), "alerts"),
        )
    )
    charts = "".join(
        f"<h3>{length // 60} min windows</h3><div class=charts data-topic='{index}' "
        f"data-length='{length}'></div>"
        for length in REPORT_LENGTHS
    )
    alerts = "".join(_alert(a) for a in t["alerts"]) or "<p class=muted>no alerts</p>"
    return (
        f"<section class=topic-report><h2>{_e(t['topic'])}</h2><div class=figures>{figures}</div>"
        f"{charts}<h3>alerts</h3>{alerts}{_texts('most negative texts', t['most_negative'])}"
        f"{_texts('most positive texts', t['most_positive'])}</section>"
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as one HTML document: no file or network needed to open or print it."""
    vendor = chart_library()
    styles = (vendor / "uPlot.min.css").read_text() + (STATIC / "style.css").read_text()
    scripts = "\n".join(
        [
            (vendor / "uPlot.iife.min.js").read_text(),
            (STATIC / "common.js").read_text(),
            (STATIC / "report.js").read_text(),
        ]
    )
    data = json.dumps(report, ensure_ascii=False).replace("</", "<\\/")
    sources = "".join(
        f"<tr><td class=topic>{_e(s['source'])}</td><td>{_e(s['lang'])}</td>"
        f"<td>{s['texts']}</td></tr>"
        for s in report["sources"]
    )
    names = ", ".join(t["topic"] for t in report["topics"])
    period = f"{views_time(report['since'])} to {views_time(report['now'])} UTC"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>finpulse report: {_e(names)}</title><style>{styles}</style></head><body>"
        f"<header><span class=brand>finpulse sentiment report</span><span>{_e(names)}</span>"
        f"<span>{period}</span></header><main>"
        + "".join(_topic(t, i) for i, t in enumerate(report["topics"]))
        + "<section><h2>sources and languages</h2><table><tr><th class=topic>source</th>"
        f"<th>lang</th><th>texts</th></tr>{sources}</table></section></main>"
        f"<script type='application/json' id=report-data>{data}</script>"
        f"<script>{scripts}</script></body></html>"
    )


def views_time(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def _e(text: Any) -> str:
    return html.escape(str(text))
