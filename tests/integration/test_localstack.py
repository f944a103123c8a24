"""The infrastructure layer: provisioning, topic creation, the broker, and the embedded stack."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.localstack import LocalStack, free_port
from orderflow.shared.provision import (
    password_env_var,
    provision,
    role_name,
    schema_name,
    with_database,
)
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.topics import ORDERS_INBOUND, TopicSpec
from tests.infra import Infra, InfraModeError, drop_database, gone_soon

pytestmark = pytest.mark.integration
DURABILITY = ("fsync", "synchronous_commit")


def as_role(dsn: str, service: str, password: str | None = None) -> str:
    """The same server and database, logged in as the service's own role: with `password`,
    else the one the DSN's password file (`?passfile=`) holds for it."""
    parts = urlsplit(dsn)
    login = role_name(service) + (f":{password}" if password is not None else "")
    netloc = f"{login}@{parts.hostname}:{parts.port}"
    query = parts.query if password is None else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def embedded(infra: Infra) -> LocalStack:
    if infra.stack is None:
        pytest.skip(f"the embedded stack's own auth, not {infra.mode}'s")
    return infra.stack


def host_dsn(infra: Infra, user: str, database: str) -> str:
    """A DSN with a user and no password, and no password file to find one in."""
    parts = urlsplit(infra.admin_dsn)
    netloc = f"{user}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, "/" + database, "passfile=/nonexistent", ""))


async def test_admin_without_its_password_is_refused(infra: Infra) -> None:
    stack = embedded(infra)
    for password in (None, "", "wrong", stack.role_password(role_name("ingest"))):
        dsn = host_dsn(infra, "postgres", "orderflow")
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(dsn, password=password)


def test_psql_as_postgres_without_a_password_is_refused(infra: Infra) -> None:
    # As the issue tried it: `-U postgres`, no password, no prompt.
    stack = embedded(infra)
    psql = [str(stack._pg_bin / "psql"), "-w", "-h", "127.0.0.1", "-p", str(stack.pg_port)]
    psql += ["-U", "postgres", "-d", "orderflow", "-c", "SELECT 1"]
    done = subprocess.run(psql, capture_output=True, env={"PGPASSFILE": "/nonexistent"})
    assert done.returncode != 0
    assert b"no password supplied" in done.stderr


async def test_every_login_is_scram_and_no_rule_trusts(
    infra: Infra,
    stack_env: dict[str, str],  # the services' roles provisioned
) -> None:
    embedded(infra)
    admin = await asyncpg.connect(infra.admin_dsn)
    try:
        rules = await admin.fetch("SELECT type, auth_method FROM pg_hba_file_rules")
        stored = await admin.fetch(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolcanlogin"
            " AND (rolname = 'postgres' OR rolname LIKE 'orderflow\\_%')"
        )
    finally:
        await admin.close()
    assert rules and {(r["type"], r["auth_method"]) for r in rules} == {("host", "scram-sha-256")}
    assert {r["rolname"] for r in stored} >= {"postgres", role_name("ingest")}
    assert all(r["rolpassword"].startswith("SCRAM-SHA-256$") for r in stored)


async def test_a_service_role_logs_in_with_its_own_password_only(
    infra: Infra, stack_env: dict[str, str]
) -> None:
    stack = embedded(infra)
    database = urlsplit(stack_env["DATABASE_URL"]).path.lstrip("/")
    own = stack.role_password(role_name("ingest"))
    other = stack.role_password(role_name("status-tracker"))
    conn = await asyncpg.connect(host_dsn(infra, role_name("ingest"), database), password=own)
    await conn.close()
    for password in (None, other, stack.role_password("postgres")):
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(host_dsn(infra, role_name("ingest"), database), password=password)


def test_the_password_file_is_private_and_holds_every_role(infra: Infra) -> None:
    stack = embedded(infra)
    assert stat.S_IMODE(stack.passfile.stat().st_mode) == 0o600
    text = stack.passfile.read_text()
    for role in ("postgres", role_name("ingest"), role_name("rewards")):
        assert f":{role}:{stack.role_password(role)}\n" in text


async def test_service_role_reaches_only_its_own_schema(stack_env: dict[str, str]) -> None:
    dsn = stack_env["DATABASE_URL"]
    admin = await asyncpg.connect(dsn)
    # Even a table opened to everyone stays out of reach: `public` itself is closed.
    await admin.execute(
        "CREATE TABLE public.legacy (v text); GRANT SELECT ON public.legacy TO PUBLIC"
    )
    await admin.close()
    # Each with its own password, from the stack's password file.
    tracker = await asyncpg.connect(as_role(dsn, "status-tracker"))
    ingest = await asyncpg.connect(as_role(dsn, "ingest"))
    try:
        await tracker.execute("CREATE TABLE status_tracker.private (v text)")
        await ingest.execute("CREATE TABLE ingest.own (v text)")
        await ingest.execute("INSERT INTO ingest.own VALUES ('mine')")
        assert await ingest.fetchval("SELECT v FROM ingest.own") == "mine"
        forbidden = [
            "SELECT * FROM status_tracker.private",
            "CREATE TABLE status_tracker.intruder (v text)",
            "CREATE TABLE public.intruder (v text)",
            "SELECT * FROM public.legacy",
        ]
        for statement in forbidden:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingest.execute(statement)
    finally:
        await asyncio.gather(tracker.close(), ingest.close())


