"""The FTP drop's logins come from the live tenant registry: a reloaded tenant file changes
a password without a restart; a tenant without `import.ftp_password` has no login."""

from __future__ import annotations

import ftplib
from pathlib import Path

from orderflow.shared.ftp_drop import serving
from orderflow.shared.tenants import load_tenants


def _can_login(port: int, user: str, password: str) -> bool:
    client = ftplib.FTP()
    client.connect("127.0.0.1", port, timeout=10)
    try:
        client.login(user, password)
    except ftplib.error_perm:
        return False
    finally:
        client.close()
    return True


def test_a_reloaded_password_takes_effect_without_a_restart(tmp_path: Path) -> None:
    registry = load_tenants(_write(tmp_path / "t", "first-password"), {})
    with serving(registry, tmp_path / "import", 0, auth_failed_delay_s=0) as port:
        assert _can_login(port, "acme", "first-password")
        assert not _can_login(port, "beta", "")
        assert not _can_login(port, "anonymous", "")
        registry.replace(load_tenants(_write(tmp_path / "t", "second-password"), {}))
        assert not _can_login(port, "acme", "first-password")
        assert _can_login(port, "acme", "second-password")
    assert (tmp_path / "import" / "acme" / "incoming").is_dir()
    assert not (tmp_path / "import" / "beta").exists()


def _write(directory: Path, password: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "acme.yaml").write_text(f"tenant: acme\nimport: {{ftp_password: '{password}'}}\n")
    (directory / "beta.yaml").write_text("tenant: beta\n")
    return directory
