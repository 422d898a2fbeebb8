"""Triton: ready, and answering tritonclient grpc.aio with the outputs computed in-process."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from stream.config import Settings

TEXTS = ["Profit rose 40 %", "", "公司利润大幅下降", "x" * 10_000, "Émission d'obligations"]


def _inputs(texts: list[bytes], x: np.ndarray) -> list[grpcclient.InferInput]:
    text = grpcclient.InferInput("TEXT", [len(texts), 1], "BYTES")
    text.set_data_from_numpy(np.array(texts, dtype=object).reshape(-1, 1))
    values = grpcclient.InferInput("X", list(x.shape), "FP32")
    values.set_data_from_numpy(x)
    return [text, values]


async def test_server_and_canary_model_are_ready(settings: Settings) -> None:
    client = grpcclient.InferenceServerClient(settings.triton.grpc)
    try:
        assert await client.is_server_live()
        assert await client.is_server_ready()
        assert await client.is_model_ready("canary")
    finally:
        await client.close()


async def test_canary_outputs_match_in_process_computation(settings: Settings) -> None:
    """Catches silent tensor corruption in the python backend (numpy 2 under the 2.51 stub)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(len(TEXTS), 4)).astype(np.float32)
    client = grpcclient.InferenceServerClient(settings.triton.grpc)
    try:
        result = await client.infer("canary", _inputs([t.encode() for t in TEXTS], x))
    finally:
        await client.close()
    n_chars = result.as_numpy("N_CHARS")
    y = result.as_numpy("Y")
    assert n_chars.reshape(-1).tolist() == [len(t) for t in TEXTS]
    np.testing.assert_allclose(y, 2 * x + 1, rtol=1e-6)


async def test_bad_request_gets_its_own_error_and_server_stays_up(settings: Settings) -> None:
    client = grpcclient.InferenceServerClient(settings.triton.grpc)
    x = np.zeros((1, 4), dtype=np.float32)
    try:
        with pytest.raises(InferenceServerException, match="not UTF-8"):
            await client.infer("canary", _inputs([b"\xff\xfe broken"], x))
        result = await client.infer("canary", _inputs([b"fine"], x))
        assert result.as_numpy("N_CHARS").reshape(-1).tolist() == [4]
    finally:
        await client.close()
