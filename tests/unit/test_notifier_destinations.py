"""Which addresses a webhook may reach, and that the connection goes to the address checked."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from pathlib import Path

import httpcore
import pytest

from demo.tenants import EXAMPLE_TENANTS, secret_env, write_demo_tenants
from orderflow.services.notifier.destinations import (
    DestinationRefused,
    PublicOnlyBackend,
    is_public,
)
from orderflow.shared.tenants import load_tenants

NOT_PUBLIC = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.0.0.5",  # noqa: S104 (never bound)
    "172.16.0.1", "172.31.255.255",
    "192.168.1.1", "169.254.169.254", "100.64.0.1", "192.0.2.10", "198.18.0.1",
    "240.0.0.1", "255.255.255.255", "224.0.0.1", "239.255.255.250",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
]  # fmt: skip
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_loopback_private_link_local_and_reserved_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_globally_routable_unicast_is_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


class Answers:
    """A DNS that answers each lookup with the next list (rebinding is a changed answer)."""

    def __init__(self, *answers: list[str] | OSError) -> None:
        self._answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        answer = self._answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer


class Recording(httpcore.AsyncNetworkBackend):
    """Records where it is asked to connect, and fails as an unreachable host would."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        raise httpcore.ConnectError("unreachable in this test")


async def test_a_private_answer_is_refused_before_any_connection() -> None:
    inner = Recording()
    backend = PublicOnlyBackend(Answers(["127.0.0.1"]), inner)
    with pytest.raises(DestinationRefused) as refused:
        await backend.connect_tcp("hooks.example.test", 443)
    assert inner.connected == []
    assert "127.0.0.1" not in str(refused.value), "no address in what may be logged"


async def test_an_answer_mixing_public_and_private_addresses_is_refused_whole() -> None:
    inner = Recording()
    backend = PublicOnlyBackend(Answers(["93.184.216.34", "10.0.0.5"]), inner)
    with pytest.raises(DestinationRefused):
        await backend.connect_tcp("hooks.example.test", 443)
    assert inner.connected == []


async def test_the_connection_goes_to_the_checked_address_so_rebinding_is_refused() -> None:
    dns = Answers(["93.184.216.34"], ["127.0.0.1"])
    inner = Recording()
    backend = PublicOnlyBackend(dns, inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("hooks.example.test", 443)
    # The first delivery connected to the address it checked, never to the name (which a
    # second lookup could answer differently); the rebound answer is refused.
    assert inner.connected == [("93.184.216.34", 443)]
    with pytest.raises(DestinationRefused):
        await backend.connect_tcp("hooks.example.test", 443)
    assert inner.connected == [("93.184.216.34", 443)]
    assert dns.asked == [("hooks.example.test", 443)] * 2, "checked at every delivery"


async def test_a_name_that_does_not_resolve_is_a_connect_error_to_retry() -> None:
    backend = PublicOnlyBackend(Answers(socket.gaierror(-2, "Name or service not known")))
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("hooks.nowhere.test", 443)


async def test_a_unix_socket_is_never_a_destination() -> None:
    with pytest.raises(DestinationRefused):
        await PublicOnlyBackend(Answers()).connect_unix_socket("/run/docker.sock")


def test_make_runs_and_the_demos_tenants_allow_their_local_receiver(tmp_path: Path) -> None:
    # The demo points every webhook at its receiver on 127.0.0.1; make run uses the examples.
    for directory in (EXAMPLE_TENANTS, write_demo_tenants(tmp_path, "http://127.0.0.1:9/h")):
        registry = load_tenants(directory, env=secret_env(directory, {}))
        hooks = [registry.get(t).notifications.webhook for t in registry.tenants()]
        configured = [hook for hook in hooks if hook is not None]
        assert configured and all(hook.allow_private_network for hook in configured)
