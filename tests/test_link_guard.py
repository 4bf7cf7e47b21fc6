"""The link checker's SSRF guard: forbidden addresses are refused before any
connection, at the first hop and after a redirect. Names are resolved by a
stub, and a connection attempt to anything but loopback fails the test."""

import ipaddress

import pytest

from catalog.linkhealth.guard import ForbiddenAddress, check_address

from .fakeweb import FakeSite
from .linkcheck_support import check, connections  # noqa: F401 - fixture

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "10.1.2.3": "private",
    "172.16.0.9": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "not globally routable",
    "0.0.0.0": "unspecified",  # noqa: S104
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.0.0.1": "private",
    "64:ff9b::a9fe:a9fe": "link-local",
    "2002:7f00:1::": "loopback",
    "2001:db8::1": "private",
}


@pytest.mark.parametrize("address", sorted(FORBIDDEN))
def test_each_forbidden_class_is_refused(address):
    with pytest.raises(ForbiddenAddress) as raised:
        check_address("evil.test", address, allowed=[])
    assert FORBIDDEN[address] in raised.value.reason


@pytest.mark.parametrize("address", ["93.184.215.14", "140.82.121.3", "2606:4700::6810:84e5"])
def test_public_unicast_addresses_pass(address):
    assert check_address("example.org", address, allowed=[]) == ipaddress.ip_address(address)


def test_allowed_networks_let_loopback_through_and_nothing_else():
    allowed = [ipaddress.ip_network("127.0.0.0/8")]
    assert check_address("site.test", "127.0.0.1", allowed=allowed)
    with pytest.raises(ForbiddenAddress):
        check_address("site.test", "10.0.0.1", allowed=allowed)


@pytest.mark.parametrize("address", sorted(FORBIDDEN))
def test_first_hop_to_a_forbidden_address_makes_no_connection(address, connections):  # noqa: F811
    with FakeSite() as site:
        outcome = check(site.url("/ok", host="evil.test"), {"evil.test": [address]}, allowed=[])
    assert outcome.result == "failed"
    assert outcome.error == "forbidden_address"
    assert connections == []
    assert sum(site.hits.values()) == 0


def test_a_name_with_one_forbidden_address_among_public_ones_is_refused(connections):  # noqa: F811
    outcome = check("http://mixed.test/", {"mixed.test": ["93.184.215.14", "10.0.0.7"]}, allowed=[])
    assert (outcome.error, connections) == ("forbidden_address", [])


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[::1]:80/", "http://[::ffff:7f00:1]/", "http://2130706433/"],
)
def test_address_literals_are_checked_too(url, connections):  # noqa: F811
    # The system resolver reads a decimal host as an IPv4 address; the stub does the same.
    outcome = check(url, {"2130706433": ["127.0.0.1"]}, allowed=[])
    assert outcome.result == "failed"
    assert outcome.error == "forbidden_address"
    assert connections == []


@pytest.mark.parametrize(
    "target",
    [
        "http://internal.test/admin",
        "http://metadata.test/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_a_redirect_to_a_forbidden_address_is_refused_before_connecting(target, connections):  # noqa: F811
    mapping = {"site.test": ["127.0.0.1"], "internal.test": ["10.0.0.1"], "metadata.test": ["169.254.169.254"]}
    with FakeSite() as site:
        outcome = check(site.url(f"/redirect-to?to={target}"), mapping)
    assert outcome.error == "forbidden_address"
    assert outcome.redirects == 1
    assert set(connections) == {"127.0.0.1"}  # the first hop only


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://site.test/file", "gopher://site.test/"])
def test_a_redirect_to_another_scheme_is_refused(target, connections):  # noqa: F811
    with FakeSite() as site:
        outcome = check(site.url(f"/redirect-to?to={target}"), {"site.test": ["127.0.0.1"]})
    assert (outcome.result, outcome.error) == ("failed", "unsafe_scheme")


def test_the_connection_goes_to_the_checked_address_without_a_second_lookup(connections):  # noqa: F811
    lookups = []
    from catalog.linkhealth.guard import GuardedResolver

    async def lookup(host, port):
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.0.0.1"]  # a rebinding resolver

    import asyncio

    from catalog.linkhealth.checker import LinkChecker

    from .linkcheck_support import FAST, LOOPBACK

    async def go(url):
        async with LinkChecker(FAST, resolver=GuardedResolver(lookup, allowed=LOOPBACK)) as checker:
            return await checker.check(url)

    with FakeSite() as site:
        outcome = asyncio.run(go(site.url("/moved")))
    assert outcome.result == "redirected"
    assert lookups == ["site.test"]
    assert set(connections) == {"127.0.0.1"}
