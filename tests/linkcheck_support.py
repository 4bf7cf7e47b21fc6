"""Helpers for the link-checker tests: a checker wired to a stub resolver,
and a record of every outgoing connection attempt."""

import asyncio
import ipaddress

import aiohappyeyeballs
import pytest

from catalog.linkhealth.checker import CheckLimits, LinkChecker
from catalog.linkhealth.guard import GuardedResolver

from .fakeweb import stub_lookup

FAST = CheckLimits(
    concurrency=20, per_host=4, host_delay=0, timeout=2, connect_timeout=1, max_body=64 * 1024, retry_after_max=2
)
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


def check(url, mapping, *, limits=FAST, allowed=LOOPBACK):
    """Check one URL with names resolved by `mapping` (host -> [addresses])."""
    resolver = GuardedResolver(stub_lookup(mapping), allowed=allowed)

    async def go():
        async with LinkChecker(limits, resolver=resolver) as checker:
            return await checker.check(url)

    return asyncio.run(go())


@pytest.fixture
def connections(monkeypatch):
    """Every address aiohttp tries to connect to; connections to anything but loopback are refused here."""
    attempts = []
    real = aiohappyeyeballs.start_connection

    async def recording(addr_infos, *args, **kwargs):
        addresses = [info[4][0] for info in addr_infos]
        attempts.extend(addresses)
        if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise OSError("test guard: a connection beyond loopback was attempted")
        return await real(addr_infos, *args, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", recording)
    return attempts
