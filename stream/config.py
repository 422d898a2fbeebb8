"""Settings, grouped by the server they concern.

Sources, strongest first: environment variables (``FINPULSE_<SECTION>_<FIELD>``, e.g.
``FINPULSE_KAFKA_BOOTSTRAP``), then a TOML file (``--config`` or ``FINPULSE_CONFIG``) with one
table per section (``[kafka]``, ``[clickhouse]``, ``[triton]``, ``[pipeline]``, ``[alerts]``,
``[delivery]``, ``[api]``), then the defaults below, which match ``./ops/stack up`` with no port
offset.

Values are parsed and checked here, once, when the settings load: lists (rules, window specs,
languages, tokens) are accepted as a comma-separated string (environment, TOML) or a TOML list,
and anything invalid raises ``ConfigError`` naming the setting, its environment variable and
what would be valid, before any server is contacted.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from stream.alerts.rules import RULES, Rule, RuleSettings
from stream.clickhouse.retention import DEFAULT_DAYS, TIME_COLUMNS
from stream.errors import ConfigError
from stream.windows.panes import DEFAULT_SPECS, WindowSpec, parse_specs

RedactSources = Literal["social", "all", "none"]
KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
# OAUTHBEARER is left out: aiokafka takes it only as a token-provider object written in code
# (no setting can describe how to fetch the token), so it would be half a feature.
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

# ISO 639-1, the codes language detection and the raw post's ``lang`` use.
_ISO_639_1 = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
yo za zh zu
"""
LANGUAGES = frozenset(_ISO_639_1.split())
# The rule settings an override may change, and their types (int or float).
_RULE_FIELDS: dict[str, type] = get_type_hints(RuleSettings)


