"""`orderflow tenants check [DIR]`: validates tenant files without starting anything.

Exit 0, or 1 with one `file: field.path: reason` line per problem (CONTRACTS §12). An unset
`${NAME}` is a problem unless `--allow-missing-secrets`, which checks everything else (a CI
job without the production secrets).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping

from orderflow.shared.cli_env import described
from orderflow.shared.tenants import TenantConfigError, load_tenants


class _EveryVariableSet(Mapping[str, str]):
    """The environment, with a distinct placeholder (long enough for an API key) for each
    unset variable, so what is checked is everything but the secrets' presence."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, name: str) -> str:
        return self._env.get(name) or f"placeholder-for-unset-{name}"

    def __contains__(self, name: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("tenants", help="tenant files: check them without starting")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="validate every tenant file; exit 1 with `file: field.path: reason` lines",
        **described(__doc__),
    )
    check.add_argument(
        "directory",
        nargs="?",
        default=os.environ.get("ORDERFLOW_TENANTS_DIR", "config/tenants"),
        help="default: $ORDERFLOW_TENANTS_DIR, else config/tenants",
    )
    check.add_argument(
        "--allow-missing-secrets",
        action="store_true",
        help="an unset ${NAME} is not an error (everything else is still checked)",
    )
    check.set_defaults(run=check_command)


async def check_command(args: argparse.Namespace) -> int:
    env: Mapping[str, str] = os.environ
    if args.allow_missing_secrets:
        env = _EveryVariableSet(os.environ)
    try:
        registry = load_tenants(args.directory, env)
    except TenantConfigError as exc:
        print("\n".join(str(problem) for problem in exc.problems))
        return 1
    print(f"{args.directory}: {len(registry)} tenant(s) OK: {', '.join(registry.tenants())}")
    return 0
