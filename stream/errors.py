"""One exception tree for finpulse: every error it raises on purpose is one of these.

    FinpulseError
    ├── ConfigError            bad or missing configuration (file, environment, data files)
    ├── UsageError             a command or a request asks in a form that cannot work
    ├── ServiceUnavailable     a server (Kafka, ClickHouse, Triton) did not answer
    │                          (service, address)
    ├── ServiceError           a server answered with an error (service, address, code)
    ├── MigrationError         a ClickHouse migration is missing, altered or failed (version)
    ├── ScoringError           Triton could not score a batch (retryable)
    ├── InvalidRecord          a raw post breaks the input contract (code, reason)
    ├── InvalidSubscription    a subscription or a change to one is not acceptable
    └── SubscriptionNotFound   no such subscription (subscription_id)

Messages say how to fix the problem. Context travels as keyword-only attributes (InvalidRecord
keeps its positional ``code, reason``: the ingest stage builds it that way). Driver errors become
these at the boundary that meets them: ClickHouse in ``stream.clickhouse.client.mapped``, Kafka in
``stream.cli.pipeline.kafka_mapped``, Triton in ``stream.scoring.triton``. The CLI
(``stream.cli.app``) and the HTTP API (``stream.web.api``) each turn them into an answer in one
table: an exit status, a status code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class FinpulseError(Exception):
    """Base of every error finpulse raises on purpose."""


class ConfigError(FinpulseError):
    """Configuration is invalid or incomplete: a settings file, the environment, a data file."""


class UsageError(FinpulseError):
    """What was asked cannot work as given: options that exclude each other, a request body that
    is not a JSON object. The caller must change the request, not wait."""


class ServiceUnavailable(FinpulseError):
    """A server did not answer; ``service`` names it, ``address`` says where we looked."""

    def __init__(self, message: str, *, service: str, address: str) -> None:
        super().__init__(message)
        self.service = service
        self.address = address


class ServiceError(FinpulseError):
    """A server answered, with an error (a refused query, a model it would not load); ``code`` is
    the server's own error code when it has one."""

    def __init__(
        self, message: str, *, service: str, address: str, code: int | None = None
    ) -> None:
        super().__init__(message)
        self.service = service
        self.address = address
        self.code = code


class MigrationError(FinpulseError):
    """A schema migration cannot be applied; ``version`` names it when known."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


class ScoringError(FinpulseError):
    """Scoring failed; ``retryable`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class InvalidRecord(FinpulseError):
    """A raw post was rejected: ``code`` is machine-readable (the dead-letter reason code),
    ``reason`` says what to fix in the record."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class InvalidSubscription(FinpulseError):
    """A subscription or a change to one is not acceptable; the message says which field and why."""


class SubscriptionNotFound(FinpulseError):
    """No subscription has ``subscription_id`` (or it was deleted)."""

    def __init__(self, *, subscription_id: str) -> None:
        super().__init__(f"no subscription {subscription_id!r} (see `finpulse subscriptions list`)")
        self.subscription_id = subscription_id


def by_class(table: Mapping[type[BaseException], T], exc: BaseException, default: T) -> T:
    """The entry of the most specific class of ``exc`` in ``table`` (pure): the CLI's exit
    statuses and the API's status codes are such tables."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return default
