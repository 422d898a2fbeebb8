"""The terminal view of live sentiment (``finpulse watch``): the latest window of each topic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table

LATEST_WINDOWS_SQL = """
SELECT topic, window_start, n, n_negative, n_neutral, n_positive, score_mean, negative_share, final
FROM
(
    SELECT topic, window_start, n, n_negative, n_neutral, n_positive, score_mean, negative_share,
        final
    FROM sentiment_windows FINAL
    WHERE window_seconds = %(seconds)s AND window_start >= now() - 2 * %(seconds)s - 3600
        AND window_start + window_seconds <= now() + 60  -- the window that ends with this minute
    ORDER BY topic, window_start DESC
    LIMIT 1 BY topic
)
ORDER BY n DESC, topic
LIMIT %(top)s
"""


@dataclass(frozen=True)
class Row:
    topic: str
    window_start: Any
    n: int
    n_negative: int
    n_neutral: int
    n_positive: int
    score_mean: float
    negative_share: float
    final: int


def latest_windows(client: Any, seconds: int, top: int) -> list[Row]:
    rows = client.execute(LATEST_WINDOWS_SQL, {"seconds": seconds, "top": top})
    return [Row(*row) for row in rows]


def _bar(score: float, width: int = 8) -> str:
    filled = round(abs(score) * width)
    colour = "green" if score > 0 else "red"
    return f"[{colour}]{'█' * filled}[/{colour}]{' ' * (width - filled)}"


def render(rows: list[Row], minutes: int) -> Table:
    table = Table(
        title=f"finpulse: sentiment per topic, latest {minutes}-minute window (UTC)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("topic", no_wrap=True, min_width=14)
    table.add_column("from", justify="right", no_wrap=True, min_width=5)
    for column in ("texts", "neg", "neu", "pos", "mean"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, min_width=8)
    table.add_column("state", no_wrap=True, min_width=6)
    for r in rows:
        table.add_row(
            r.topic,
            r.window_start.strftime("%H:%M"),
            str(r.n),
            str(r.n_negative),
            str(r.n_neutral),
            str(r.n_positive),
            f"{r.score_mean:+.2f}",
            _bar(r.score_mean),
            "closed" if r.final else "open",
        )
    if not rows:
        table.caption = "no windows yet: is a worker running and a stream flowing?"
    return table
