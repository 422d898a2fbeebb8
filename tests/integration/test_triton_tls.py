"""`finpulse check triton` with triton.ssl asks Triton over gRPC with TLS, as the scorer does: a
Triton of its own (canary model) with a TLS gRPC port and a test CA."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream import health
from stream.config import TritonSettings
from tests.integration import tls
from tests.integration.helpers import ROOT

pytestmark = pytest.mark.integration
OFFSET = 250  # beside the suite's stack (100) and the replica tests'


@pytest.fixture(scope="module")
def tls_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[tls.TestCA, str]]:
    folder = tmp_path_factory.mktemp("triton-tls")
    ca = tls.make_ca(folder)
    args = (f"--grpc-use-ssl=true --grpc-server-cert={ca.server_cert} "
            f"--grpc-server-key={ca.server_key} --grpc-root-cert={ca.ca}")  # fmt: skip
    env = {**os.environ, "FINPULSE_STACK_DIR": str(folder / "stack"),
           "FINPULSE_PORT_OFFSET": str(OFFSET), "FINPULSE_TRITON_ARGS": args}  # fmt: skip
    stack = [str(ROOT / "ops" / "stack")]
    try:
        subprocess.run([*stack, "up", "triton"], env=env, check=True, timeout=180,
                       capture_output=True)  # fmt: skip
        yield ca, f"127.0.0.1:{18001 + OFFSET}"
    finally:
        subprocess.run([*stack, "down"], env=env, check=True, timeout=120, capture_output=True)


def _settings(grpc: str, **options: object) -> TritonSettings:
    # Built without the environment, where the suite's own stack settings would win.
    return TritonSettings.model_construct(
        **(TritonSettings().model_dump() | {"grpc": grpc} | options)
    )


def test_check_reaches_triton_over_tls_with_the_ca(tls_triton: tuple[tls.TestCA, str]) -> None:
    ca, grpc = tls_triton
    found = health.check_triton(_settings(grpc, ssl=True, ssl_root_certificates=ca.ca))
    assert found.ok, found.detail
    assert "TLS" in found.detail and "canary" in found.detail


def test_check_fails_with_a_ca_that_did_not_sign_the_server(
    tls_triton: tuple[tls.TestCA, str], tmp_path: Path
) -> None:
    _, grpc = tls_triton
    other = tls.make_ca(tmp_path)
    untrusted = health.check_triton(_settings(grpc, ssl=True, ssl_root_certificates=other.ca), 3)
    assert not untrusted.ok and untrusted.detail.startswith("TLS")
