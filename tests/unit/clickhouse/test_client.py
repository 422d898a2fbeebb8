"""ClickHouse driver errors become finpulse errors at the client, with the fix in the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from clickhouse_driver.errors import NetworkError, ServerException, SocketTimeoutError
from pydantic import ValidationError

from stream.clickhouse.client import DRIVER_ERRORS, connect, mapped
from stream.config import ClickHouseSettings
from stream.errors import ServiceError, ServiceUnavailable

# Built without reading the environment: module level runs before any fixture, and ./ops/test
# exports the test stack's address.
SETTINGS = ClickHouseSettings.model_construct(host="ch.test", port=1)


@pytest.mark.parametrize(
    "error",
    [
        NetworkError("Connection refused (ch.test:1)"),
        SocketTimeoutError("timed out"),
        ConnectionResetError("reset by peer"),
        EOFError("Unexpected EOF while reading bytes"),
    ],
)
def test_no_answer_is_service_unavailable_naming_clickhouse_and_the_fix(error: Exception) -> None:
    with pytest.raises(ServiceUnavailable) as raised, mapped(SETTINGS):
        raise error
    assert raised.value.service == "clickhouse" and raised.value.address == "ch.test:1"
    assert str(raised.value).startswith("ClickHouse at ch.test:1 (native protocol) did not answer")
    assert "./ops/stack up" in str(raised.value) and raised.value.__cause__ is error


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (60, "run `finpulse db migrate`"),
        (81, "run `finpulse db migrate`"),
        (193, "check FINPULSE_CLICKHOUSE_PASSWORD"),
        (62, "see the ClickHouse server log"),
    ],
)
def test_an_error_answered_is_service_error_with_its_code_and_fix(code: int, fix: str) -> None:
    trace = "DB::Exception: it failed. Stack trace:\n\n0. clickhouse-server(StackTrace()+0x16)\n"
    with pytest.raises(ServiceError) as raised, mapped(SETTINGS):
        raise ServerException(trace, code=code)
    assert raised.value.code == code and raised.value.service == "clickhouse"
    assert str(raised.value) == (
        f"ClickHouse at ch.test:1 answered with error {code}: DB::Exception: it failed; {fix}"
    )


def test_other_errors_pass_unchanged() -> None:
    with pytest.raises(KeyError), mapped(SETTINGS):
        raise KeyError("not the driver's")


def test_the_driver_errors_cover_what_mapped_maps() -> None:
    assert all(issubclass(e, DRIVER_ERRORS) for e in (NetworkError, ServerException, OSError))


def test_connect_passes_tls_and_fail_over_hosts_to_the_driver(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    settings = ClickHouseSettings.model_construct(
        host="ch-1", port=9440, alt_hosts=("ch-2:9440", "ch-3:9441"), secure=True, ca_certs=ca
    )
    connection = connect(settings).connection
    assert list(connection.hosts) == [("ch-1", 9440), ("ch-2", 9440), ("ch-3", 9441)]
    assert connection.secure_socket and connection.verify_cert
    assert connection.ssl_options["ca_certs"] == str(ca)


def test_connect_is_plaintext_to_one_host_by_default() -> None:
    connection = connect(ClickHouseSettings.model_construct(host="ch.test", port=1)).connection
    assert list(connection.hosts) == [("ch.test", 1)]
    assert not connection.secure_socket


def test_an_unavailable_server_names_the_fail_over_hosts_too() -> None:
    settings = ClickHouseSettings.model_construct(host="ch.test", port=1, alt_hosts=("ch-2:2",))
    with pytest.raises(ServiceUnavailable) as raised, mapped(settings):
        raise EOFError("gone")
    assert raised.value.address == "ch.test:1,ch-2:2"


@pytest.mark.parametrize("hosts", ["ch-2", "ch-2:x", "ch-2:1 ch-3:2"])
def test_alt_hosts_must_be_host_port(hosts: str) -> None:
    with pytest.raises(ValidationError, match="host:port"):
        ClickHouseSettings(alt_hosts=hosts)  # type: ignore[arg-type]