def _items(value: Any) -> Any:
    """A comma-separated string (environment, TOML) or a list (TOML) -> a tuple of its items;
    anything else is left for the field's type to reject."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(item.strip() if isinstance(item, str) else item for item in value)
    return value


def _language(code: Any) -> Any:
    if not isinstance(code, str):
        return code
    if code.lower() not in LANGUAGES:
        raise ValueError(f"{code!r} is not an ISO 639-1 language code (two letters: en, de, ...)")
    return code.lower()


def _override(key: str, entry: Any) -> dict[str, int | float]:
    """One ``[alerts.overrides]`` entry, checked against the rule settings and typed like them."""
    if not key.strip():
        raise ValueError("an empty topic: keys are topics (AAPL) or patterns (theme:*)")
    if not isinstance(entry, dict):
        raise ValueError(f"{key!r}: expected a table of rule settings, e.g. {{min_count = 20}}")
    typed: dict[str, int | float] = {}
    for name, value in entry.items():
        kind = _RULE_FIELDS.get(name)
        if kind is None:
            raise ValueError(f"{key!r}: unknown setting {name!r}; valid: {', '.join(_RULE_FIELDS)}")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (kind is int and not float(value).is_integer()):
            expected = "a whole number" if kind is int else "a number"
            raise ValueError(f"{key!r}: {name} = {value!r}, expected {expected}")
        typed[name] = kind(value)
    return typed


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
    # Compatibility measure for brokers that do not answer a waiting fetch when records arrive
    # (Tansu 0.6): every fetch waits out its max wait (faust's consumer: 1.5 s, aiokafka's: 0.5 s),
    # and each hop of the pipeline costs that. A short wait here; `./ops/stack env` sets 100 ms.
    # None (the default) keeps the clients' own: Kafka and Redpanda answer as records arrive.
    fetch_max_wait_ms: int | None = Field(None, ge=1)
    session_timeout_s: float = 6.0
    heartbeat_interval_s: float = 2.0
    producer_linger_ms: float = Field(
        5.0,
        ge=0,
        description="how long the worker's producer waits to batch records into one request",
    )
    # Security, for every Kafka client finpulse makes (stream/kafka/security.py builds them).
    security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    sasl_mechanism: SaslMechanism = Field(
        "PLAIN", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (SASL_* protocols)"
    )
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: Path | None = Field(None, description="CA bundle (PEM); None = the system's")
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM), for mTLS")
    ssl_keyfile: Path | None = Field(None, description="client key (PEM), for mTLS")
    ssl_key_password: SecretStr = SecretStr("")
    ssl_check_hostname: bool = Field(True, description="the broker's name must match its cert")

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl and not self.sasl_username:
            raise ValueError(
                f"security_protocol {self.security_protocol} needs a SASL user: set "
                "FINPULSE_KAFKA_SASL_USERNAME and FINPULSE_KAFKA_SASL_PASSWORD"
            )
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(
                "a client certificate needs its key and the key its certificate: set both "
                "FINPULSE_KAFKA_SSL_CERTFILE and FINPULSE_KAFKA_SSL_KEYFILE, or neither"
            )
        return self


class ClickHouseSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="FINPULSE_CLICKHOUSE_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(19000, description="native protocol port")
    http_port: int = 18123
    database: str = "finpulse"
    user: str = "default"
    password: SecretStr = SecretStr("")
    connect_timeout_s: float = 5.0
    alt_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="host:port fail-over servers, tried in order when host:port fails"
    )
    secure: bool = Field(False, description="TLS on the native protocol (port 9440 by convention)")
    ca_certs: Path | None = Field(None, description="CA bundle (PEM) for TLS; None = the system's")
    verify: bool = Field(True, description="check the server's TLS certificate")
    certfile: Path | None = Field(None, description="client certificate (PEM), for mutual TLS")
    keyfile: Path | None = Field(None, description="client key (PEM), for mutual TLS")
    # Days each table keeps (0 = for ever); `finpulse db retention` applies them. From the
    # environment: JSON (FINPULSE_CLICKHOUSE_RETENTION_DAYS='{"events": 30}').
    retention_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_DAYS))
    # Compatibility measure for ClickHouse before 19.6 (the local 18.16), which has no TTL:
    # retention drops whole monthly partitions past their age instead. `./ops/stack env` sets it.
    ttl_unsupported: bool = False
    # Compatibility measure for ClickHouse before 20.5 (the local 18.16), which has no SQL users,
    # roles or GRANT: `finpulse db access` moves the subscriptions (webhook secrets) to a
    # database of their own instead of creating roles (stream/clickhouse/access.py), and the
    # users come from users.xml. `./ops/stack env` sets it.
    sql_access_unsupported: bool = False
    cluster: str = Field(
        "",
        description="a remote_servers cluster: migrations ON CLUSTER, Replicated tables under "
        "Distributed ones (stream/clickhouse/cluster.py); empty = one server",
    )

    @field_validator("retention_days", mode="before")
    @classmethod
    def _check_retention(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(TIME_COLUMNS))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; known: {', '.join(TIME_COLUMNS)}")
        bad = {k: v for k, v in value.items() if not isinstance(v, int) or v < 0}
        if bad:
            raise ValueError(f"{bad}: days are whole numbers, 0 or more (0 keeps for ever)")
        return DEFAULT_DAYS | value

    @field_validator("alt_hosts", mode="before")
    @classmethod
    def _check_hosts(cls, value: Any) -> Any:
        items = _items(value)
        if isinstance(items, tuple):
            bad = [item for item in items if not re.fullmatch(r"[^\s:,]+:\d+", str(item))]
            if bad:
                raise ValueError(f"{', '.join(map(repr, bad))}: expected host:port[,host:port...]")
        return items


class TritonSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="FINPULSE_TRITON_", extra="forbid")

    grpc: str = Field(
        "127.0.0.1:18001",
        description="host:port of the gRPC endpoint; several (comma-separated) are replicas "
        "that the scorer spreads batches over and fails over between",
    )
    http: str = Field("127.0.0.1:18000", description="host:port of the HTTP endpoint")
    model: str = "sentiment"
    timeout_s: float = 10.0
    ssl: bool = Field(False, description="TLS on gRPC")
    ssl_root_certificates: Path | None = Field(None, description="CA bundle (PEM) for TLS")
    ssl_private_key: Path | None = Field(None, description="client key (PEM), for mutual TLS")
    ssl_certificate_chain: Path | None = Field(None, description="client cert (PEM), mutual TLS")
    model_repo: Path = Field(Path("model_repo"), description="the model repository Triton serves")


class PipelineSettings(_Section):
    """The agents: topics, validation limits, enrichment, windows, batching, metrics."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_PIPELINE_", extra="forbid")

    app_id: str = Field("finpulse", description="consumer group and prefix of internal topics")
    partitions: int = Field(4, description="partitions of the topics the worker creates")
    datadir: Path = Field(Path(".finpulse"), description="worker state (faust's table stores)")
    table_store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        description="'rocksdb': tables on disk in datadir, a restart reads only the changelog's "
        "tail; 'memory': rebuilt from the whole changelog at every start",
    )
    table_memory_mb: int = Field(
        64, ge=4,
        description="RocksDB memory of one worker's tables: one block cache for every table "
        "partition it holds, their memtables charged to it",
    )  # fmt: skip
    malloc_arenas: int = Field(
        2, ge=0,
        description="glibc malloc arenas of a worker (0: glibc's default, 8 per core); the "
        "environment's MALLOC_ARENA_MAX wins",
    )  # fmt: skip
    malloc_trim_s: float = Field(
        60.0, ge=0, description="how often a worker hands freed heap pages back (0: never)"
    )
    standby_replicas: int = Field(
        1, ge=0, description="workers that keep a warm copy of each table partition"
    )
    topic_prefix: str = Field("", description="prefix of the pipeline's own topics (text.*, ...)")
    news_topic: str = "news.raw"
    social_topic: str = "social.raw"
    deadletter_topic: str = "deadletter"
    max_text_bytes: int = 32_768
    max_future_s: float = Field(86_400.0, description="published_at at most this far ahead")
    redact_emails: bool = True
    redact_phones: bool = True
    redact_ids: bool = Field(True, description="Chinese resident ID numbers (check digit read)")
    redact_cards: bool = Field(True, description="bank card numbers (Luhn check)")
    redact_sources: RedactSources = Field("social", description="'social', 'all' or 'none'")
    default_language: str = "en"
    model_languages: Annotated[tuple[str, ...], NoDecode] = Field(
        ("en",), description="ISO 639-1 codes of the languages the served model covers"
    )
    language_models: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="languages scored by another Triton model than triton.model: "
        "'zh=sentiment_multilingual' (LANG=MODEL, comma-separated) or a TOML table",
    )
    dedupe_horizon_s: float = Field(86_400.0, description="repeats are looked for this far back")
    dedupe_max_entries: int = Field(
        1_000_000,
        ge=1,
        description="stories a scoring worker remembers, about 170 bytes each: the default "
        "(170 MB) holds a 24 h dedupe_horizon_s up to 11.5 new stories/s",
    )
    topics_file: Path | None = Field(None, description="topic dictionary; None = the bundled one")
    windows: Annotated[tuple[WindowSpec, ...], NoDecode] = Field(
        DEFAULT_SPECS, description="SIZE/STEP seconds, whole minutes: '60/60,900/60,3600/300'"
    )
    lateness_s: float = Field(
        10.0, description="close delay: a window closes when the watermark passes end + this"
    )
    emit_interval_s: float = Field(5.0, description="timer that closes and emits windows")
    running_interval_s: float = Field(
        15.0,
        ge=0,
        description="open windows that changed are given (running) at most this often",
    )
    wall_clock_close: bool = Field(
        True,
        description="when every source partition is idle, wall time (less idle_close_s) closes",
    )
    idle_close_s: float = Field(
        15.0, description="a source partition with nothing to read, quiet this long, is idle"
    )
    allowed_lateness_s: float = Field(
        6 * 3600.0,
        ge=0,
        description="a text this late after its window closed amends it; older ones are late",
    )
    mark_interval_s: float = Field(
        0.5, gt=0, description="how often each stage sends its event-time marks downstream"
    )
    max_clock_ahead_s: float = Field(
        30.0, ge=0, description="a post dated ahead moves the clock at most to wall time + this"
    )
    score_texts: bool = Field(
        True, description="false: texts pass unscored (to measure the pipeline without a model)"
    )
    score_batch: int = 64
    score_within_s: float = Field(
        0.2, gt=0, description="ingest and scoring batches: when full or this long after they began"
    )
    score_concurrency: int = Field(2, description="scoring batches in flight per worker")
    sink_batch: int = 2_000
    sink_within_s: float = Field(
        1.0, gt=0,
        description="a ClickHouse insert per table when sink_batch rows are held or this long "
        "after the batch began: under load batches fill, at a trickle a row waits at most this",
    )  # fmt: skip
    metrics_port: int = Field(0, description="Prometheus /metrics port; 0 = off")

    @field_validator("default_language", mode="before")
    @classmethod
    def _check_language(cls, value: Any) -> Any:
        return _language(value)

    @field_validator("model_languages", mode="before")
    @classmethod
    def _check_languages(cls, value: Any) -> Any:
        items = _items(value)
        return tuple(_language(code) for code in items) if isinstance(items, tuple) else items

    @field_validator("language_models", mode="before")
    @classmethod
    def _parse_language_models(cls, value: Any) -> Any:
        if isinstance(value, str):
            pairs: dict[str, str] = {}
            for item in _items(value):
                lang, sep, model = item.partition("=")
                if not sep or not model.strip():
                    raise ValueError(
                        f"{item!r}: expected LANG=MODEL, e.g. zh=sentiment_multilingual"
                    )
                pairs[lang.strip()] = model.strip()
            value = pairs
        if not isinstance(value, dict):
            return value
        return {_language(lang): model for lang, model in value.items()}

    def model_routes(self, default_model: str) -> dict[str, str]:
        """Language -> the Triton model that scores it: ``model_languages`` go to
        ``default_model``, ``language_models`` name their own; other languages stay unscored."""
        return {lang: default_model for lang in self.model_languages} | self.language_models

    @field_validator("windows", mode="before")
    @classmethod
    def _parse_windows(cls, value: Any) -> Any:
        items = _items(value)
        if isinstance(items, tuple) and all(isinstance(item, str) for item in items):
            return parse_specs(",".join(items))
        return items

    @field_serializer("windows", when_used="json")
    def _show_windows(self, specs: tuple[WindowSpec, ...]) -> list[str]:
        return [f"{spec.size_s}/{spec.step_s}" for spec in specs]