async def test_provisioning_twice_at_once_creates_one_role_and_schema(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = f"probe-{uuid.uuid4().hex[:8]}"
    database = f"test_{uuid.uuid4().hex}"
    monkeypatch.setenv(password_env_var(service), "probe-password")
    try:
        await asyncio.gather(
            provision(infra.admin_dsn, [service], database=database),
            provision(infra.admin_dsn, [service], database=database),
        )
        conn = await asyncpg.connect(with_database(infra.admin_dsn, database))
        try:
            owner = await conn.fetchval(
                "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1",
                schema_name(service),
            )
            role = await conn.fetchrow(
                "SELECT rolcanlogin, rolpassword IS NOT NULL AS has_password"
                " FROM pg_authid WHERE rolname = $1",
                role_name(service),
            )
        finally:
            await conn.close()
    finally:
        await drop_database(infra.admin_dsn, database)
        admin = await asyncpg.connect(with_database(infra.admin_dsn, "postgres"))
        await admin.execute(f'DROP ROLE IF EXISTS "{role_name(service)}"')
        await admin.close()
    assert owner == role_name(service)
    assert role is not None and role["rolcanlogin"] and role["has_password"]


def test_provision_module_provisions_the_services_it_is_given(infra: Infra) -> None:
    database = f"test_{uuid.uuid4().hex}"
    env = os.environ | {
        "DATABASE_URL": with_database(infra.admin_dsn, database),
        "ORDERFLOW_SERVICES": "ingest, status-tracker",
    }
    command = [sys.executable, "-m", "orderflow.shared.provision"]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        schemas = asyncio.run(_schemas(with_database(infra.admin_dsn, database)))
    finally:
        asyncio.run(drop_database(infra.admin_dsn, database))
    assert done.returncode == 0, done.stderr
    assert {"ingest", "status_tracker"} <= schemas


async def _schemas(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
    finally:
        await conn.close()


async def test_ensure_topics_creates_each_partition_count_and_can_run_again(infra: Infra) -> None:
    settings = KafkaSettings(
        bootstrap_servers=infra.kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}."
    )
    specs = [TopicSpec("alpha", 3), TopicSpec("beta", 1)]
    await ensure_topics(settings, specs)
    await ensure_topics(settings, specs)

    admin = AIOKafkaAdminClient(**settings.client_options())
    await admin.start()
    try:
        described = await admin.describe_topics([settings.topic("alpha"), settings.topic("beta")])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == {settings.topic("alpha"): 3, settings.topic("beta"): 1}


async def test_ensure_topics_asks_to_create_only_the_missing_topics(
    infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A principal without Create (deploy/: topics are KafkaTopics) is refused a CreateTopics
    request even for a topic that exists, so existing topics must never be in one."""
    settings = KafkaSettings(
        bootstrap_servers=infra.kafka_bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}."
    )
    asked: list[list[str]] = []
    create = AIOKafkaAdminClient.create_topics

    async def recording(self: AIOKafkaAdminClient, new_topics: list[Any], **kw: Any) -> Any:
        asked.append(sorted(t.name for t in new_topics))
        return await create(self, new_topics, **kw)

    monkeypatch.setattr(AIOKafkaAdminClient, "create_topics", recording)
    await ensure_topics(settings, [TopicSpec("alpha", 2)])
    await ensure_topics(settings, [TopicSpec("alpha", 2), TopicSpec("gamma", 1)])
    await ensure_topics(settings, [TopicSpec("alpha", 2), TopicSpec("gamma", 1)])
    assert asked == [[settings.topic("alpha")], [settings.topic("gamma")]]


async def test_ensure_topics_gives_up_when_no_broker_answers() -> None:
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(KafkaError):
        await ensure_topics(settings, [TopicSpec("never", 1)], wait_s=1.0)
    assert time.monotonic() - started < 15


async def test_a_produced_record_is_consumed_from_the_prefixed_topic(
    stack_env: dict[str, str],
) -> None:
    settings = KafkaSettings(
        bootstrap_servers=stack_env["KAFKA_BOOTSTRAP_SERVERS"],
        topic_prefix=stack_env["KAFKA_TOPIC_PREFIX"],
        enable_idempotence=stack_env["KAFKA_ENABLE_IDEMPOTENCE"] == "true",
    )
    topic = settings.topic(ORDERS_INBOUND)
    producer = AIOKafkaProducer(**settings.client_options(), acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"n": 1}', key=b"acme:o-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(**settings.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"acme:o-1", b'{"n": 1}')


async def test_paused_postgres_refuses_work_then_resumes_with_its_data(
    infra: Infra, stack_env: dict[str, str]
) -> None:
    if not infra.can_pause:
        pytest.skip(f"stopping Postgres on demand needs the embedded stack, not {infra.mode}")
    dsn = stack_env["DATABASE_URL"]
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')")
    infra.pause_postgres()
    try:
        # An open session is ended (fast shutdown), and nobody new gets in.
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await conn.fetchval("SELECT 1")
        with pytest.raises(OSError):
            await asyncpg.connect(dsn, timeout=2)
    finally:
        infra.resume_postgres()
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT v FROM kept") == "before"
    finally:
        await conn.close()


def test_pausing_postgres_outside_the_embedded_stack_says_why() -> None:
    external = Infra("postgresql://db/x", "kafka:9092", "env", True)
    with pytest.raises(InfraModeError, match="embedded"):
        external.pause_postgres()


async def test_local_stack_keeps_postgres_data_across_restarts_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    with LocalStack(tmp_path) as stack:
        conn = await asyncpg.connect(stack.database_url)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('first run')")
        await conn.close()
        first_pids = stack.pids()
        children = [c.pid for p in first_pids for c in psutil.Process(p).children(recursive=True)]
    assert len(first_pids) == 2 and children
    assert all(gone_soon(pid) for pid in first_pids + children)

    with LocalStack(tmp_path) as again:
        conn = await asyncpg.connect(again.database_url)
        assert await conn.fetchval("SELECT v FROM kept") == "first run"
        await conn.close()


async def test_a_data_directory_left_with_trust_auth_asks_for_passwords_at_next_start(
    tmp_path: Path,
) -> None:
    # As an older orderflow left .data/: trust for everyone, and no password file yet.
    with LocalStack(tmp_path, with_kafka=False, durable=False) as stack:
        conn = await asyncpg.connect(stack.database_url)
        await conn.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('old run')")
        await conn.close()
    (tmp_path / "postgres" / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
    old_password = stack.role_password("postgres")
    stack.passfile.unlink()

    with LocalStack(tmp_path, with_kafka=False, durable=False) as again:
        dsn = f"postgresql://postgres@127.0.0.1:{again.pg_port}/orderflow?passfile=/nonexistent"
        for password in (None, old_password):
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(dsn, password=password)
        conn = await asyncpg.connect(again.database_url)  # the newly generated password
        try:
            assert await conn.fetchval("SELECT v FROM kept") == "old run"
        finally:
            await conn.close()
    assert again.role_password("postgres") != old_password


async def test_local_stack_is_durable_by_default(tmp_path: Path) -> None:
    with LocalStack(tmp_path) as stack:
        conn = await asyncpg.connect(stack.database_url)
        try:
            settings = [await conn.fetchval(f"SHOW {name}") for name in DURABILITY]
        finally:
            await conn.close()
    assert settings == ["on", "on"]


async def test_the_tests_own_embedded_stack_trades_durability_for_speed(infra: Infra) -> None:
    if infra.stack is None:
        pytest.skip(f"only the embedded stack is started by the tests, not {infra.mode}")
    conn = await asyncpg.connect(infra.admin_dsn)
    try:
        settings = [await conn.fetchval(f"SHOW {name}") for name in DURABILITY]
    finally:
        await conn.close()
    assert settings == ["off", "off"]


def test_stack_command_prints_its_env_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    env |= {"ORDERFLOW_DATA_DIR": str(tmp_path), "ORDERFLOW_PG_PORT": str(free_port())}
    env["ORDERFLOW_KAFKA_PORT"] = str(free_port())
    command = [sys.executable, "-c", "from orderflow.shared.cli import main; main(['stack'])"]
    cli = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert cli.stdout is not None
        printed = [cli.stdout.readline()]
        while printed[-1] and not printed[-1].startswith("local stack up"):
            printed.append(cli.stdout.readline())
        descendants = [c.pid for c in psutil.Process(cli.pid).children(recursive=True)]
        cli.send_signal(signal.SIGTERM)
        assert cli.wait(timeout=15) == 0
    finally:
        cli.kill()
    variables = dict(line.rstrip("\n").split("=", 1) for line in printed[:-1])
    stack = LocalStack(tmp_path)
    assert variables["DATABASE_URL"] == (
        f"postgresql://postgres:{stack.role_password('postgres')}@127.0.0.1:"
        f"{env['ORDERFLOW_PG_PORT']}/orderflow"
    )
    assert variables["KAFKA_ENABLE_IDEMPOTENCE"] == "false"
    # Each role's generated password, for services started by hand against this stack.
    assert variables[password_env_var("ingest")] == stack.role_password(role_name("ingest"))
    assert printed[-1].startswith("local stack up")
    assert descendants and all(gone_soon(pid) for pid in descendants)
