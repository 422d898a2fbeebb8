"""Health checks of the servers finpulse uses: used by `finpulse check` and `./ops/stack up`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaClient

from stream.clickhouse.client import DRIVER_ERRORS, connect, server_address
from stream.config import ClickHouseSettings, KafkaSettings, TritonSettings
from stream.kafka.security import client_options


@dataclass(frozen=True)
class Health:
    service: str
    address: str
    ok: bool
    detail: str


async def check_kafka(settings: KafkaSettings, timeout_s: float = 5.0) -> Health:
    """The broker answers a metadata request."""
    client = AIOKafkaClient(
        **client_options(settings, client="check"), request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout_s)
        detail = f"{len(metadata.brokers())} broker(s), {len(metadata.topics())} topic(s)"
        return Health("kafka", settings.bootstrap, True, detail)
    except Exception as exc:
        return Health("kafka", settings.bootstrap, False, f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()


def check_clickhouse(settings: ClickHouseSettings, timeout_s: float = 5.0) -> Health:
    """The server runs a query over the native protocol."""
    address = server_address(settings)
    client = connect(
        settings.model_copy(update={"connect_timeout_s": timeout_s}), database="default"
    )
    try:
        ((version,),) = client.execute("SELECT version()")
        return Health("clickhouse", address, True, f"version {version}")
    except DRIVER_ERRORS as exc:
        return Health("clickhouse", address, False, f"{type(exc).__name__}: {exc}")
    finally:
        client.disconnect()


def check_triton(settings: TritonSettings, timeout_s: float = 5.0) -> Health:
    """The server is ready; detail lists the models it has ready. With ``triton.ssl`` every
    gRPC replica is asked over TLS, as the scorer reaches them: Triton's HTTP endpoint has no TLS
    of its own, and where gRPC is behind TLS it is often the only port open."""
    if settings.ssl:
        return _check_triton_tls(settings, timeout_s)
    base = f"http://{settings.http}"
    try:
        with httpx.Client(timeout=timeout_s) as http:
            http.get(f"{base}/v2/health/ready").raise_for_status()
            index = http.post(f"{base}/v2/repository/index", json={"ready": True}).json()
        models = sorted(f"{m['name']}/{m.get('version', '?')}" for m in index)
        return Health(
            "triton", settings.http, True, "models ready: " + (", ".join(models) or "none")
        )
    except Exception as exc:
        return Health("triton", settings.http, False, f"{type(exc).__name__}: {exc}")


def _check_triton_tls(settings: TritonSettings, timeout_s: float) -> Health:
    import tritonclient.grpc as grpcclient

    from stream.scoring.triton import endpoints, tls_options

    tls = tls_options(settings)
    options = tls.client_options() if tls is not None else {}
    models: set[str] = set()
    urls = endpoints(settings.grpc)
    for url in urls:
        client = grpcclient.InferenceServerClient(url, **options)
        try:
            if not client.is_server_ready(client_timeout=timeout_s):
                return Health("triton", url, False, "not ready yet (TLS)")
            index = client.get_model_repository_index(as_json=True, client_timeout=timeout_s)
        except Exception as exc:
            return Health("triton", url, False, f"TLS: {type(exc).__name__}: {exc}")
        finally:
            client.close()
        models |= {
            f"{m['name']}/{m.get('version', '?')}"
            for m in index.get("models", [])
            if m.get("state") == "READY"
        }
    detail = f"TLS, {len(urls)} replica(s), models ready: " + (", ".join(sorted(models)) or "none")
    return Health("triton", settings.grpc, True, detail)
