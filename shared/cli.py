"""`orderflow stack` (infrastructure only) and `orderflow run` (infrastructure and every service).

Postgres and Kafka come from the embedded local stack unless `DATABASE_URL` or
`KAFKA_BOOTSTRAP_SERVERS` name real ones. Either way the database is provisioned and the
topics created before anything else starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

from orderflow.shared import (
    cli_dlq,
    cli_import,
    cli_orders,
    cli_replay,
    cli_status,
    cli_tenants,
    ftp_drop,
    outbox_cli,
    tenant_reload,
)
from orderflow.shared.cli_env import quiet_logs
from orderflow.shared.cli_preflight import ftp_port, import_root, preflight
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.keep_alive import KeepAlive
from orderflow.shared.localmail import local_smtp
from orderflow.shared.localstack import LocalStack
from orderflow.shared.provision import (
    PASSWORD_ENV_PREFIX,
    password_env_var,
    provision,
    role_name,
    without_credentials,
)
from orderflow.shared.service_registry import SERVICES as SERVICES
from orderflow.shared.service_registry import service_ports as service_ports
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import ChildExited, Supervisor
from orderflow.shared.topics import all_topics


@contextlib.asynccontextmanager
async def infrastructure(stack: LocalStack | None = None) -> AsyncIterator[dict[str, str]]:
    """Yields the env every service needs; embedded parts stop when the block ends.

    A given `stack` is used whatever the environment names (the demo and the benchmark run
    a throwaway one of their own).
    """
    database_url = "" if stack else os.environ.get("DATABASE_URL", "")
    bootstrap = "" if stack else os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if stack is None:
        stack = LocalStack.from_env(with_postgres=not database_url, with_kafka=not bootstrap)
    env = {"DATABASE_URL": database_url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    passwords: dict[str, str] = {}
    try:
        if not (database_url and bootstrap):
            stack.start()
        if not database_url:
            env["DATABASE_URL"] = stack.database_url
            # The embedded Postgres's generated role passwords (external ones come from the
            # environment): provisioning sets them, each service is given only its own.
            passwords = {s: stack.role_password(role_name(s)) for s in SERVICES}
        if not bootstrap:
            env["KAFKA_BOOTSTRAP_SERVERS"] = stack.kafka_bootstrap
            env["KAFKA_ENABLE_IDEMPOTENCE"] = "false"  # Tansu has no idempotent producer
        env |= {password_env_var(s): p for s, p in passwords.items()}
        await _prepare(env["DATABASE_URL"], env["KAFKA_BOOTSTRAP_SERVERS"], passwords)
        yield env
    finally:
        stack.stop()


async def _prepare(database_url: str, bootstrap: str, passwords: Mapping[str, str]) -> None:
    await provision(database_url, list(SERVICES), passwords=passwords)
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    await ensure_topics(settings, all_topics(tuple(SERVICES), settings.topic_partitions))


def _stop_requested() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def stack_command() -> int:
    stop = _stop_requested()
    async with infrastructure() as env:
        for name, value in env.items():
            print(f"{name}={shlex.quote(value)}")
        print("local stack up; Ctrl-C to stop", flush=True)
        await stop.wait()
    return 0


async def run_command() -> int:
    tenants = preflight(os.environ)
    stop = _stop_requested()
    async with infrastructure() as env:
        with (
            local_mail(_data_dir() / "mail") as mail_env,
            ftp_drop.serving(tenants, import_root(os.environ), ftp_port(os.environ)) as port,
        ):
            print(f"FTP drop on ftp://127.0.0.1:{port} (login: a tenant id)", flush=True)
            # The FTP logins follow changed tenant files, as the services' tenants do.
            tenants_dir = Path(os.environ.get("ORDERFLOW_TENANTS_DIR", "config/tenants"))
            reload = asyncio.ensure_future(tenant_reload.watch(tenants_dir, tenants, stop))
            supervisor = Supervisor(_data_dir() / "logs", echo=True)
            try:
                return await _run_services(supervisor, {**env, **mail_env}, stop)
            finally:
                supervisor.stop_all()
                reload.cancel()


@contextlib.contextmanager
def local_mail(directory: Path, port: int | None = None) -> Iterator[dict[str, str]]:
    """A local SMTP server saving each message to `directory` as .eml, so the notifier's
    e-mail works without outside mail; none when ORDERFLOW_SMTP_HOST names a real server.
    The port defaults to ORDERFLOW_SMTP_PORT, else 2525."""
    if os.environ.get("ORDERFLOW_SMTP_HOST"):
        yield {}
        return
    port = port or int(os.environ.get("ORDERFLOW_SMTP_PORT", "2525"))
    with local_smtp(port, directory):
        print(f"local SMTP on 127.0.0.1:{port}; mail saved in {directory}", flush=True)
        yield {"ORDERFLOW_SMTP_HOST": "127.0.0.1", "ORDERFLOW_SMTP_PORT": str(port)}


async def _run_services(supervisor: Supervisor, env: dict[str, str], stop: asyncio.Event) -> int:
    urls = start_services(
        supervisor, env, service_ports(int(os.environ.get("ORDERFLOW_HTTP_PORT", "8080")))
    )
    try:
        ready = await _ready_unless_stopped(supervisor, urls, stop)
    except ChildExited as exc:
        print(f"\n{exc}; its last output:\n{exc.tail}", flush=True)
        return 1
    except TimeoutError as exc:
        print(f"\n{exc}", flush=True)
        return 1
    if not ready:
        return 0
    _print_table(urls)
    await KeepAlive(supervisor, urls, _data_dir() / "status.json").watch(stop)
    return 0


def start_services(
    supervisor: Supervisor, env: Mapping[str, str], ports: Mapping[str, int]
) -> dict[str, str]:
    """Starts every service named in `ports` (keys of SERVICES); returns name -> base URL.

    `env` (infrastructure's, plus anything else such as ORDERFLOW_TENANTS_DIR) goes to each.
    """
    for name, port in ports.items():
        module = f"orderflow.services.{SERVICES[name]}"
        supervisor.start(name, module, _service_env(env, name, port))
    return {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


def _service_env(env: Mapping[str, str], name: str, port: int) -> dict[str, str]:
    """`env` for one service: the database without the admin's login, and of the roles'
    passwords only its own, as ORDERFLOW_DB_PASSWORD (least privilege, issue 9 item 7)."""
    own = password_env_var(name)
    password = env.get(own) or os.environ.get(own)
    service_env = {
        "ORDERFLOW_TENANTS_DIR": os.environ.get("ORDERFLOW_TENANTS_DIR", "config/tenants"),
        **{k: v for k, v in env.items() if not k.startswith(PASSWORD_ENV_PREFIX)},
        # The child starts from this process's environment: blank what it must not inherit.
        **{k: "" for k in os.environ if k.startswith(PASSWORD_ENV_PREFIX)},
        "ORDERFLOW_SERVICE_NAME": name,
        "ORDERFLOW_HTTP_PORT": str(port),
    }
    if service_env.get("DATABASE_URL"):
        service_env["DATABASE_URL"] = without_credentials(service_env["DATABASE_URL"])
    if password:  # the role's password as provisioned, under the name the service reads
        service_env["ORDERFLOW_DB_PASSWORD"] = password
    return service_env


async def _ready_unless_stopped(
    supervisor: Supervisor, urls: dict[str, str], stop: asyncio.Event
) -> bool:
    """True once every service is ready; False if Ctrl-C/SIGTERM came first."""
    probes = {name: f"{url}/readyz" for name, url in urls.items()}
    ready = asyncio.ensure_future(supervisor.wait_ready(probes))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not ready.done():
        ready.cancel()
        return False
    ready.result()
    return True


def _print_table(urls: dict[str, str]) -> None:
    width = max(len(name) for name in urls) + 2
    lines = [f"{'service'.ljust(width)}url", *(f"{n.ljust(width)}{u}" for n, u in urls.items())]
    print(
        "\n" + "\n".join(lines) + f"\nlogs in {_data_dir() / 'logs'}; a service that dies is"
        " restarted (`orderflow status`); Ctrl-C to stop",
        flush=True,
    )


def _data_dir() -> Path:
    return Path(os.environ.get("ORDERFLOW_DATA_DIR", ".data"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="orderflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command, text in (
        ("stack", stack_command, "Postgres + Kafka only; prints the env to use them"),
        ("run", run_command, "the stack and every service as separate processes"),
    ):
        commands.add_parser(name, help=text, description=text).set_defaults(
            run=lambda _args, command=command: command()
        )
    outbox = outbox_cli.add_commands(commands)
    outbox.set_defaults(run=lambda args: outbox_cli.run(args, list(SERVICES)))
    for module in (cli_status, cli_tenants, cli_import, cli_dlq, cli_replay, cli_orders):
        module.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command not in ("stack", "run"):
        quiet_logs()
    try:
        code = asyncio.run(args.run(args))
    except (RuntimeError, OSError) as exc:  # e.g. a port in use: a message, not a traceback
        raise SystemExit(f"orderflow {args.command}: {exc}") from exc
    raise SystemExit(code)


if __name__ == "__main__":  # python -m orderflow.shared.cli
    main()
