from pathlib import Path

import pytest

from stream.config import KafkaSettings, load_settings
from stream.errors import ConfigError
from stream.kafka.app import broker_url

ENV_VARS = [
    "FINPULSE_CONFIG",
    "FINPULSE_KAFKA_BOOTSTRAP",
    "FINPULSE_KAFKA_HIGHWATER_FROM_FETCH",
    "FINPULSE_CLICKHOUSE_PORT",
    "FINPULSE_CLICKHOUSE_PASSWORD",
    "FINPULSE_TRITON_GRPC",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_the_local_stack() -> None:
    settings = load_settings()
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.kafka.highwater_from_fetch is False
    assert settings.clickhouse.port == 19000
    assert settings.triton.grpc == "127.0.0.1:18001"


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "finpulse.toml"
    path.write_text(
        '[kafka]\nbootstrap = "file:1"\n[clickhouse]\nport = 1234\ndatabase = "fromfile"\n'
    )
    monkeypatch.setenv("FINPULSE_KAFKA_BOOTSTRAP", "env:2")
    settings = load_settings(path)
    assert settings.kafka.bootstrap == "env:2"
    assert settings.clickhouse.port == 1234
    assert settings.clickhouse.database == "fromfile"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "finpulse.toml"
    path.write_text('[triton]\ngrpc = "triton:8001"\n')
    monkeypatch.setenv("FINPULSE_CONFIG", str(path))
    assert load_settings().triton.grpc == "triton:8001"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[kafak]\nbootstrap = 'x'\n", "unknown section"),
        ("[kafka]\nbootstrap = \n", "not valid TOML"),
        ("[clickhouse]\nport = 'many'\n", "invalid settings"),
        ("[kafka]\nboot = 'x'\n", "invalid settings"),
    ],
)
def test_bad_config_files_are_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "finpulse.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_missing_config_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FINPULSE_CONFIG"):
        load_settings(tmp_path / "nope.toml")


def test_password_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_PASSWORD", "s3cret")
    settings = load_settings()
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in settings.model_dump_json()
    assert settings.clickhouse.password.get_secret_value() == "s3cret"


def test_broker_url_plain_kafka_unless_measure_on() -> None:
    assert broker_url(KafkaSettings(bootstrap="a:9092,b:9092")) == "kafka://a:9092;kafka://b:9092"
    on = KafkaSettings(bootstrap="a:9092", highwater_from_fetch=True)
    assert broker_url(on) == "kafka-highwater-from-fetch://a:9092"
