import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stream.config import LANGUAGES, KafkaSettings, PipelineSettings, Settings, load_settings
from stream.errors import ConfigError
from stream.kafka.app import broker_url
from stream.windows.state import WindowSpec


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run after `eval "$(./ops/stack env)"` too: no FINPULSE_* setting leaks in.
    for name in os.environ:
        if name.upper().startswith("FINPULSE_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "finpulse.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_local_stack() -> None:
    settings = load_settings()
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.kafka.highwater_from_fetch is False
    assert settings.clickhouse.port == 19000
    assert settings.triton.grpc == "127.0.0.1:18001"
    assert settings.pipeline.windows == (
        WindowSpec(60, 60),
        WindowSpec(900, 60),
        WindowSpec(3600, 300),
    )
    assert settings.alerts.rules == ("negative_surge", "volume_spike", "sentiment_reversal")
    assert settings.pipeline.model_languages == ("en",)
    assert settings.api.tokens == ()


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        '[kafka]\nbootstrap = "file:1"\n[clickhouse]\nport = 1234\ndatabase = "fromfile"\n',
    )
    monkeypatch.setenv("FINPULSE_KAFKA_BOOTSTRAP", "env:2")
    settings = load_settings(path)
    assert settings.kafka.bootstrap == "env:2"
    assert settings.clickhouse.port == 1234
    assert settings.clickhouse.database == "fromfile"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[triton]\ngrpc = "triton:8001"\n')
    monkeypatch.setenv("FINPULSE_CONFIG", str(path))
    assert load_settings().triton.grpc == "triton:8001"


# (section, key, value as TOML, value as an environment variable, the parsed value)
Case = tuple[str, str, str, str, Any]
GOOD: list[Case] = [
    ("alerts", "rules", '["volume_spike", "negative_surge"]', "volume_spike, negative_surge",
     ("volume_spike", "negative_surge")),
    ("alerts", "rules", '""', "", ()),
    ("pipeline", "windows", '["900/60", "60/60"]', "900/60,60/60",
     (WindowSpec(60, 60), WindowSpec(900, 60))),
    ("pipeline", "windows", '"900/60, 120"', "900/60, 120",
     (WindowSpec(60, 60), WindowSpec(120, 120), WindowSpec(900, 60))),
    ("pipeline", "model_languages", '["en", "DE"]', "en,DE", ("en", "de")),
    ("pipeline", "language_models", '"ZH=sentiment_multilingual"', "ZH=sentiment_multilingual",
     {"zh": "sentiment_multilingual"}),
    ("pipeline", "language_models", '{ zh = "m", ja = "m" }', "zh=m, ja=m", {"zh": "m", "ja": "m"}),
    ("pipeline", "default_language", '"fr"', "fr", "fr"),
    ("pipeline", "redact_sources", '"all"', "all", "all"),
    ("alerts", "overrides", '{ "theme:*" = { min_count = 20, warning_z = 4 } }',
     '{"theme:*": {"min_count": 20, "warning_z": 4}}',
     {"theme:*": {"min_count": 20, "warning_z": 4.0}}),
    ("alerts", "overrides", '{ AAPL = { warmup = 3.0 } }', '{"AAPL": {"warmup": 3.0}}',
     {"AAPL": {"warmup": 3}}),
]  # fmt: skip


def load_settings_with(env: dict[str, str]) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return load_settings()


def both_ways(
    tmp_path: Path, section: str, key: str, toml: str, env: str
) -> list[tuple[str, Callable[[], Settings]]]:
    """One value in a config file, then in its environment variable: (origin, load) of each."""
    path = write(tmp_path, f"[{section}]\n{key} = {toml}\n")
    variable = f"FINPULSE_{section}_{key}".upper()
    return [
        (str(path), lambda: load_settings(path)),
        ("the environment", lambda: load_settings_with({variable: env})),
    ]


@pytest.mark.parametrize("case", GOOD)
def test_good_values_parse_alike_from_file_and_environment(tmp_path: Path, case: Case) -> None:
    section, key, toml, env, expected = case
    for _, load in both_ways(tmp_path, section, key, toml, env):
        assert getattr(getattr(load(), section), key) == expected


def test_override_values_take_the_type_of_the_rule_setting() -> None:
    settings = load_settings_with({"FINPULSE_ALERTS_OVERRIDES": '{"A": {"min_count": 5.0}}'})
    [value] = settings.alerts.overrides["A"].values()
    assert type(value) is int


