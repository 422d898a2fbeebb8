"""Two Triton replicas, one killed mid-stream: every batch is still scored, by the other.

Each replica is a Triton as ``./ops/stack up triton`` starts it (own stack folder and ports),
serving a stand-in ``sentiment`` model (python backend, the served interface: TEXT -> PROBS), so
the test needs no trained model.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream.scoring.triton import TritonScorer
from tests.integration.helpers import ROOT

pytestmark = pytest.mark.integration

OFFSET = int(os.environ.get("FINPULSE_PORT_OFFSET", "0"))
REPLICA_OFFSETS = (OFFSET + 50, OFFSET + 60)

MODEL = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            rows = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().shape[0]
            probs = np.tile(np.array([[0.1, 0.2, 0.7]], dtype=np.float32), (rows, 1))
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("PROBS", probs)]))
        return responses
"""

CONFIG = """name: "sentiment"
backend: "python"
max_batch_size: 64
input [ { name: "TEXT", data_type: TYPE_STRING, dims: [ 1 ] } ]
output [ { name: "PROBS", data_type: TYPE_FP32, dims: [ 3 ] } ]
instance_group [ { count: 1, kind: KIND_CPU } ]
"""


def _stack(folder: Path, offset: int, repo: Path, *args: str) -> None:
    env = {**os.environ, "FINPULSE_STACK_DIR": str(folder), "FINPULSE_PORT_OFFSET": str(offset),
           "FINPULSE_MODEL_REPO": str(repo)}  # fmt: skip
    subprocess.run([str(ROOT / "ops" / "stack"), *args], env=env, check=True, timeout=180,
                   capture_output=True)  # fmt: skip


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    """The stack folders of two Triton replicas, up; their gRPC ports are 18001 + offset."""
    root = tmp_path_factory.mktemp("triton-replicas")
    repo = root / "model_repo"
    (repo / "sentiment" / "1").mkdir(parents=True)
    (repo / "sentiment" / "config.pbtxt").write_text(CONFIG, encoding="utf-8")
    (repo / "sentiment" / "1" / "model.py").write_text(MODEL, encoding="utf-8")
    folders = [root / f"stack-{offset}" for offset in REPLICA_OFFSETS]
    try:
        for folder, offset in zip(folders, REPLICA_OFFSETS, strict=True):
            _stack(folder, offset, repo, "up", "triton")
        yield folders
    finally:
        for folder, offset in zip(folders, REPLICA_OFFSETS, strict=True):
            _stack(folder, offset, repo, "down")


def _kill_triton(folder: Path) -> None:
    pid = int((folder / "triton.pid").read_text().strip())
    os.kill(pid, signal.SIGKILL)


async def test_a_killed_replica_loses_nothing_and_the_other_takes_over(
    replicas: list[Path],
) -> None:
    urls = ",".join(f"127.0.0.1:{18001 + offset}" for offset in REPLICA_OFFSETS)
    retried: list[str] = []
    async with TritonScorer(
        urls, max_batch=8, max_in_flight=2, retries=None, timeout_s=5,
        on_retry=lambda error, attempt: retried.append(str(error)),
    ) as scorer:  # fmt: skip
        await scorer.check_ready()
        scored = 0
        for batch in range(40):
            if batch == 10:
                _kill_triton(replicas[0])
            texts = [f"batch {batch} text {i}" for i in range(16)]
            sentiments = await scorer.score(texts)
            assert [s.label for s in sentiments] == ["positive"] * len(texts)
            scored += len(sentiments)
    assert scored == 40 * 16
    # The killed replica's batches failed over: each failure named it, and the other answered.
    assert retried and all(f"127.0.0.1:{18001 + REPLICA_OFFSETS[0]}" in e for e in retried)
