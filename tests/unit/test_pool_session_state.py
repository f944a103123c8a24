"""Pooled connections carry no session state, so the pool's reset can be free (shared/db.py).

`keep_session` replaces asyncpg's reset query (unlock all advisory locks, CLOSE ALL, UNLISTEN
*, RESET ALL) with nothing, which is right only while no pooled work leaves state in the
session. This reads every service's and the kernel's source and SQL for what would: a
session-scoped advisory lock, LISTEN, a session SET or set_config, a cursor WITH HOLD, a
temporary table or a server-side PREPARE. The files listed do such things on connections of
their own (asyncpg.connect, closed after), never on a pooled one.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN_CONNECTIONS = {
    "shared/relay.py": "the relay leads on a connection of its own (dsn_connect), closed after",
    "shared/provision.py": "the provisioner's maintenance connection (asyncpg.connect)",
    "shared/outbox_cli.py": "the outbox CLI's connection (asyncpg.connect)",
}
SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_lock(_shared)?\s*\("  # not pg_advisory_xact_lock
    r"|[\"'(]\s*(UN)?LISTEN\s|add_listener\("
    r"|[\"'(]\s*SET\s+(SESSION\s+)?(?!LOCAL\b)\w+\s*(=|TO\b)"
    r"|set_config\s*\([^)]*\bfalse\s*\)"
    r"|WITH\s+HOLD|\bTEMP(ORARY)?\s+TABLE|[\"'(]\s*PREPARE\s",
    re.IGNORECASE,
)


def sources() -> list[Path]:
    return sorted(
        path
        for top in ("shared", "services")
        for path in ROOT.glob(f"{top}/**/*.*")
        if path.suffix in {".py", ".sql"}
    )


def test_the_pattern_catches_session_state() -> None:
    caught = [
        'await conn.execute("SELECT pg_advisory_lock($1)", key)',
        'conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock)',
        'await conn.execute("LISTEN outbox")',
        'await conn.execute(f"SET search_path TO {schema}")',
        "SELECT set_config('app.tenant', $1, false)",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "CREATE TEMP TABLE moves (id int)",
    ]
    kept = [
        'await conn.execute("SELECT pg_advisory_xact_lock($1)", key)',
        '"UPDATE outbox SET sent_at = now() WHERE id = ANY($1)"',
        '" ON CONFLICT (tenant, segment_id) DO UPDATE SET definition_hash = EXCLUDED.h"',
        'await conn.execute("SET LOCAL statement_timeout = 1000")',
        "SELECT set_config('app.tenant', $1, true)",
    ]
    assert all(SESSION_STATE.search(line) for line in caught)
    assert not any(SESSION_STATE.search(line) for line in kept)


def test_no_pooled_work_leaves_session_state() -> None:
    offending = []
    for file in sources():
        relative = file.relative_to(ROOT).as_posix()
        if relative in OWN_CONNECTIONS:
            continue
        for number, line in enumerate(file.read_text().splitlines(), 1):
            if SESSION_STATE.search(line):
                offending.append(f"{relative}:{number}: {line.strip()}")
    assert offending == [], "session state on a pooled connection: restore the pool's reset"


def test_the_exempt_files_still_use_their_own_connections() -> None:
    for relative in OWN_CONNECTIONS:
        text = (ROOT / relative).read_text()
        assert SESSION_STATE.search(text), f"{relative} no longer needs its exemption"
        assert "pool.acquire" not in text, f"{relative} now uses the pool"
