"""Settings every service reads, from the environment (pydantic-settings).

Real Kafka gets the safe defaults (idempotent producer on); the embedded local
stack turns off what Tansu does not support by setting `KAFKA_ENABLE_IDEMPOTENCE=false`.
"""

from __future__ import annotations

import ssl
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from orderflow.shared.http_settings import HttpSettings


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port]")
    enable_idempotence: bool = Field(
        True, description="Idempotent producer; on for Apache Kafka, off for the local Tansu broker"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    topic_prefix: str = Field(
        "", description="Prepended to every topic and group id (tests, shared clusters)"
    )
    topic_partitions: int = Field(6, ge=1, description="Partitions of topics created at start")
    replication_factor: int = Field(1, ge=1)
    fetch_max_wait_ms: int = Field(
        50,
        ge=0,
        description="How long a fetch may wait for data; Tansu always waits this long, so keep it low",
    )

    def client_options(self) -> dict[str, Any]:
        """Connection and security options common to aiokafka producers, consumers and admin."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            context = ssl.create_default_context(cafile=self.ssl_cafile)
            if self.ssl_certfile:
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
            options["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = self.sasl_mechanism or "PLAIN"
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        return options

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


class DatabaseSettings(BaseSettings):
    """Where Postgres is (`DATABASE_URL`) and which role this service logs in as.

    The URL gives host, port and database; the service replaces its user and password with
    its own role (`orderflow_<service>`), so a service can touch only its own schema.
    """

    model_config = SettingsConfigDict(extra="ignore")

    url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/orderflow",
        validation_alias=AliasChoices("DATABASE_URL", "ORDERFLOW_DATABASE_URL"),
    )
    role_password: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ORDERFLOW_DB_PASSWORD"),
        description="Password of this service's own role",
    )
    pool_min: int = Field(2, validation_alias=AliasChoices("ORDERFLOW_DB_POOL_MIN"))
    pool_max: int = Field(10, validation_alias=AliasChoices("ORDERFLOW_DB_POOL_MAX"))

    def dsn_for_role(self, role: str) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        netloc = quote(role)
        if self.role_password is not None:
            netloc += ":" + quote(self.role_password.get_secret_value(), safe="")
        netloc += "@" + (f"[{host}]" if ":" in host else host)
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class ServiceSettings(HttpSettings):
    """What every service process reads; each service extends it with its own fields."""

    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    tenants_dir: str = "config/tenants"
    tenants_reload_s: float = Field(
        2.0, ge=0, description="How often changed tenant files are looked for (0: never)"
    )
    log_level: str = "INFO"
    shutdown_timeout_s: float = Field(8.0, description="SIGTERM -> exit, kept under 10 s")
    consumer_max_records: int = Field(500, ge=1)
    poison_max_attempts: int = Field(
        3, ge=1, description="Attempts before an unexpected error dead-letters"
    )
    retry_backoff_max_s: float = 5.0
    relay_batch_size: int = Field(
        2000,
        ge=1,
        description="Outbox rows a relay publishes and marks at a time (bench/PROFILE.md)",
    )
    relay_poll_interval_s: float = 0.2
    outbox_retention_hours: float = 24.0
