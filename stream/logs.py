"""Structured logging: JSON lines for machines (default when not on a terminal), console otherwise.

Level and format come from FINPULSE_LOG_LEVEL and FINPULSE_LOG_FORMAT (json | console).
"""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """finpulse's own loggers (``stream.*``) at ``level`` (default INFO); libraries at WARNING
    unless FINPULSE_LOG_LEVEL asks for more."""
    explicit = level or os.environ.get("FINPULSE_LOG_LEVEL")
    level = (explicit or "INFO").upper()
    fmt = (
        fmt
        or os.environ.get("FINPULSE_LOG_FORMAT")
        or ("console" if sys.stderr.isatty() else "json")
    )
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Libraries (faust, aiokafka) log through the standard library: render them the same way.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=processors, processor=renderer)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if explicit else logging.WARNING)
    logging.getLogger("stream").setLevel(level)
    if not explicit:
        # It logs every refused connection with a traceback; our own error says it once.
        logging.getLogger("clickhouse_driver").setLevel(logging.ERROR)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)  # type: ignore[no-any-return]
