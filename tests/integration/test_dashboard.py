"""The dashboard and the reports against a real ClickHouse, with rows written through the
project's own table declarations, in Debian's headless chromium driven by playwright-core
(tests/browser/dashboard.cjs). Screenshots and report pages are kept in artifacts/browser/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stream import health
from stream.clickhouse import client as clickhouse
from stream.clickhouse.tables import ALERTS
from stream.config import Settings, load_settings
from tests.integration import dashboard_data
from tests.integration.helpers import FINPULSE, ROOT, query, run

ARTIFACTS = ROOT / "artifacts" / "browser"
TOKEN = "dashboard-test-token"


@dataclass
class Dashboard:
    url: str
    env: dict[str, str]
    settings: Settings
    database: str
    alert: Any
    end: float

    def query(self, sql: str) -> list[Any]:
        return query(self.settings, self.database, sql)

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
                kind = response.headers.get("Content-Type", "")
                return response.status, json.loads(body) if "json" in kind else body.decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(env: dict[str, str], host: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [*FINPULSE, "api", "--host", host, "--port", str(port)]
    api = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2).close()
            return api
        except OSError:
            assert api.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    settings = load_settings()
    ch = health.check_clickhouse(settings.clickhouse, 5)
    if not ch.ok:
        pytest.fail(f"needs the local stack: ./ops/stack up; {ch.detail}", pytrace=False)
    database = "t" + uuid.uuid4().hex[:10]
    env = {**os.environ, "FINPULSE_CLICKHOUSE_DATABASE": database, "FINPULSE_API_TOKENS": TOKEN}
    run([*FINPULSE, "db", "migrate"], env)
    end = (time.time() // 60) * 60
    client = clickhouse.connect(settings.clickhouse, database=database)
    alert = dashboard_data.seed(client, end)
    client.disconnect()
    port = _free_port()
    api = _serve(env, "127.0.0.1", port, tmp_path_factory.mktemp("api") / "api.log")
    try:
        yield Dashboard(f"http://127.0.0.1:{port}", env, settings, database, alert, end)
    finally:
        api.terminate()
        api.wait(20)
        client = clickhouse.connect(settings.clickhouse, database="default")
        client.execute(f"DROP DATABASE IF EXISTS {clickhouse.quote_identifier(database)}")
        client.disconnect()


def test_the_overview_json_has_every_topic_its_latest_window_and_open_alerts(
    dashboard: Dashboard,
) -> None:
    status, data = dashboard.get("/api/overview?length=900&hours=3")
    assert status == 200
    assert {t["topic"] for t in data["topics"]} == set(dashboard_data.TOPICS)
    by_topic = {t["topic"]: t for t in data["topics"]}
    assert by_topic["ZQA"]["latest"]["window_start"] == dashboard.end - 900
    assert [a["alert_id"] for a in by_topic["ZQA"]["open_alerts"]] == [dashboard.alert.alert_id]
    assert data["data_time"] == dashboard.end
    status, feed = dashboard.get("/api/alerts?hours=24")
    [shown] = [a for a in feed["alerts"] if a["alert_id"] == dashboard.alert.alert_id]
    assert [(d["subscription_id"], d["outcome"]) for d in shown["deliveries"]] == [
        ("sub-desk-1", "delivered")]  # fmt: skip
    assert shown["evidence"]["n"] == 90


def test_the_pages_are_open_on_loopback_and_the_subscriptions_still_need_the_token(
    dashboard: Dashboard,
) -> None:
    assert dashboard.get("/")[0] == 200
    assert dashboard.get("/static/vendor/uPlot.iife.min.js")[0] == 200
    assert dashboard.get("/v1/subscriptions")[0] == 401
    assert dashboard.get("/v1/subscriptions", TOKEN)[0] == 200


def test_beyond_loopback_the_pages_need_a_token(dashboard: Dashboard, tmp_path: Path) -> None:
    port = _free_port()
    api = _serve(dashboard.env, "0.0.0.0", port, tmp_path / "api.log")
    try:
        url = f"http://127.0.0.1:{port}"
        other = Dashboard(url, dashboard.env, dashboard.settings, dashboard.database, None, 0)
        assert other.get("/api/overview")[0] == 401
        assert other.get("/")[0] == 401
        assert other.get("/api/overview", TOKEN)[0] == 200
        assert other.get(f"/?token={TOKEN}")[0] == 200
    finally:
        api.terminate()
        api.wait(20)


def _chromium() -> None:
    tools = Path(os.environ.get("FINPULSE_TOOLS") or ROOT / ".tools")
    if not shutil.which("chromium") or not (tools / "node_modules" / "playwright-core").is_dir():
        pytest.fail("browser tests need chromium and playwright-core: run ./ops/install",
                    pytrace=False)  # fmt: skip


def test_in_a_browser_the_pages_list_the_topics_draw_every_window_and_show_a_new_alert_live(
    dashboard: Dashboard,
) -> None:
    _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    late = dashboard_data.alert("ZQB", dashboard.end - 900)
    cmd = ["node", str(ROOT / "tests" / "browser" / "dashboard.cjs"), dashboard.url, "ZQA",
           str(ARTIFACTS), "ZQB", late.alert_id]  # fmt: skip
    browser = subprocess.Popen(cmd, cwd=ROOT, env=dashboard.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    steps: dict[str, Any] = {}
    try:
        assert browser.stdout is not None
        for line in browser.stdout:
            step = json.loads(line)
            steps[step["step"]] = step
            if step["step"] == "waiting":  # the pages are open: raise an alert now
                client = clickhouse.connect(
                    dashboard.settings.clickhouse, database=dashboard.database
                )
                dashboard_data.insert(client, ALERTS, [late])
                client.disconnect()
        browser.wait(120)
    finally:
        if browser.poll() is None:
            browser.kill()
    assert browser.returncode == 0, f"{steps}\n{browser.stderr.read() if browser.stderr else ''}"

    assert set(steps["overview"]["topics"]) == set(dashboard_data.TOPICS)
    assert steps["overview"]["filtered"] == ["theme:earnings"]
    counts = dict(dashboard.query(
        "SELECT window_seconds, count() FROM sentiment_windows FINAL WHERE topic = 'ZQA' "
        f"AND window_start >= toDateTime({int(dashboard.end) - 3 * 3600}) GROUP BY window_seconds"
    ))  # fmt: skip
    for box in steps["topic"]["points"]:
        assert [c["points"] for c in box["charts"]] == [counts[box["length"]]] * 3, box
    scores = [float(s) for s in steps["topic"]["texts"]]
    assert scores == sorted(scores) and len(scores) == len(dashboard_data.TEXTS)
    assert steps["alert"]["kept"] == [True, True]  # no reload
    assert steps["alert"]["errors"] == []
    for name in ("overview.png", "topic.png", "alerts.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000


def _blank(ppm: Path) -> bool:
    """Whether a binary PPM (pdftoppm's output) is one colour."""
    data = ppm.read_bytes()
    parts = data.split(maxsplit=4)  # P6, width, height, maxval, pixels
    pixels = parts[4]
    return pixels.count(pixels[:1]) == len(pixels)


def test_a_report_is_written_as_html_and_as_a_pdf_with_pages_that_are_not_blank(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    _chromium()
    html = tmp_path / "zqa.html"
    pdf = ARTIFACTS / "report-zqa.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run([*FINPULSE, "report", "--topic", "ZQ?", "--since", "3h", "--out", str(html)], dashboard.env)
    page = html.read_text()
    for expected in ("ZQA", "ZQB", dashboard.alert.alert_id.split("-")[0], "公司股价大幅下跌",
                     "newswire", "most negative texts", "uPlot"):  # fmt: skip
        assert expected in page
    run([*FINPULSE, "report", "-t", "ZQA", "--since", "3h", "--out", str(pdf)], dashboard.env)
    assert pdf.read_bytes().startswith(b"%PDF")
    for old in ARTIFACTS.glob("report-zqa-*.ppm"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "40", str(pdf), str(ARTIFACTS / "report-zqa")], check=True)
    pages = sorted(ARTIFACTS.glob("report-zqa-*.ppm"))
    assert pages, "pdftoppm wrote no page"
    assert not any(_blank(p) for p in pages)
