"""A per-client rate limit through Django's cache API.

Fixed windows aligned on the clock: the count of a client in the current
window lives under one cache key that expires after the window. `cache.add`
and `cache.incr` are atomic on Redis and within one process on the local
memory cache, so this is exact with REDIS_URL and per process without it.
When the cache fails, the limit lets requests through (and logs it): the
honeypot, the fill time and moderation still stand.
"""

import contextlib
import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def client_address(request):
    """The client's address; an IPv6 client counts as its /64 network (one host's usual share).

    Behind TRUSTED_PROXY_COUNT proxies that each append what they saw to
    X-Forwarded-For, the client is the entry that many places from the end:
    what the first of our proxies saw. Entries before it are the client's own
    say. A header shorter than that (a request that did not pass all our
    proxies) falls back to REMOTE_ADDR. Used by the submission rate limit and,
    through `client_ip()`, the admin sign-in lockout.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def client_ip(request):
    """`client_address()` as one IP address, for a database column (the admin sign-in
    lockout, settings.AXES_CLIENT_IP_CALLABLE): an IPv6 /64 is its first address; None
    when the request has no usable address (a test client's `force_login`)."""
    address = client_address(request).split("/")[0]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends


@dataclass(frozen=True)
class RateLimit:
    scope: str
    limit: int
    window: int  # seconds

    def _key(self, client, now):
        return f"ratelimit:{self.scope}:{client}:{int(now // self.window)}"

    def consume(self, client):
        """Count one request of `client`; `allowed` is False once it is over the limit."""
        now = time.time()
        key, retry_after = self._key(client, now), self.window - int(now % self.window)
        try:
            # The key outlives its window a little so it never expires between add and incr.
            cache.add(key, 0, timeout=self.window + 60)
            count = cache.incr(key)
        except Exception:  # any cache failure: fail open, loudly
            logger.exception("rate limit %s: the cache failed; letting the request through", self.scope)
            return Decision(True, 0, retry_after)
        return Decision(count <= self.limit, count, retry_after)

    def refund(self, client):
        """Give back one request of `client` (it was refused for a mistake a person makes)."""
        # A missing key (a new window) or a failed cache: nothing to give back.
        with contextlib.suppress(Exception):
            cache.decr(self._key(client, time.time()))


def submission_rate_limit():
    return RateLimit("submit", settings.SUBMISSION_RATE_LIMIT, settings.SUBMISSION_RATE_WINDOW)
