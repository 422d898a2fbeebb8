"""Settings, grouped by the server they concern.

Sources, strongest first: environment variables (``FINPULSE_<SECTION>_<FIELD>``, e.g.
``FINPULSE_KAFKA_BOOTSTRAP``), then a TOML file (``--config`` or ``FINPULSE_CONFIG``) with one
table per section (``[kafka]``, ``[clickhouse]``, ``[triton]``, ``[pipeline]``, ``[alerts]``,
``[delivery]``, ``[api]``), then the defaults below, which match ``./ops/stack up`` with no port
offset.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from stream.errors import ConfigError


class _Section(BaseSettings):
    """A settings section: the environment overrides values given by the config file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings


class KafkaSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="FINPULSE_KAFKA_", extra="forbid")

    bootstrap: str = Field("127.0.0.1:19092", description="host:port[,host:port...]")
    client_id: str = "finpulse"
    # Compatibility measure for brokers whose ListOffsets(latest) is wrong (Tansu 0.6, the local
    # stand-in): read partition end offsets from a fetch's high watermark instead. Off for Apache
    # Kafka and Redpanda; `./ops/stack env` switches it on for the local broker.
    highwater_from_fetch: bool = False
    session_timeout_s: float = 6.0
    heartbeat_interval_s: float = 2.0
    producer_linger_ms: float = Field(
        5.0,
        ge=0,
        description="how long the worker's producer waits to batch records into one request",
    )


class ClickHouseSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="FINPULSE_CLICKHOUSE_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(19000, description="native protocol port")
    http_port: int = 18123
    database: str = "finpulse"
    user: str = "default"
    password: SecretStr = SecretStr("")
    connect_timeout_s: float = 5.0


class TritonSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="FINPULSE_TRITON_", extra="forbid")

    grpc: str = Field("127.0.0.1:18001", description="host:port of the gRPC endpoint")
    http: str = Field("127.0.0.1:18000", description="host:port of the HTTP endpoint")
    model: str = "sentiment"
    timeout_s: float = 10.0
    model_repo: Path = Field(Path("model_repo"), description="the model repository Triton serves")


class PipelineSettings(_Section):
    """The agents: topics, validation limits, enrichment, windows, batching, metrics."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_PIPELINE_", extra="forbid")

    app_id: str = Field("finpulse", description="consumer group and prefix of internal topics")
    partitions: int = Field(4, description="partitions of the topics the worker creates")
    datadir: Path = Field(Path(".finpulse"), description="worker state (faust's table stores)")
    topic_prefix: str = Field("", description="prefix of the pipeline's own topics (text.*, ...)")
    news_topic: str = "news.raw"
    social_topic: str = "social.raw"
    deadletter_topic: str = "deadletter"
    max_text_bytes: int = 32_768
    max_future_s: float = Field(86_400.0, description="published_at at most this far ahead")
    redact_emails: bool = True
    redact_phones: bool = True
    redact_sources: str = Field("social", description="'social', 'all' or 'none'")
    default_language: str = "en"
    model_languages: str = Field("en", description="languages the served model covers")
    dedupe_horizon_s: float = Field(86_400.0, description="repeats are looked for this far back")
    topics_file: Path | None = Field(None, description="topic dictionary; None = the bundled one")
    windows: str = Field("60/60,900/60,3600/300", description="SIZE/STEP seconds, comma separated")
    lateness_s: float = 10.0
    emit_interval_s: float = Field(5.0, description="timer that closes and emits windows")
    wall_clock_close: bool = Field(
        True, description="wall time (less idle_close_s) also advances the window clock"
    )
    idle_close_s: float = Field(15.0, description="a stream quiet this long closes its windows")
    score_texts: bool = Field(
        True, description="false: texts pass unscored (to measure the pipeline without a model)"
    )
    score_batch: int = 64
    score_within_s: float = 0.2
    score_concurrency: int = Field(2, description="scoring batches in flight per worker")
    sink_batch: int = 2_000
    sink_within_s: float = 1.0
    metrics_port: int = Field(0, description="Prometheus /metrics port; 0 = off")


class AlertSettings(_Section):
    """Alert rules (stream/alerts/rules.py): global values, and per-topic overrides."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_ALERTS_", extra="forbid")

    enabled: bool = True
    topic: str = Field("alerts", description="Kafka topic of alerts (after pipeline.topic_prefix)")
    window_seconds: int = Field(900, description="windows judged: one of pipeline.windows sizes")
    rules: str = "negative_surge,volume_spike,sentiment_reversal"
    min_count: int = 10
    alpha: float = 0.2
    warmup: int = 6
    warning_z: float = 3.0
    critical_z: float = 5.0
    min_change: float = 0.15
    min_sd: float = 0.05
    reversal_level: float = 0.25
    resolve_z: float = 1.5
    cooldown_s: float = 3600.0
    # {"AAPL": {"min_count": 30}, "theme:*": {"warning_z": 4}}: exact topics win over patterns.
    overrides: dict[str, dict[str, float]] = Field(default_factory=dict)


class DeliverySettings(_Section):
    """Delivery of alerts to subscribers (stream/delivery/runner.py)."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_DELIVERY_", extra="forbid")

    enabled: bool = True
    topic: str = Field("deliveries", description="Kafka topic of delivery attempts (-> ClickHouse)")
    deadletter_topic: str = Field(
        "alerts.deadletter", description="alerts whose last delivery attempt failed"
    )
    refresh_s: float = Field(2.0, description="how often workers re-read the subscriptions")
    max_attempts: int = Field(8, ge=1, description="attempts before an alert is dead-lettered")
    backoff_initial_s: float = Field(1.0, description="first retry within this many seconds")
    backoff_max_s: float = Field(300.0, description="no retry waits longer than this")
    timeout_s: float = Field(10.0, description="a webhook answer must come within this")
    backlog: int = Field(10_000, description="alerts queued per subscriber before dead-lettering")


class ApiSettings(_Section):
    """The HTTP API (``finpulse api``): subscriptions, behind bearer tokens."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_API_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 18005
    # Comma-separated; the API refuses to start without one (no open admin endpoint by accident).
    tokens: SecretStr = SecretStr("")


class Settings(BaseModel):
    kafka: KafkaSettings
    clickhouse: ClickHouseSettings
    triton: TritonSettings
    pipeline: PipelineSettings
    alerts: AlertSettings
    delivery: DeliverySettings
    api: ApiSettings


_SECTIONS: dict[str, type[_Section]] = {
    "kafka": KafkaSettings,
    "clickhouse": ClickHouseSettings,
    "triton": TritonSettings,
    "pipeline": PipelineSettings,
    "alerts": AlertSettings,
    "delivery": DeliverySettings,
    "api": ApiSettings,
}


def read_config_file(path: Path) -> dict[str, dict[str, Any]]:
    """Read a TOML config file; unknown sections are an error, not silently ignored."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found: fix --config or FINPULSE_CONFIG"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown section(s) {unknown}; known: {sorted(_SECTIONS)}"
        )
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ConfigError(f"config file {path}: [{name}] must be a table")
    return data


def load_settings(path: Path | None = None) -> Settings:
    """Build the settings from defaults, the config file (if any) and the environment."""
    if path is None and os.environ.get("FINPULSE_CONFIG"):
        path = Path(os.environ["FINPULSE_CONFIG"])
    data = read_config_file(path) if path is not None else {}
    try:
        sections = {name: cls(**data.get(name, {})) for name, cls in _SECTIONS.items()}
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from None
    return Settings.model_validate(sections)