class AlertSettings(_Section):
    """Alert rules (stream/alerts/rules.py): global values, and per-topic overrides."""

    model_config = SettingsConfigDict(env_prefix="FINPULSE_ALERTS_", extra="forbid")

    enabled: bool = True
    topic: str = Field("alerts", description="Kafka topic of alerts (after pipeline.topic_prefix)")
    window_seconds: int = Field(900, description="windows judged: one of pipeline.windows sizes")
    rules: Annotated[tuple[Rule, ...], NoDecode] = Field(RULES, description="the rules that run")
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
    topic_expiry_s: float = Field(
        7 * 86_400.0,
        gt=0,
        description="a topic's alert state (baselines) is dropped once its windows have been "
        "quiet this long, in event time; it warms up anew when it comes back",
    )
    # {"AAPL": {"min_count": 30}, "theme:*": {"warning_z": 4}}: exact topics win over patterns.
    # From the environment: JSON (FINPULSE_ALERTS_OVERRIDES='{"AAPL": {"min_count": 30}}').
    overrides: dict[str, dict[str, int | float]] = Field(default_factory=dict)

    @field_validator("rules", mode="before")
    @classmethod
    def _check_rules(cls, value: Any) -> Any:
        items = _items(value)
        unknown = [name for name in items if name not in RULES] if isinstance(items, tuple) else []
        if unknown:
            raise ValueError(
                f"unknown rule {', '.join(map(repr, unknown))}; valid: {', '.join(RULES)}"
            )
        return items

    @field_validator("overrides", mode="before")
    @classmethod
    def _check_overrides(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {key: _override(str(key), entry) for key, entry in value.items()}


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
    # Comma-separated or a TOML list; the API refuses to start without one (no open admin
    # endpoint by accident).
    tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()

    @field_validator("tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        return _items(value.get_secret_value() if isinstance(value, SecretStr) else value)


class Settings(BaseModel):
    kafka: KafkaSettings
    clickhouse: ClickHouseSettings
    triton: TritonSettings
    pipeline: PipelineSettings
    alerts: AlertSettings
    delivery: DeliverySettings
    api: ApiSettings

    @model_validator(mode="after")
    def _alerts_judge_a_configured_window(self) -> Settings:
        sizes = sorted({spec.size_s for spec in self.pipeline.windows})
        if self.alerts.enabled and self.alerts.window_seconds not in sizes:
            raise ValueError(
                f"alerts.window_seconds (FINPULSE_ALERTS_WINDOW_SECONDS) is "
                f"{self.alerts.window_seconds}, not a window size of pipeline.windows "
                f"(FINPULSE_PIPELINE_WINDOWS): {', '.join(map(str, sizes))}; set it to one "
                "of those, add a window of that size, or set alerts.enabled = false"
            )
        if self.alerts.topic_expiry_s <= self.pipeline.allowed_lateness_s:
            raise ValueError(
                f"alerts.topic_expiry_s (FINPULSE_ALERTS_TOPIC_EXPIRY_S) is "
                f"{self.alerts.topic_expiry_s}, not above pipeline.allowed_lateness_s "
                f"({self.pipeline.allowed_lateness_s}): an amended window would find its "
                "topic's state gone; raise it or lower the allowed lateness"
            )
        return self


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
    """Build the settings from defaults, the config file (if any) and the environment; every
    invalid value is reported at once, in one ``ConfigError``."""
    if path is None and os.environ.get("FINPULSE_CONFIG"):
        path = Path(os.environ["FINPULSE_CONFIG"])
    data = read_config_file(path) if path is not None else {}
    problems: list[str] = []
    sections: dict[str, _Section] = {}
    for name, cls in _SECTIONS.items():
        given = data.get(name, {})
        try:
            sections[name] = cls(**given)
        except ValidationError as exc:
            problems += [_problem(name, cls, error, given, path) for error in exc.errors()]
        except SettingsError as exc:  # an environment value that is not the JSON it must be
            found = re.search(r'field "(\w+)"', str(exc))
            field = found.group(1) if found else ""
            env = _env_var(cls, field)
            problems.append(f"[{name}] {field} ({env}, from the environment): not JSON ({exc})")
    if not problems:
        try:
            return Settings.model_validate(sections)
        except ValidationError as exc:
            problems += [error["msg"].removeprefix("Value error, ") for error in exc.errors()]
    where = path if path is not None else "a config file (--config or FINPULSE_CONFIG)"
    raise ConfigError(
        "invalid settings:\n"
        + "".join(f"  {p}\n" for p in problems)
        + f"fix them in {where} or the environment"
    )


def _env_var(cls: type[_Section], field: str) -> str:
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def _problem(
    section: str,
    cls: type[_Section],
    error: ErrorDetails,
    given: dict[str, Any],
    path: Path | None,
) -> str:
    """One invalid value: its TOML key, environment variable and origin, and what is wrong."""
    first, *rest = error["loc"] or ("",)
    field = str(first)
    key = f"[{section}] {field}" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest
    )
    if not field:  # a check across settings of the section (a model validator)
        return f"[{section}] {error['msg'].removeprefix('Value error, ')}"
    if error["type"] == "extra_forbidden":
        return f"{key} (in {path}): unknown setting; known: {', '.join(cls.model_fields)}"
    env = _env_var(cls, field)
    if env in {name.upper() for name in os.environ}:
        origin = f"{env}, from the environment"
    elif field in given:
        origin = f"{env}, from {path}"
    else:
        origin = env
    message = error["msg"].removeprefix("Value error, ")
    info = cls.model_fields.get(field)
    secret = info is not None and "SecretStr" in repr(info.annotation)
    if error["type"] != "value_error" and not secret:
        message += f" (got {error['input']!r})"  # our own messages quote the value already
    return f"{key} ({origin}): {message}"
