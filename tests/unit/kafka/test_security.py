"""Every Kafka client finpulse makes takes its security options from the settings."""

from __future__ import annotations

import ast
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faust.auth import SASLCredentials, SSLCredentials

from stream.config import KafkaSettings, load_settings
from stream.errors import ConfigError
from stream.kafka.app import create_app
from stream.kafka.security import client_options, faust_credentials

PACKAGE = Path(__file__).resolve().parents[3] / "stream"
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "AIOKafkaClient"}


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=finpulse-test-ca", "-keyout", str(folder / "ca.key"),
         "-out", str(folder / "ca.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder / "ca.pem"


def sasl_ssl(ca_file: Path) -> KafkaSettings:
    return KafkaSettings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="desk",
        sasl_password="s3cret",  # type: ignore[arg-type]
        ssl_cafile=ca_file,
    )


def _security(client: AIOKafkaClient) -> tuple[Any, ...]:
    return (
        client._security_protocol,
        client._sasl_mechanism,
        client._sasl_plain_username,
        client._sasl_plain_password,
        isinstance(client._ssl_context, ssl.SSLContext),
    )


async def test_each_aiokafka_client_gets_the_security_options(ca_file: Path) -> None:
    options = client_options(sasl_ssl(ca_file), client="sink")
    expected = ("SASL_SSL", "SCRAM-SHA-512", "desk", "s3cret", True)
    producer = AIOKafkaProducer(**options)
    consumer = AIOKafkaConsumer(**options)
    admin = AIOKafkaAdminClient(**options)
    client = AIOKafkaClient(**options)
    for built in (producer.client, consumer._client, admin._client, client):
        assert _security(built) == expected
        assert built._client_id == "finpulse-sink"
    await producer.stop()
    await consumer.stop()
    await admin.close()
    await client.close()


async def test_faust_transport_gets_the_same_options(ca_file: Path) -> None:
    app = create_app("security-test", sasl_ssl(ca_file))
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, SASLCredentials)
    assert (credentials.protocol.value, credentials.mechanism.value) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
    )
    assert (credentials.username, credentials.password) == ("desk", "s3cret")


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("PLAINTEXT", None), ("SSL", SSLCredentials), ("SASL_PLAINTEXT", SASLCredentials)],
)
def test_faust_credentials_follow_the_protocol(
    protocol: str, expected: type | None, ca_file: Path
) -> None:
    kafka = KafkaSettings(security_protocol=protocol, sasl_username="u", ssl_cafile=ca_file)  # type: ignore[arg-type]
    credentials = faust_credentials(kafka)
    assert credentials is None if expected is None else isinstance(credentials, expected)
    if isinstance(credentials, SASLCredentials):
        assert credentials.ssl_context is None  # SASL_PLAINTEXT: no TLS


def test_plaintext_options_carry_no_tls_or_sasl() -> None:
    options = client_options(KafkaSettings())
    assert options == {
        "bootstrap_servers": "127.0.0.1:19092",
        "client_id": "finpulse",
        "security_protocol": "PLAINTEXT",
    }


def test_ssl_check_hostname_can_be_switched_off(ca_file: Path) -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_cafile=ca_file, ssl_check_hostname=False)
    assert client_options(kafka)["ssl_context"].check_hostname is False


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    kafka = KafkaSettings(security_protocol="SSL", ssl_cafile=tmp_path / "none.pem")
    with pytest.raises(ConfigError, match="FINPULSE_KAFKA_SSL_CAFILE"):
        client_options(kafka)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FINPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "FINPULSE_KAFKA_SASL_USERNAME"),
        ({"FINPULSE_KAFKA_SSL_CERTFILE": "c.pem"}, "FINPULSE_KAFKA_SSL_KEYFILE"),
        ({"FINPULSE_KAFKA_SASL_MECHANISM": "GSSAPI"}, "SCRAM-SHA-256"),
    ],
)
def test_incomplete_security_settings_are_refused(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_the_sasl_password_is_never_shown(ca_file: Path) -> None:
    kafka = sasl_ssl(ca_file)
    assert "s3cret" not in repr(kafka) and "s3cret" not in kafka.model_dump_json()


def _direct_clients(path: Path) -> list[str]:
    """Calls of an aiokafka client constructor in ``path`` that do not pass client_options."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or getattr(node.func, "id", None) not in CLIENTS:
            continue
        spread = [k.value for k in node.keywords if k.arg is None]
        if not any(getattr(getattr(v, "func", None), "id", "") == "client_options" for v in spread):
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_kafka_client_is_built_without_the_security_options() -> None:
    assert [hit for path in PACKAGE.rglob("*.py") for hit in _direct_clients(path)] == []
