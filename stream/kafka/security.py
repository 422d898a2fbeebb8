"""The one place Kafka connection options are built from settings, for every client finpulse
makes: faust's transport (``faust_credentials``) and the plain aiokafka producers, consumers,
admin and metadata clients (``client_options``). A new client takes its options from here, so
a SASL_SSL broker is reached by all of them or by none.

Passwords stay ``SecretStr`` in the settings; they are unwrapped only into the client's
keyword arguments, never into a log line or an error message.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from stream.config import KafkaSettings
from stream.errors import ConfigError


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of an SSL or SASL_SSL connection; None for the plaintext protocols."""
    if kafka.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None,
            certfile=str(kafka.ssl_certfile) if kafka.ssl_certfile else None,
            keyfile=str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None,
            password=kafka.ssl_key_password.get_secret_value() or None,
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"Kafka TLS files could not be loaded ({exc}): check FINPULSE_KAFKA_SSL_CAFILE, "
            "_SSL_CERTFILE, _SSL_KEYFILE and _SSL_KEY_PASSWORD"
        ) from None
    context.check_hostname = kafka.ssl_check_hostname
    return context


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """aiokafka's security keyword arguments (protocol, TLS context, SASL) for the settings."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        options["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    return options


def client_options(kafka: KafkaSettings, *, client: str = "") -> dict[str, Any]:
    """Keyword arguments for an aiokafka client (producer, consumer, admin, AIOKafkaClient):
    bootstrap servers, client id (``client`` is appended: ``finpulse-delivery``) and security."""
    client_id = f"{kafka.client_id}-{client}" if client else kafka.client_id
    return {"bootstrap_servers": kafka.bootstrap, "client_id": client_id} | security_options(kafka)


def faust_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """faust's ``broker_credentials`` for the settings; None for PLAINTEXT (faust's default)."""
    context = ssl_context(kafka)
    if kafka.security_protocol == "SSL" and context is not None:
        return SSLCredentials(context)
    if kafka.security_protocol.startswith("SASL_"):
        # faust derives the protocol from the context: SASL_SSL with one, SASL_PLAINTEXT without.
        return SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    return None
