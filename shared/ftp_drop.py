"""The FTP drop (CONTRACTS §12): each tenant logs in with its id and `import.ftp_password`
and is confined to `$ORDERFLOW_IMPORT_DIR/<tenant>/`; a file put in `incoming/` is imported
by ingest (services/ingest/import_drop.py), which moves it to `done/` with its result.

pyftpdlib serves it, in a thread of `orderflow run`. The logins are those of the tenant
files when it starts. Plain FTP sends the password in clear: keep it on a private network,
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


class _TenantLogins(DummyAuthorizer):  # type: ignore[misc]
    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        expected = self.user_table.get(username, {}).get("pwd", "")
        # Constant time, and never anonymous (no such user is added).
        if not (expected and hmac.compare_digest(expected.encode(), password.encode())):
            raise AuthenticationFailed("Authentication failed.")


def logins(tenants: TenantRegistry, root: Path) -> _TenantLogins:
    """One login per tenant with an FTP password, its home made with incoming/ and done/."""
    authorizer = _TenantLogins()
    for tenant in tenants.tenants():
        password = tenants.get(tenant).import_.ftp_password
        if password is None:
            continue
        home = root / tenant
        for folder in FOLDERS:
            (home / folder).mkdir(parents=True, exist_ok=True)
        authorizer.add_user(tenant, password.get_secret_value(), str(home.resolve()), PERMISSIONS)
    return authorizer


@contextmanager
def serving(
    tenants: TenantRegistry, root: Path, port: int, host: str = "127.0.0.1"
) -> Iterator[int]:
    """The FTP server on `port` (0: a free one) while the block runs; yields the port."""
    library_log = logging.getLogger("pyftpdlib")  # its own stderr lines only when unconfigured
    library_log.addHandler(logging.NullHandler())
    library_log.setLevel(logging.WARNING)
    # A handler class of its own per server: pyftpdlib reads the logins from the class.
    handler: Any = type("DropHandler", (FTPHandler,), {"banner": "orderflow import drop"})
    handler.authorizer = logins(tenants, root)
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
