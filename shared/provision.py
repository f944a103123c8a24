"""Create the database, one role and one schema per service, and nothing else.

A service logs in as `orderflow_<service>` and owns only the schema `<service>`:
`public` and the database itself are closed to PUBLIC, so one service cannot read or
create anything in another's schema. Safe to run again and from two processes at once.

    DATABASE_URL=postgresql://admin@host/orderflow ORDERFLOW_SERVICES=ingest,status-tracker \
        python -m orderflow.shared.provision
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_SERVICE_RE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
# Any fixed number: every provisioner takes the same lock in the shared `postgres` database,
# because roles are cluster-wide and advisory locks are per database.
_LOCK_KEY = 0x0F_0F_0001
_MAINTENANCE_DB = "postgres"
# ORDERFLOW_DB_PASSWORD_<SERVICE>: what provisioning sets; a service reads only its own, as
# ORDERFLOW_DB_PASSWORD.
PASSWORD_ENV_PREFIX = "ORDERFLOW_DB_PASSWORD_"  # noqa: S105 (a variable name)


def schema_name(service: str) -> str:
    if not _SERVICE_RE.match(service):
        raise ValueError(f"service name {service!r} must match {_SERVICE_RE.pattern}")
    return service.replace("-", "_")


def role_name(service: str) -> str:
    return "orderflow_" + schema_name(service)


def password_env_var(service: str) -> str:
    return PASSWORD_ENV_PREFIX + schema_name(service).upper()


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def without_credentials(dsn: str) -> str:
    """The same server and database with no user or password: what a service is given,
    so the admin's login never reaches it (it logs in as its own role)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def database_of(dsn: str) -> str:
    name = urlsplit(dsn).path.lstrip("/")
    if not name:
        raise ValueError("the admin DSN must name a database")
    return name


async def provision(
    admin_dsn: str,
    services: Sequence[str],
    database: str | None = None,
    passwords: Mapping[str, str] | None = None,
) -> None:
    """Make `database` (default: the DSN's) ready for `services`; idempotent.

    Each role's password is `passwords[service]`, else ORDERFLOW_DB_PASSWORD_<SERVICE> from
    the environment; a role given none keeps the one it has."""
    target = database or database_of(admin_dsn)
    given = passwords or {}
    chosen = {s: given.get(s) or os.environ.get(password_env_var(s)) or None for s in services}
    maintenance = await asyncpg.connect(with_database(admin_dsn, _MAINTENANCE_DB))
    try:
        # Held until the connection closes: concurrent provisioners take turns.
        await maintenance.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await _create_database(maintenance, target)
        conn = await asyncpg.connect(with_database(admin_dsn, target))
        try:
            await _lock_down(conn, target)
            for service in services:
                await _provision_service(conn, target, service, chosen[service])
        finally:
            await conn.close()
    finally:
        await maintenance.close()


async def _execute_formatted(conn: asyncpg.Connection, template: str, *args: str) -> None:
    """Utility statements take no bind parameters: let the server quote with format()."""
    statement = await conn.fetchval(
        f"SELECT format('{template}', {_placeholders(len(args))})", *args
    )
    await conn.execute(statement)


def _placeholders(count: int) -> str:
    return ", ".join(f"${i}::text" for i in range(1, count + 1))


async def _create_database(conn: asyncpg.Connection, database: str) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
    if exists:
        return
    # Another provisioner that does not share our lock may get there first.
    with contextlib.suppress(asyncpg.DuplicateDatabaseError):
        await _execute_formatted(conn, "CREATE DATABASE %I", database)


async def _lock_down(conn: asyncpg.Connection, database: str) -> None:
    await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    await _execute_formatted(conn, "REVOKE ALL ON DATABASE %I FROM PUBLIC", database)


async def _provision_service(
    conn: asyncpg.Connection, database: str, service: str, password: str | None
) -> None:
    role, schema = role_name(service), schema_name(service)
    try:
        await _execute_formatted(conn, "CREATE ROLE %I LOGIN", role)
    except asyncpg.DuplicateObjectError:
        await _execute_formatted(conn, "ALTER ROLE %I LOGIN", role)
    if password is not None:
        await _execute_formatted(conn, "ALTER ROLE %I PASSWORD %L", role, password)
    await _execute_formatted(conn, "CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I", schema, role)
    await _execute_formatted(conn, "GRANT CONNECT ON DATABASE %I TO %I", database, role)


def main() -> None:
    admin_dsn = os.environ.get("DATABASE_URL", "")
    if not admin_dsn:
        raise SystemExit("DATABASE_URL must be the admin DSN of the database to provision")
    services = [s.strip() for s in os.environ.get("ORDERFLOW_SERVICES", "").split(",") if s.strip()]
    if not services:
        raise SystemExit("ORDERFLOW_SERVICES must list at least one service, comma separated")
    asyncio.run(provision(admin_dsn, services))
    print(f"provisioned {database_of(admin_dsn)} for {', '.join(services)}")


if __name__ == "__main__":
    main()
