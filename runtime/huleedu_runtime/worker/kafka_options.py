"""aiokafka client options derived from :class:`ServiceSettings`.

One place turns the contract's ``KAFKA_*`` settings (including the security
settings the operator mounts from a Secret) into consumer and producer keyword
arguments, so the loop, the DLQ producer and a service's own clients agree.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huleedu_runtime import contract
from huleedu_runtime.config import ServiceSettings
from huleedu_runtime.contract import Env


class KafkaSecurityError(ValueError):
    """The Kafka security settings cannot work; the message names the setting and the fix."""


@dataclass(frozen=True)
class TlsFiles:
    """The TLS material a client uses: CA (None = system trust store), client cert + key."""

    cafile: str | None
    certfile: str | None
    keyfile: str | None

    @property
    def mutual(self) -> bool:
        return self.certfile is not None


def tls_files(settings: ServiceSettings) -> TlsFiles:
    """Which TLS files to use, from the explicit ``KAFKA_SSL_*FILE`` and ``KAFKA_SSL_DIR``.

    An explicitly named file must exist. From the directory (the mounted Secret) each of
    ``ca.crt``, ``tls.crt``, ``tls.key`` is used when it is there, so one Secret shape
    serves server-only TLS (``ca.crt``) and mutual TLS (all three). A certificate
    without its key (or the reverse) is refused: half a client identity is a mistake.
    """
    directory = Path(settings.kafka_ssl_dir) if settings.kafka_ssl_dir else None
    if directory is not None and not directory.is_dir():
        raise KafkaSecurityError(
            f"{Env.KAFKA_SSL_DIR}={directory}: not a directory; mount the TLS Secret there "
            f"or unset {Env.KAFKA_SSL_DIR}"
        )

    def pick(env: str, explicit: str | None, name: str) -> str | None:
        if explicit:
            if not Path(explicit).is_file():
                raise KafkaSecurityError(
                    f"{env}={explicit}: no such file; point it at the PEM file or unset it"
                )
            return explicit
        if directory is not None and (directory / name).is_file():
            return str(directory / name)
        return None

    files = TlsFiles(
        cafile=pick(Env.KAFKA_SSL_CAFILE, settings.kafka_ssl_cafile, contract.KAFKA_TLS_CA_KEY),
        certfile=pick(
            Env.KAFKA_SSL_CERTFILE, settings.kafka_ssl_certfile, contract.KAFKA_TLS_CERT_KEY
        ),
        keyfile=pick(Env.KAFKA_SSL_KEYFILE, settings.kafka_ssl_keyfile, contract.KAFKA_TLS_KEY_KEY),
    )
    if (files.certfile is None) != (files.keyfile is None):
        have, missing = (
            (contract.KAFKA_TLS_CERT_KEY, contract.KAFKA_TLS_KEY_KEY)
            if files.certfile
            else (contract.KAFKA_TLS_KEY_KEY, contract.KAFKA_TLS_CERT_KEY)
        )
        raise KafkaSecurityError(
            f"Kafka TLS: {have} is there but {missing} is not ({Env.KAFKA_SSL_CERTFILE} / "
            f"{Env.KAFKA_SSL_KEYFILE}, or the Secret in {Env.KAFKA_SSL_DIR}); a client "
            f"certificate needs both: add {missing}, or remove {have} for server-only TLS"
        )
    return files


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext:
    """A client context that verifies the broker (its CA, else the system trust store)
    and presents a client certificate when one is configured."""
    files = tls_files(settings)
    try:
        context = ssl.create_default_context(cafile=files.cafile)
    except (OSError, ssl.SSLError) as exc:
        raise KafkaSecurityError(
            f"Kafka TLS: cannot load the CA {files.cafile} ({exc}); it must hold PEM "
            "certificates (the Secret's ca.crt)"
        ) from exc
    if files.certfile is not None:
        try:
            context.load_cert_chain(files.certfile, files.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise KafkaSecurityError(
                f"Kafka TLS: cannot load the client certificate {files.certfile} with key "
                f"{files.keyfile} ({exc}); both must be PEM and the key unencrypted and "
                "matching the certificate"
            ) from exc
    return context


def _security_options(settings: ServiceSettings) -> dict[str, Any]:
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise KafkaSecurityError(
                f"{Env.KAFKA_SECURITY_PROTOCOL}={protocol} needs {Env.KAFKA_SASL_USERNAME} "
                f"and {Env.KAFKA_SASL_PASSWORD}; set both (the operator renders them from "
                "spec.kafka.security.sasl.secretRef) or change the protocol"
            )
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def consumer_options(settings: ServiceSettings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": settings.consumer_group,
        "client_id": settings.service_name,
        # At-least-once: offsets are committed by the loop after the handler succeeded.
        "enable_auto_commit": False,
        "auto_offset_reset": settings.kafka_auto_offset_reset,
        "max_poll_records": settings.kafka_max_poll_records,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "max_poll_interval_ms": settings.kafka_max_poll_interval_ms,
        **_security_options(settings),
    }


def producer_options(settings: ServiceSettings) -> dict[str, Any]:
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"{settings.service_name}-producer",
        "acks": "all",
        "enable_idempotence": True,
        **_security_options(settings),
    }