# (section, key, bad value as TOML, as an environment variable, what the message says)
BAD: list[Case] = [
    ("alerts", "rules", '["negative_surge", "volume_spik"]', "negative_surge,volume_spik",
     "unknown rule 'volume_spik'; valid: negative_surge, volume_spike, sentiment_reversal"),
    ("pipeline", "windows", '"90/60"', "90/60",
     "window '90/60': size and step must be whole minutes"),
    ("pipeline", "windows", '["60/60", "a/b"]', "60/60,a/b", "expected SIZE/STEP in seconds"),
    ("pipeline", "windows", '"120/180"', "120/180", "step <= size"),
    ("pipeline", "model_languages", '["en", "xx"]', "en,xx",
     "'xx' is not an ISO 639-1 language code"),
    ("pipeline", "default_language", '"english"', "english", "not an ISO 639-1 language code"),
    ("pipeline", "language_models", '"zh"', "zh", "'zh': expected LANG=MODEL"),
    ("pipeline", "language_models", '{ chinese = "m" }', "chinese=m",
     "'chinese' is not an ISO 639-1 language code"),
    ("pipeline", "redact_sources", '"some"', "some", "'social', 'all' or 'none' (got 'some')"),
    ("alerts", "overrides", '{ AAPL = { min_cnt = 1 } }', '{"AAPL": {"min_cnt": 1}}',
     "'AAPL': unknown setting 'min_cnt'; valid: min_count, alpha"),
    ("alerts", "overrides", '{ AAPL = { min_count = 2.5 } }', '{"AAPL": {"min_count": 2.5}}',
     "'AAPL': min_count = 2.5, expected a whole number"),
    ("alerts", "overrides", '{ AAPL = { warning_z = "high" } }', '{"AAPL": {"warning_z": "high"}}',
     "warning_z = 'high', expected a number"),
    ("alerts", "overrides", '{ AAPL = { warning_z = true } }', '{"AAPL": {"warning_z": true}}',
     "warning_z = True, expected a number"),
    ("alerts", "overrides", '{ AAPL = 3 }', '{"AAPL": 3}',
     "'AAPL': expected a table of rule settings"),
    ("alerts", "window_seconds", "300", "300",
     "alerts.window_seconds (FINPULSE_ALERTS_WINDOW_SECONDS) is 300, not a window size of "
     "pipeline.windows (FINPULSE_PIPELINE_WINDOWS): 60, 900, 3600"),
    ("alerts", "topic_expiry_s", "3600", "3600",
     "alerts.topic_expiry_s (FINPULSE_ALERTS_TOPIC_EXPIRY_S) is 3600.0, not above "
     "pipeline.allowed_lateness_s (21600.0)"),
    ("clickhouse", "port", '"many"', "many", "valid integer"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_values_fail_at_load_naming_the_setting(tmp_path: Path, case: Case) -> None:
    section, key, toml, env, message = case
    variable = f"FINPULSE_{section}_{key}".upper()
    for origin, load in both_ways(tmp_path, section, key, toml, env):
        with pytest.raises(ConfigError) as error:
            load()
        text = str(error.value)
        assert message in text
        assert variable in text
        if key not in (
            "window_seconds",
            "topic_expiry_s",
        ):  # a check across sections: both names, no single origin
            assert f"[{section}] {key} ({variable}, from {origin})" in text


def test_every_invalid_value_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[pipeline]\nredact_sources = "x"\n[alerts]\nrules = "x"\n')
    with pytest.raises(ConfigError, match=r"(?s)redact_sources.*rules"):
        load_settings(path)


def test_overrides_from_the_environment_must_be_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPULSE_ALERTS_OVERRIDES", "AAPL=3")
    with pytest.raises(ConfigError, match=r"\[alerts\] overrides \(FINPULSE_ALERTS_OVERRIDES"):
        load_settings()


def test_alert_window_may_be_any_size_when_alerts_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPULSE_PIPELINE_WINDOWS", "60/60,120/60")
    with pytest.raises(ConfigError, match="not a window size"):
        load_settings()
    monkeypatch.setenv("FINPULSE_ALERTS_WINDOW_SECONDS", "120")
    assert load_settings().alerts.window_seconds == 120
    monkeypatch.setenv("FINPULSE_ALERTS_WINDOW_SECONDS", "900")
    monkeypatch.setenv("FINPULSE_ALERTS_ENABLED", "false")
    assert load_settings().alerts.window_seconds == 900


def test_every_language_langid_detects_is_a_valid_code() -> None:
    from langid.langid import LanguageIdentifier, model

    assert set(LanguageIdentifier.from_modelstring(model).nb_classes) <= LANGUAGES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[kafak]\nbootstrap = 'x'\n", "unknown section"),
        ("[kafka]\nbootstrap = \n", "not valid TOML"),
        ("[clickhouse]\nport = 'many'\n", "invalid settings"),
        ("[kafka]\nboot = 'x'\n", r"\[kafka\] boot \(in .*\): unknown setting; known: bootstrap"),
        ("[api]\ntokens = ['secret-1', 2]\n", r"\[api\] tokens\[1\]"),
    ],
)
def test_bad_config_files_are_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text))


