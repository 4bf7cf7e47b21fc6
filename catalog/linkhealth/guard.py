"""Which addresses the link checker may connect to (SSRF guard).

A catalog link was typed by a curator or suggested by a reader, so a check
must never reach the server's own network: loopback, private ranges,
link-local (the cloud metadata address 169.254.169.254), multicast, reserved
and their IPv6 equivalents are refused after DNS resolution, before every
connection and at every redirect. The resolver below resolves each name
once, checks every address, and hands the checked addresses to aiohttp, which
connects to them: there is no second lookup that could answer differently
(DNS rebinding).

`LINK_CHECK_ALLOWED_NETWORKS` (empty by default) lets tests and benches allow
127.0.0.0/8 for their loopback fake servers.
"""

import asyncio
import ipaddress
import socket
import time

from aiohttp.abc import AbstractResolver
from django.conf import settings

# 64:ff9b::/96 carries an IPv4 address in its last 32 bits (NAT64).
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class ForbiddenAddress(OSError):
    """The URL's host is, or resolves to, an address the checker must not reach."""

    def __init__(self, host, address, reason):
        super().__init__(f"{host} resolves to {address}: {reason}")
        self.host, self.address, self.reason = host, address, reason


def embedded_ipv4(address):
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), or None.

    Python 3.11's `is_private` and friends do not look inside IPv4-mapped
    addresses (`::ffff:127.0.0.1` is not "loopback" there), so unwrap by hand.
    """
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address):
    """Why `address` (an ip_address) is not a public unicast address, or "" when it is."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = refusal(inner)
        return f"{reason} (inside {address})" if reason else ""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    if address.version == 6 and address.teredo is not None:
        return "teredo tunnel"
    return next((name for name, hit in checks if hit), "")


def allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "LINK_CHECK_ALLOWED_NETWORKS", [])]


def check_address(host, address, allowed=None):
    """Raise ForbiddenAddress unless `address` (text) may be connected to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    allowed = allowed_networks() if allowed is None else allowed
    candidates = [ip] + [x for x in [embedded_ipv4(ip)] if x is not None]
    if any(c in net for c in candidates for net in allowed if c.version == net.version):
        return ip
    reason = refusal(ip)
    if reason:
        raise ForbiddenAddress(host, address, reason)
    return ip


async def system_lookup(host, port):
    """The addresses the system resolver gives for `host` (every family)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses forbidden addresses.

    `lookup(host, port)` returns address strings (the system resolver by
    default; tests pass a stub). A name with any forbidden address is refused
    whole. Checked answers are kept `ttl` seconds, so the connection uses the
    very addresses that `check()` approved.
    """

    def __init__(self, lookup=None, *, allowed=None, ttl=60.0):
        self.lookup = lookup or system_lookup
        self.allowed = allowed_networks() if allowed is None else allowed
        self.ttl = ttl
        self._answers = {}

    async def check(self, host, port):
        """The checked addresses of `host`; ForbiddenAddress or OSError otherwise."""
        host = host.strip("[]")
        try:
            return [str(check_address(host, host, self.allowed))]
        except ValueError:
            pass  # a name, not an address literal
        key = (host.lower(), port)
        cached = self._answers.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        addresses = list(dict.fromkeys(await self.lookup(host, port)))
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            check_address(host, address, self.allowed)
        self._answers[key] = (time.monotonic() + self.ttl, addresses)
        return addresses

    async def resolve(self, host, port=0, family=socket.AF_INET):
        results = []
        for address in await self.check(host, port):
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            results.append(
                {
                    "hostname": host,
                    "host": str(ip),
                    "port": port,
                    "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self):
        self._answers.clear()
