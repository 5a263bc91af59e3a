"""Service settings read from the environment (pydantic-settings).

Every field is named after a :class:`huleedu_runtime.contract.Env` constant
(``kafka_bootstrap_servers`` <-> ``KAFKA_BOOTSTRAP_SERVERS``); a unit test holds
the two together, so the operator renders exactly the names read here.

Existing HuleEdu services read prefixed names (``CONTENT_SERVICE_PORT``), while
the operator renders both the prefixed and the plain name. A service subclasses
:class:`ServiceSettings` with its own ``env_prefix``; a prefixed variable wins over
the plain one, and the plain one still works, so the same image runs under the
operator and under the service's own compose files.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from huleedu_runtime import contract

LogFormat = Literal["json", "console"]
AutoOffsetReset = Literal["earliest", "latest"]


class ServiceSettings(BaseSettings):
    """Settings common to every HuleEdu service; subclass to add your own.

    ::

        class Settings(ServiceSettings):
            model_config = SettingsConfigDict(env_prefix="CONTENT_SERVICE_")
            store_backend: str = "memory"
    """

    model_config = SettingsConfigDict(
        env_prefix="",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    service_name: str = "huleedu-service"
    service_version: str = "0.0.0"
    environment: str = "development"
    log_level: str = "INFO"
    log_format: LogFormat = "json"

    host: str = contract.DEFAULT_HOST
    port: int = Field(default=contract.DEFAULT_HTTP_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=contract.DEFAULT_METRICS_PORT, ge=0, le=65535)
    metrics_path: str = contract.METRICS_PATH
    shutdown_timeout_seconds: float = Field(default=contract.DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, gt=0)
    shutdown_drain_seconds: float = Field(default=0, ge=0)
    max_request_body_bytes: int = Field(default=1024 * 1024, gt=0)
    heartbeat_file: str = contract.DEFAULT_HEARTBEAT_FILE

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_consumer_group: str | None = None
    kafka_topics: Annotated[list[str], NoDecode] = Field(default_factory=list)
    kafka_auto_offset_reset: AutoOffsetReset = "earliest"
    kafka_max_poll_records: int = Field(default=contract.DEFAULT_KAFKA_MAX_POLL_RECORDS, gt=0)
    kafka_session_timeout_ms: int = Field(default=45_000, gt=0)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, gt=0)
    kafka_max_poll_interval_ms: int = Field(default=300_000, gt=0)
    kafka_handler_timeout_seconds: float = Field(
        default=contract.DEFAULT_KAFKA_HANDLER_TIMEOUT_SECONDS, ge=0
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: str = contract.DEFAULT_KAFKA_SASL_MECHANISM
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    # The mounted TLS Secret: its ca.crt / tls.crt / tls.key are used when present. An
    # explicit KAFKA_SSL_*FILE wins over the file in the directory and must exist.
    kafka_ssl_dir: str | None = None

    database_url: SecretStr | None = None

    @field_validator("kafka_topics", mode="before")
    @classmethod
    def _split_topics(cls, value: object) -> object:
        if isinstance(value, str):
            return [t.strip() for t in value.split(contract.KAFKA_TOPICS_SEPARATOR) if t.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", "kafka_auto_offset_reset", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def separate_metrics_port(self) -> int | None:
        """The port an http service also serves health and metrics on, or ``None``.

        ``METRICS_PORT`` defaults to the worker's port; an http service serves those
        endpoints on ``PORT`` and opens a second port only when ``METRICS_PORT`` is set
        (environment, ``.env`` or constructor) to a different one.
        """
        if "metrics_port" not in self.model_fields_set or self.metrics_port == self.port:
            return None
        return self.metrics_port

    @property
    def consumer_group(self) -> str:
        """``KAFKA_CONSUMER_GROUP``, defaulting to the service name."""
        return self.kafka_consumer_group or self.service_name

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        prefix = settings_cls.model_config.get("env_prefix") or ""
        env_file = settings_cls.model_config.get("env_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if prefix:
            # Plain names after the prefixed ones: earlier sources win.
            sources.append(EnvSettingsSource(settings_cls, env_prefix=""))
        sources.append(dotenv_settings)
        if prefix:
            sources.append(DotEnvSettingsSource(settings_cls, env_file=env_file, env_prefix=""))
        sources.append(file_secret_settings)
        return tuple(sources)
