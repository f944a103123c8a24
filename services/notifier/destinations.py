"""Where a webhook may be posted: public addresses only, unless the tenant allows its own
private network (`notifications.webhook.allow_private_network`).

A tenant's URL is a request the notifier makes from inside the network, so a URL naming
`127.0.0.1`, a metadata service on `169.254.169.254` or a database on `10.0.0.5` would turn
it into the tenant's proxy there. The check runs at delivery time, on every address the
name resolves to at that moment, and the connection goes to the very address checked
(TLS still verifies the name): a name that resolves to a public address when checked and
to a private one a moment later (DNS rebinding) is never connected to. An answer holding
any non-public address is refused whole.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
REFUSED_REASON = "destination_not_public"
# NAT64 (RFC 6052 and its local-use RFC 8215 prefix) carries an IPv4 address in its low bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class DestinationRefused(Exception):
    """The URL's name resolves to an address that is not public. Says no address."""


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, link-local, shared (CGNAT),
    reserved, documentation, unspecified or multicast; an IPv6 address that embeds an IPv4
    one (mapped, 6to4, NAT64) is judged by that IPv4 address too."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return is_public(address.ipv4_mapped)
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives `host` now."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connector that resolves the name itself, checks every address, and
    connects only to an address it checked."""

    def __init__(
        self, resolver: Resolver = resolve, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._resolve = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        if not all(is_public(ipaddress.ip_address(a.partition("%")[0])) for a in addresses):
            raise DestinationRefused(REFUSED_REASON)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _addresses(self, host: str, port: int, within_s: float | None) -> list[str]:
        try:
            async with asyncio.timeout(within_s):
                addresses = await self._resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout("name resolution timed out") from None
        except OSError as exc:  # socket.gaierror: may resolve later, like a refused connection
            raise httpcore.ConnectError(f"name resolution failed: {type(exc).__name__}") from None
        if not addresses:
            raise httpcore.ConnectError("the name resolved to no address")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(REFUSED_REASON)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (TLS, pooling, HTTP/1.1), its connections made by
    PublicOnlyBackend. No proxy from the environment: the address checked must be the
    address connected to."""

    def __init__(self, backend: PublicOnlyBackend) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=backend
        )
