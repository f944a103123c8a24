"""The local stack's database passwords: generated on first use, kept in one password file.

The embedded Postgres asks every role for its password (SCRAM-SHA-256), the admin role
included. Each role's password is made here once, at random, and kept in
`<data_dir>/pgpass`, mode 0600, in the format libpq and asyncpg read (`PGPASSFILE=…`, or
`?passfile=…` in a DSN), so `psql` can use the same file. Losing the file only means new
passwords: the stack sets the admin's at its next start and provisioning the roles'.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

_PRIVATE = stat.S_IRUSR | stat.S_IWUSR  # 0600: libpq ignores a password file others can read


class LocalSecrets:
    def __init__(self, path: Path) -> None:
        self.path = path

    def password(self, role: str) -> str:
        """The role's password, made and saved the first time it is asked for."""
        entries = self._read()
        if role not in entries:
            # URL-safe: it goes into DSNs and password-file lines without quoting.
            entries[role] = secrets.token_urlsafe(32)
            self._write(entries)
        return entries[role]

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        if stat.S_IMODE(self.path.stat().st_mode) != _PRIVATE:
            self.path.chmod(_PRIVATE)
        entries = {}
        for line in self.path.read_text().splitlines():
            fields = line.split(":")
            if len(fields) == 5 and not line.startswith("#"):
                entries[fields[3]] = fields[4]
        return entries

    def _write(self, entries: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# orderflow local stack: host:port:database:role:password"]
        lines += [f"*:*:*:{role}:{password}" for role, password in sorted(entries.items())]
        staging = self.path.with_name(self.path.name + ".new")
        # Created 0600 before a byte is written, then renamed: never readable by others.
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE)
        with os.fdopen(fd, "w") as file:
            file.write("\n".join(lines) + "\n")
        os.chmod(staging, _PRIVATE)  # O_CREAT keeps an older file's mode
        os.replace(staging, self.path)
