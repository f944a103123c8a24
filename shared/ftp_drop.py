"""The FTP drop (CONTRACTS §12): each tenant logs in with its id and `import.ftp_password`
and is confined to `$ORDERFLOW_IMPORT_DIR/<tenant>/`; a file put in `incoming/` is imported
by ingest (services/ingest/import_drop.py), which moves it to `done/` with its result.

pyftpdlib serves it, in a thread of `orderflow run`. The logins are read from the tenant
registry at every login, and `orderflow run` reloads its tenant files like the services. Plain FTP sends the password in clear: keep it on a private network,
or run an SFTP server beside it (deploy/README.md).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from orderflow.shared.tenants import TenantRegistry

FOLDERS = ("incoming", "done")
# List, change folder, read; store, rename, delete, make folders: no site commands.
PERMISSIONS = "elrwfdm"


# pyftpdlib ships no type hints, so mypy --strict sees its base class as Any (misc).
class _TenantLogins(DummyAuthorizer):  # type: ignore[misc]
    """The logins of a live registry: read again at every login, so a tenant file reloaded
    (shared/tenant_reload.py) changes its FTP password or login without a restart."""

    def __init__(self, tenants: TenantRegistry, root: Path) -> None:
        super().__init__()
        self._tenants, self._root = tenants, root
        self.refresh()

    def refresh(self) -> None:
        table = {}
        for tenant in self._tenants.tenants():
            password = self._tenants.get(tenant).import_.ftp_password
            if password is None:
                continue
            home = self._root / tenant
            for folder in FOLDERS:
                (home / folder).mkdir(parents=True, exist_ok=True)
            table[tenant] = _entry(password.get_secret_value(), home.resolve())
        self.user_table = table

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        self.refresh()
        expected = self.user_table.get(username, {}).get("pwd", "")
        # Constant time, and never anonymous (no such user is added).
        if not (expected and hmac.compare_digest(expected.encode(), password.encode())):
            raise AuthenticationFailed("Authentication failed.")


def _entry(password: str, home: Path) -> dict[str, Any]:
    """A login as DummyAuthorizer keeps it (its `add_user` checks the home exists)."""
    return {
        "pwd": password,
        "home": str(home),
        "perm": PERMISSIONS,
        "operms": {},
        "msg_login": "Login successful.",
        "msg_quit": "Goodbye.",
    }


def logins(tenants: TenantRegistry, root: Path) -> _TenantLogins:
    """One login per tenant with an FTP password, its home made with incoming/ and done/."""
    return _TenantLogins(tenants, root)


@contextmanager
def serving(
    tenants: TenantRegistry,
    root: Path,
    port: int,
    host: str = "127.0.0.1",
    auth_failed_delay_s: float = 3.0,
) -> Iterator[int]:
    """The FTP server on `port` (0: a free one) while the block runs; yields the port.
    A failed login is answered after `auth_failed_delay_s` (slows password guessing)."""
    library_log = logging.getLogger("pyftpdlib")  # its own stderr lines only when unconfigured
    library_log.addHandler(logging.NullHandler())
    library_log.setLevel(logging.WARNING)
    # A handler class of its own per server: pyftpdlib reads the logins from the class.
    handler: Any = type("DropHandler", (FTPHandler,), {"banner": "orderflow import drop"})
    handler.authorizer = logins(tenants, root)
    handler.auth_failed_timeout = auth_failed_delay_s
    server = FTPServer((host, port), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"timeout": 0.5, "handle_exit": False}, daemon=True
    )
    thread.start()
    try:
        yield int(server.socket.getsockname()[1])
    finally:
        server.close_all()
        thread.join(timeout=5)
