"""One exception tree for finpulse.

    FinpulseError
    ├── ConfigError            bad or missing configuration (file, environment)
    ├── ServiceUnavailable     a server (broker, ClickHouse, Triton) cannot be reached
    └── MigrationError         a ClickHouse migration is missing, altered or failed

Messages say how to fix the problem. Context travels as keyword-only attributes.
"""

from __future__ import annotations


class FinpulseError(Exception):
    """Base of every error finpulse raises on purpose."""


class ConfigError(FinpulseError):
    """Configuration is invalid or incomplete."""


class ServiceUnavailable(FinpulseError):
    """A server did not answer; ``service`` names it, ``address`` says where we looked."""

    def __init__(self, message: str, *, service: str, address: str) -> None:
        super().__init__(message)
        self.service = service
        self.address = address


class MigrationError(FinpulseError):
    """A schema migration cannot be applied; ``version`` names it when known."""

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version
