"""Chinese and English posts through one pipeline: each text scored by the model of its language,
Chinese names and codes found as topics (one per company across languages), Chinese personal data
redacted before ClickHouse. The quick multilingual model (``multilingual_model``) is served as
``sentiment_multilingual`` and, the same weights, as ``sentiment``: the stored model name shows
the route each text took."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stream.config import Settings
from stream.sentiment.export import MULTILINGUAL_MODEL_NAME
from tests.integration.helpers import FINPULSE, Served, run
from tests.integration.test_pipeline import Item, Pipeline, open_pipeline, produce

# (text, language it must be detected as, topics it must have, what must not be stored)
POSTS = [
    ("贵州茅台今天涨停了，利好！有内幕的加我13812345678", "zh", ["600519.SH"], "13812345678"),
    ("茅台600519业绩超预期，明天继续涨", "zh", ["600519.SH", "theme:earnings"], ""),
    ("600519.SS 跌停，主力出货了", "zh", ["600519.SH"], ""),
    ("騰訊控股公佈業績，股價上升 0700.HK", "zh", ["0700.HK", "theme:earnings"], ""),
    ("苹果公司裁员，开户身份证11010519491231002X", "zh", ["AAPL", "theme:layoffs"],
     "11010519491231002X"),
    ("宁德时代和比亚迪今天都跌了", "zh", ["002594.SZ", "300750.SZ"], ""),
    ("$AAPL Apple beats estimates and shares jump", "en", ["AAPL", "theme:earnings"], ""),
    ("Kweichow Moutai shares rose after strong results", "en", ["600519.SH"], ""),
    ("Tencent shares fell as regulators opened a probe", "en", ["0700.HK", "theme:legal"], ""),
]  # fmt: skip


@pytest.fixture
def mixed_pipeline(
    settings: Settings, multilingual_model: Served, unique: str, tmp_path: Path
) -> Iterator[Pipeline]:
    routes = {"FINPULSE_PIPELINE_LANGUAGE_MODELS": f"zh={MULTILINGUAL_MODEL_NAME}"}
    with open_pipeline(settings, multilingual_model, unique, tmp_path, **routes) as p:
        yield p


def test_each_language_is_scored_by_its_model_and_chinese_is_found_and_redacted(
    mixed_pipeline: Pipeline,
) -> None:
    p = mixed_pipeline
    p.start_worker("w1")
    now = time.time()
    items = []
    for i, (text, _, _, _) in enumerate(POSTS):
        record = {  # no `lang`: the pipeline detects it
            "id": f"mixed-{i}",
            "source": "guba",
            "published_at": datetime.fromtimestamp(now - 5, UTC).isoformat(),
            "text": text,
        }
        items.append(Item(0.0, p.topics[1], None, json.dumps(record).encode(), "valid"))
    asyncio.run(produce(p.settings.kafka.bootstrap, items, paced=False))
    deadline = time.monotonic() + 180
    rows: list[tuple[str, str, list[str], int, str, str]] = []
    while time.monotonic() < deadline and len(rows) < len(POSTS):
        time.sleep(2)
        rows = p.query(
            "SELECT event_id, lang, topics, scored, model_version, text FROM events FINAL "
            "ORDER BY event_id"
        )
    assert len(rows) == len(POSTS), p.log_tail()
    by_id = {row[0]: row for row in rows}
    for i, (_, lang, topics, secret) in enumerate(POSTS):
        _, stored_lang, stored_topics, scored, model, text = by_id[f"guba:mixed-{i}"]
        assert stored_lang == lang
        assert scored == 1
        expected_model = MULTILINGUAL_MODEL_NAME if lang == "zh" else "sentiment"
        assert model.partition("/")[0] == expected_model
        assert sorted(stored_topics) == topics
        if secret:
            assert secret not in text and ("[phone]" in text or "[id]" in text)


def test_served_and_in_process_labels_agree_on_validation_texts(
    multilingual_model: Served, tmp_path: Path
) -> None:
    # Every FinFE validation text and the first 300 tweets of the English one.
    rows: list[dict[str, str]] = []
    for name, limit in (("finfe", None), ("tweets", 300)):
        with (multilingual_model.artifacts / f"validation_{name}.csv").open(encoding="utf-8") as f:
            rows += list(csv.DictReader(f))[:limit]
    data = tmp_path / "validation.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    command = ["model", "eval", "--data", str(data), "--model", MULTILINGUAL_MODEL_NAME, "--json"]
    result = run([*FINPULSE, *command], multilingual_model.env)
    assert "agree on every text" in result.stdout, result.stdout[-2000:]
    figures, _ = json.JSONDecoder().raw_decode(result.stdout)
    assert sorted(figures["by_language"]) == ["en", "zh"]  # eval reports per language