def test_a_bad_secret_is_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, "[api]\ntokens = ['secret-1', 2]\n"))
    assert "secret-1" not in str(error.value)


def test_missing_config_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FINPULSE_CONFIG"):
        load_settings(tmp_path / "nope.toml")


def test_password_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_PASSWORD", "s3cret")
    settings = load_settings()
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in settings.model_dump_json()
    assert settings.clickhouse.password.get_secret_value() == "s3cret"


@pytest.mark.parametrize("tokens", ["tok-a, tok-b,", '["tok-a", "tok-b"]'])
def test_tokens_are_secrets_masked_by_config_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tokens: str
) -> None:
    from stream.cli.main import app

    if tokens.startswith("["):
        monkeypatch.setenv("FINPULSE_CONFIG", str(write(tmp_path, f"[api]\ntokens = {tokens}\n")))
    else:
        monkeypatch.setenv("FINPULSE_API_TOKENS", tokens)
    settings = load_settings()
    assert [t.get_secret_value() for t in settings.api.tokens] == ["tok-a", "tok-b"]
    shown = CliRunner().invoke(app, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "tok-a" not in shown.output
    effective = json.loads(shown.output)
    assert effective["api"]["tokens"] == ["**********", "**********"]
    assert effective["pipeline"]["windows"] == ["60/60", "900/60", "3600/300"]


def test_config_show_output_loads_back_as_a_config_file(tmp_path: Path) -> None:
    from stream.cli.main import app

    path = write(tmp_path, '[pipeline]\nwindows = "60/60,300/60"\n[alerts]\nwindow_seconds = 300\n')
    shown = json.loads(CliRunner().invoke(app, ["--config", str(path), "config", "show"]).output)
    # Tables (overrides, retention_days) left out: the file would need TOML sub-tables.
    lines = [f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in section.items()
             if v is not None and not isinstance(v, dict))
             for name, section in shown.items()]  # fmt: skip
    again = load_settings(write(tmp_path, "".join(lines)))
    assert again.pipeline.windows == (WindowSpec(60, 60), WindowSpec(300, 60))
    assert again.alerts.rules == load_settings(path).alerts.rules


def test_broker_url_plain_kafka_unless_measure_on() -> None:
    assert broker_url(KafkaSettings(bootstrap="a:9092,b:9092")) == "kafka://a:9092;kafka://b:9092"
    on = KafkaSettings(bootstrap="a:9092", highwater_from_fetch=True)
    assert broker_url(on) == "kafka-highwater-from-fetch://a:9092"


def test_retention_days_override_some_tables_and_keep_the_other_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_RETENTION_DAYS", '{"events": 30}')
    days = load_settings().clickhouse.retention_days
    assert days["events"] == 30 and days["alerts"] == 730


@pytest.mark.parametrize(
    ("value", "message"), [('{"texts": 3}', "unknown table"), ('{"events": -1}', "0 or more")]
)
def test_bad_retention_days_are_refused(
    value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_RETENTION_DAYS", value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_model_routes_send_each_language_to_its_model() -> None:
    settings = PipelineSettings(model_languages="en", language_models="zh=sentiment_multilingual")
    assert settings.model_routes("sentiment") == {
        "en": "sentiment",
        "zh": "sentiment_multilingual",
    }
    one = PipelineSettings(model_languages="en,zh")
    assert one.model_routes("sentiment_multilingual") == {
        "en": "sentiment_multilingual",
        "zh": "sentiment_multilingual",
    }
