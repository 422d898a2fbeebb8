"""ClickHouse over TLS (native protocol, test CA) and fail-over to an alternative host.

A ClickHouse 18.16 of the test's own, from the stack's config plus ``tcp_port_secure`` and an
``openSSL`` server section, so the stack's server stays plaintext. Migrations, an insert and a
select run over TLS, reached through ``alt_hosts`` after the first host refuses; so does the
end-to-end pipeline, its workers configured by the environment alone.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from stream.config import ClickHouseSettings, Settings
from tests.integration.helpers import ROOT, Served
from tests.integration.test_clickhouse import _event
from tests.integration.test_pipeline import build_stream, check_results, open_pipeline, produce
from tests.integration.tls import make_ca, wait_for_port

pytestmark = pytest.mark.integration

OFFSET = int(os.environ.get("FINPULSE_PORT_OFFSET", "0"))
TCP_PORT, HTTP_PORT, TLS_PORT = 19440 + OFFSET, 19441 + OFFSET, 19442 + OFFSET
DEAD_PORT = 19443 + OFFSET  # nothing listens there: the first host, which fails over

TLS_CONFIG = """
    <tcp_port_secure>{port}</tcp_port_secure>
    <openSSL><server>
        <certificateFile>{cert}</certificateFile>
        <privateKeyFile>{key}</privateKeyFile>
        <caConfig>{ca}</caConfig>
        <verificationMode>none</verificationMode>
        <loadDefaultCAFile>false</loadDefaultCAFile>
        <cacheSessions>true</cacheSessions>
        <disableProtocols>sslv2,sslv3</disableProtocols>
        <preferServerCiphers>true</preferServerCiphers>
    </server></openSSL>
</yandex>"""


@pytest.fixture(scope="module")
def tls_clickhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseSettings]:
    if shutil.which("clickhouse-server") is None:
        pytest.fail("clickhouse-server is not installed: run ./ops/install", pytrace=False)
    folder = tmp_path_factory.mktemp("clickhouse-tls")
    ca = make_ca(folder)
    for sub in ("data", "tmp", "user_files", "format_schemas", "logs"):
        (folder / sub).mkdir()
    conf = ROOT / "ops" / "conf" / "clickhouse"
    text = (conf / "config.xml").read_text(encoding="utf-8")
    for placeholder, value in {"@DIR@": str(folder), "@TCP_PORT@": str(TCP_PORT),
                               "@HTTP_PORT@": str(HTTP_PORT), "@LOG_DIR@": str(folder / "logs")
                               }.items():  # fmt: skip
        text = text.replace(placeholder, value)
    tls = TLS_CONFIG.format(port=TLS_PORT, cert=ca.server_cert, key=ca.server_key, ca=ca.ca)
    (folder / "config.xml").write_text(text.replace("</yandex>", tls), encoding="utf-8")
    shutil.copy(conf / "users.xml", folder / "users.xml")
    log = (folder / "logs" / "server.log").open("wb")
    server = subprocess.Popen(
        ["clickhouse-server", f"--config-file={folder / 'config.xml'}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    try:
        wait_for_port(TLS_PORT, 60)
        httpx.get(f"http://127.0.0.1:{HTTP_PORT}/ping").raise_for_status()
        # Not from the environment: the suite's stack settings (FINPULSE_CLICKHOUSE_*) win there.
        yield ClickHouseSettings.model_construct(
            host="127.0.0.1",
            port=DEAD_PORT,
            alt_hosts=(f"localhost:{TLS_PORT}",),
            database="tls_test",
            secure=True,
            ca_certs=ca.ca,
            connect_timeout_s=2,
        )
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_migrations_insert_and_select_over_tls_after_fail_over(
    tls_clickhouse: ClickHouseSettings,
) -> None:
    clickhouse.ensure_database(tls_clickhouse)
    client = clickhouse.connect(tls_clickhouse)
    try:
        files = migrations.load_migrations()
        migrations.migrate(clickhouse.executor(client), files)
        assert sorted(migrations.applied_migrations(clickhouse.executor(client))) == [
            m.version for m in files
        ]
        rows = [_event("wire:1", 0.8, 1), _event("wire:2", -0.6, 2)]
        client.execute(f"INSERT INTO events ({', '.join(rows[0])}) VALUES", rows)
        assert client.execute("SELECT event_id FROM events FINAL ORDER BY event_id") == [
            ("wire:1",),
            ("wire:2",),
        ]
        # The answer came over TLS, from the alternative host (the first one refuses).
        assert client.connection.secure_socket
        assert (client.connection.host, client.connection.port) == ("localhost", TLS_PORT)
    finally:
        client.disconnect()


def test_a_server_certificate_from_another_ca_is_refused(
    tls_clickhouse: ClickHouseSettings, tmp_path: Path
) -> None:
    other = make_ca(tmp_path)
    settings = tls_clickhouse.model_copy(update={"ca_certs": other.ca})
    client = clickhouse.connect(settings, database="default")
    try:
        with pytest.raises(clickhouse.DRIVER_ERRORS):
            client.execute("SELECT 1")
    finally:
        client.disconnect()


def test_the_pipeline_writes_over_tls_after_fail_over(
    tls_clickhouse: ClickHouseSettings, settings: Settings, served_model: Served, unique: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    tls = tls_clickhouse.model_copy(update={"database": unique})
    extra = {
        "FINPULSE_CLICKHOUSE_HOST": tls.host,
        "FINPULSE_CLICKHOUSE_PORT": str(tls.port),  # refuses: the workers fail over
        "FINPULSE_CLICKHOUSE_ALT_HOSTS": ",".join(tls.alt_hosts),
        "FINPULSE_CLICKHOUSE_SECURE": "true",
        "FINPULSE_CLICKHOUSE_CA_CERTS": str(tls.ca_certs),
    }
    with open_pipeline(settings.model_copy(update={"clickhouse": tls}), served_model, unique,
                       tmp_path, **extra) as p:  # fmt: skip
        p.start_worker("w1")
        items = build_stream(p.topics, time.time(), duration_s=20, seed=12)
        positions = asyncio.run(produce(p.settings.kafka.bootstrap, items))
        check_results(p, items, positions)
