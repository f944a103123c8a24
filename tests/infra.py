"""Where the integration and end-to-end tests find Postgres and Kafka.

Modes, in order:
- `DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` set: use those (CI services, `orderflow stack`);
- `ORDERFLOW_TEST_INFRA=containers`: testcontainers, Postgres 18 and Kafka in KRaft mode;
- otherwise the embedded local stack in a temporary directory on free ports, so two test
  runs on one machine never collide.

Postgres asks every role for its password (SCRAM) in the embedded and container modes. The
admin DSN names the stack's password file (`?passfile=`), and a DSN made from it for a
service role (`DatabaseSettings.dsn_for_role`) keeps it, so a test logs in as any role with
that role's own generated password. In "env" mode, give the file with `PGPASSFILE`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import psutil

from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.local_secrets import LocalSecrets
from orderflow.shared.localstack import ADMIN_ROLE, LocalStack
from orderflow.shared.provision import provision, role_name, with_database
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.topics import all_topics


class InfraModeError(RuntimeError):
    """Asked for something only the embedded stack can do (stopping Postgres on demand)."""


@dataclass
class Infra:
    admin_dsn: str
    kafka_bootstrap: str
    mode: str  # "embedded", "containers" or "env"
    enable_idempotence: bool
    stack: LocalStack | None = None
    # role -> its password, where the tests made them (embedded and container modes)
    role_password: Callable[[str], str] | None = None

    @property
    def can_pause(self) -> bool:
        return self.stack is not None

    def pause_postgres(self) -> None:
        self._embedded().pause_postgres()

    def resume_postgres(self) -> None:
        self._embedded().resume_postgres()

    def _embedded(self) -> LocalStack:
        if self.stack is None:
            raise InfraModeError(
                f"pausing Postgres needs the embedded stack; this run uses mode {self.mode!r}"
                " (unset DATABASE_URL/KAFKA_BOOTSTRAP_SERVERS and ORDERFLOW_TEST_INFRA)"
            )
        return self.stack


@contextlib.contextmanager
def open_infra(tmp_dir: Path) -> Iterator[Infra]:
    database_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if database_url and bootstrap:
        idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower() == "true"
        yield Infra(database_url, bootstrap, "env", idempotence)
    elif os.environ.get("ORDERFLOW_TEST_INFRA") == "containers":
        with _containers(tmp_dir) as infra:
            yield infra
    else:
        # Tests trade durability for speed (fsync and synchronous_commit off); the stack of
        # `make run` and `make bench` keeps both on.
        with LocalStack(tmp_dir, durable=False) as stack:
            dsn = with_passfile(stack.database_url, stack.passfile)
            yield Infra(dsn, stack.kafka_bootstrap, "embedded", False, stack, stack.role_password)


@contextlib.contextmanager
def _containers(tmp_dir: Path) -> Iterator[Infra]:
    with warnings.catch_warnings():  # older testcontainers only have the deprecated paths
        warnings.simplefilter("ignore", DeprecationWarning)
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

    # Password (SCRAM) auth, as in the embedded stack, with passwords made for this run.
    secrets = LocalSecrets(tmp_dir / "pgpass")
    postgres = PostgresContainer(
        "postgres:18",
        username=ADMIN_ROLE,
        password=secrets.password(ADMIN_ROLE),
        dbname="orderflow",
        driver=None,
    )
    postgres.with_env("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256")
    with postgres, KafkaContainer().with_kraft() as kafka:
        dsn = with_passfile(postgres.get_connection_url(), secrets.path)
        yield Infra(dsn, kafka.get_bootstrap_server(), "containers", True, None, secrets.password)


def with_passfile(dsn: str, passfile: Path) -> str:
    """`dsn` naming the password file every role's password is in (libpq and asyncpg)."""
    return f"{dsn}?passfile={quote(str(passfile), safe='/')}"


@contextlib.asynccontextmanager
async def fresh_environment(infra: Infra, services: Sequence[str]) -> AsyncIterator[dict[str, str]]:
    """A new provisioned database and a unique topic prefix with every topic created."""
    token = uuid.uuid4().hex
    database = f"test_{token}"
    prefix = f"t{token[:8]}."
    passwords = None
    if infra.role_password is not None:
        passwords = {s: infra.role_password(role_name(s)) for s in services}
    await provision(infra.admin_dsn, services, database=database, passwords=passwords)
    settings = KafkaSettings(bootstrap_servers=infra.kafka_bootstrap, topic_prefix=prefix)
    await ensure_topics(settings, all_topics(tuple(services), settings.topic_partitions))
    try:
        yield {
            "DATABASE_URL": with_database(infra.admin_dsn, database),
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "KAFKA_ENABLE_IDEMPOTENCE": str(infra.enable_idempotence).lower(),
            "KAFKA_TOPIC_PREFIX": prefix,
        }
    finally:
        await drop_database(infra.admin_dsn, database)


async def drop_database(admin_dsn: str, database: str) -> None:
    """Best effort: a leftover test database costs disk, not correctness."""
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(with_database(admin_dsn, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()


def gone_soon(pid: int, within_s: float = 3.0) -> bool:
    """The process has exited (a zombie counts: it runs nothing) within `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
