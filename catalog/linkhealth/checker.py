"""The link checker: many URLs at once over asyncio and aiohttp, politely.

Limits (from settings, see `CheckLimits.from_settings`): a global number of
connections, a number per host and a pause between two requests to the same
host, timeouts, a cap on the bytes read from a body, at most 5 redirects,
HEAD first with a GET when HEAD fails or an HTML page must be read, a
User-Agent naming the site, and `Retry-After` respected on 429 and 503.
Every hop goes through the SSRF guard (`guard.GuardedResolver`).

`LinkChecker.check(url)` returns an `Outcome`; `LinkChecker.run(items, ...)`
checks an iterable of (key, url) with a bounded pool of workers, so memory
stays flat however many URLs there are.
"""

import asyncio
import html
import re
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp
from django.conf import settings

from .guard import ForbiddenAddress, GuardedResolver

REDIRECT_CODES = {301, 302, 303, 307, 308}
PERMANENT_CODES = {301, 308}

# Check results (one check); an entry's state follows from them (see states.py).
OK, REDIRECTED, SUSPECT, FAILED, INCONCLUSIVE = "ok", "redirected", "suspect", "failed", "inconclusive"

SOFT_404_TITLE = re.compile(
    r"\b404\b|not found|page (?:does not|doesn.t) exist|no longer (?:available|exists)"
    r"|(?:could|can)(?:not|n.t) be found",
    re.I,
)
SOFT_404_BODY = ("page not found", "404 not found", "this page could not be found", "this page does not exist")
PARKED_PHRASES = (
    "domain is for sale",
    "domain may be for sale",
    "buy this domain",
    "this domain is parked",
    "domain parking",
    "parked free",
    "is available for purchase",
)
PARKING_HOSTS = (
    "sedoparking.com",
    "parkingcrew.net",
    "bodis.com",
    "dan.com",
    "afternic.com",
    "hugedomains.com",
    "undeveloped.com",
    "above.com",
)
TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([a-zA-Z0-9_.:-]+)", re.I)


@dataclass(frozen=True)
class CheckLimits:
    concurrency: int = 256
    per_host: int = 4
    host_delay: float = 0.25
    timeout: float = 15.0
    connect_timeout: float = 5.0
    max_body: int = 256 * 1024
    max_redirects: int = 5
    retry_after_max: float = 30.0
    user_agent: str = "meshportal-linkcheck/1.0"

    @classmethod
    def from_settings(cls, **overrides):
        values = {
            "concurrency": settings.LINK_CHECK_CONCURRENCY,
            "per_host": settings.LINK_CHECK_PER_HOST,
            "host_delay": settings.LINK_CHECK_HOST_DELAY,
            "timeout": settings.LINK_CHECK_TIMEOUT,
            "connect_timeout": min(settings.LINK_CHECK_TIMEOUT, 5.0),
            "max_body": settings.LINK_CHECK_MAX_BODY,
            "max_redirects": settings.LINK_CHECK_MAX_REDIRECTS,
            "retry_after_max": settings.LINK_CHECK_RETRY_AFTER_MAX,
            "user_agent": f"meshportal-linkcheck/1.0 (+{settings.SITE_URL})",
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class Outcome:
    """What one check found."""

    url: str
    checked_at: datetime
    result: str = FAILED
    status_code: int | None = None
    final_url: str = ""
    redirects: int = 0
    permanent: bool = False
    elapsed_ms: int = 0
    error: str = ""
    detail: str = ""
    title: str = ""
    hops: list = field(default_factory=list)

    @property
    def redirect_target(self):
        """The URL a permanent redirect chain ends at, when the entry should move there."""
        return self.final_url if self.result == REDIRECTED else ""


class CheckError(Exception):
    """A check failed for a reason named by `code` (stored as the error class)."""

    def __init__(self, code, message=""):
        super().__init__(message or code)
        self.code = code


class HostGate:
    """At most `per_host` requests to a host at once, starting `delay` seconds apart."""

    def __init__(self, per_host, delay):
        self.semaphore = asyncio.Semaphore(per_host)
        self.delay = delay
        self.next_start = 0.0

    def postpone(self, seconds):
        self.next_start = max(self.next_start, time.monotonic() + seconds)

    async def __aenter__(self):
        await self.semaphore.acquire()
        now = time.monotonic()
        start = max(now, self.next_start)
        self.next_start = start + self.delay
        if start > now:
            await asyncio.sleep(start - now)

    async def __aexit__(self, *exc):
        self.semaphore.release()


def retry_after_seconds(value):
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def page_title(body, content_type):
    """The <title> of an HTML body, decoded from its declared charset (or UTF-8, never failing)."""
    match = TITLE.search(body)
    if not match:
        return ""
    charset = ""
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip(" \"'")
    if not charset:
        meta = META_CHARSET.search(body)
        charset = meta.group(1).decode("ascii") if meta else "utf-8"
    try:
        text = match.group(1).decode(charset, errors="replace")
    except LookupError:
        text = match.group(1).decode("utf-8", errors="replace")
    return " ".join(html.unescape(text).split())[:300]


def _site(host):
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def suspect_reason(url, final_url, redirects, title, body):
    """Why a page that answered 200 looks gone anyway, or "" (soft 404, parked, sent home)."""
    start, end = urlsplit(url), urlsplit(final_url)
    if any(_site(end.hostname).endswith(h) for h in PARKING_HOSTS):
        return "parked domain"
    text = body[:65536].decode("utf-8", errors="replace").lower()
    if any(p in text for p in PARKED_PHRASES):
        return "parked domain"
    if title and SOFT_404_TITLE.search(title):
        return f"page says not found: {title[:80]}"
    if any(p in text for p in SOFT_404_BODY):
        return "page says not found"
    if redirects and start.path.strip("/") and not end.path.strip("/") and not end.query:
        return "deep link redirected to the home page"
    return ""


class LinkChecker:
    """Checks URLs with one aiohttp session; use as `async with LinkChecker(...) as checker`."""

    accept = "text/html,*/*;q=0.8"

    def __init__(self, limits=None, *, resolver=None):
        self.limits = limits or CheckLimits.from_settings()
        self.resolver = resolver or GuardedResolver()
        self.gates = {}
        self.session = None

    async def __aenter__(self):
        limits = self.limits
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            use_dns_cache=False,  # the guarded resolver keeps its own checked answers
            limit=limits.concurrency,
            limit_per_host=limits.per_host,
            ttl_dns_cache=None,
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=limits.timeout, sock_connect=limits.connect_timeout, sock_read=limits.timeout
            ),
            headers={"User-Agent": limits.user_agent, "Accept": self.accept},
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc):
        await self.session.close()

    def gate(self, host):
        gate = self.gates.get(host)
        if gate is None:
            gate = self.gates[host] = HostGate(self.limits.per_host, self.limits.host_delay)
        return gate

    async def _hop(self, url, method):
        """One request, no redirect following: (status, headers, body bytes read)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckError("unsafe_scheme", f"not an http(s) URL: {url[:200]}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        # Resolve and check before connecting; the connection then uses these very addresses.
        try:
            await self.resolver.check(parts.hostname, port)
        except ForbiddenAddress:
            raise
        except OSError as exc:
            raise CheckError("dns", str(exc)) from exc
        gate = self.gate(parts.hostname.lower())
        async with gate:
            return await self._request(url, method, gate)

    async def _request(self, url, method, gate):
        for attempt in range(2):
            async with self.session.request(method, url, allow_redirects=False) as response:
                status, headers = response.status, response.headers
                wait = retry_after_seconds(headers.get("Retry-After")) if status in (429, 503) else None
                if wait is not None and attempt == 0 and wait <= self.limits.retry_after_max:
                    gate.postpone(wait)
                    response.close()
                    await asyncio.sleep(wait)
                    continue
                body = await self._read_capped(response) if self.wants_body(method, status, headers) else b""
                response.close()  # never drain an unread body: the connection is dropped instead
                return status, headers, body
        raise AssertionError("unreachable")  # pragma: no cover

    def wants_body(self, method, status, headers):
        """Whether to read (at most `max_body` bytes of) this answer's body: an HTML page's, to judge it."""
        content_type = headers.get("Content-Type", "")
        return method == "GET" and 200 <= status < 300 and ("html" in content_type or not content_type)

    async def _read_capped(self, response):
        chunks, size = [], 0
        while size < self.limits.max_body:
            chunk = await response.content.read(min(65536, self.limits.max_body - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    async def check(self, url):
        """Check one URL: follow redirects (guarded, at most `max_redirects`), classify the answer."""
        outcome = Outcome(url=url, checked_at=datetime.now(UTC), final_url=url)
        started = time.monotonic()
        try:
            await self._follow(outcome)
        except CheckError as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, exc.code, str(exc)[:300]
        except ForbiddenAddress as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "forbidden_address", str(exc)[:300]
        except TimeoutError:
            outcome.result, outcome.error = FAILED, "timeout"
        except aiohttp.ClientConnectorCertificateError as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "tls", str(exc)[:300]
        except aiohttp.ClientSSLError as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "tls", str(exc)[:300]
        except aiohttp.ClientConnectorDNSError as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "dns", str(exc)[:300]
        except (aiohttp.ClientConnectorError, ConnectionError) as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "connection", str(exc)[:300]
        except ssl.SSLError as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, "tls", str(exc)[:300]
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            outcome.result, outcome.error, outcome.detail = FAILED, type(exc).__name__[:40], str(exc)[:300]
        outcome.elapsed_ms = int((time.monotonic() - started) * 1000)
        return outcome

    async def _follow(self, outcome):
        current, method, seen = outcome.url, "HEAD", {outcome.url}
        permanent = True
        while True:
            status, headers, body = await self._hop(current, method)
            outcome.hops.append((method, status, current))
            if status in REDIRECT_CODES and headers.get("Location"):
                if outcome.redirects >= self.limits.max_redirects:
                    raise CheckError("too_many_redirects", f"more than {self.limits.max_redirects} redirects")
                target = urljoin(current, headers["Location"])
                if target in seen:
                    raise CheckError("redirect_loop", f"redirect loop at {target[:200]}")
                seen.add(target)
                outcome.redirects += 1
                permanent = permanent and status in PERMANENT_CODES
                current = target
                continue
            content_type = headers.get("Content-Type", "")
            if method == "HEAD" and (status >= 400 or (200 <= status < 300 and "html" in content_type)):
                method = "GET"  # HEAD refused or a page to read: ask again with GET
                continue
            break
        outcome.status_code, outcome.final_url = status, current
        if status == 429:
            outcome.result, outcome.error = INCONCLUSIVE, "rate_limited"
        elif status in (401, 403):
            # Often a bot wall in front of a live page: never counted towards "dead".
            outcome.result, outcome.error = INCONCLUSIVE, "access_denied"
        elif status >= 300:
            outcome.result = FAILED
        else:
            outcome.title = page_title(body, headers.get("Content-Type", ""))
            reason = suspect_reason(outcome.url, current, outcome.redirects, outcome.title, body)
            if reason:
                outcome.result, outcome.detail = SUSPECT, reason
            elif outcome.redirects and permanent and current != outcome.url:
                outcome.result, outcome.permanent = REDIRECTED, True
            else:
                outcome.result = OK

    async def run(self, items, on_outcome, *, interleave=True):
        """Check every (key, url) of `items`; `on_outcome(key, outcome)` is awaited for each.

        A pool of `concurrency` workers pulls from the items, so memory does
        not grow with their number. Interleaving orders them host by host in
        turn, so one large host does not hold every worker at its gate.
        """
        queue = deque(interleave_by_host(items) if interleave else items)

        async def worker():
            while queue:
                key, url = queue.popleft()
                await on_outcome(key, await self.check(url))

        await asyncio.gather(*(worker() for _ in range(max(1, min(self.limits.concurrency, len(queue))))))


def interleave_by_host(items):
    """(key, url) pairs reordered round-robin over their hosts."""
    by_host = {}
    for key, url in items:
        try:
            host = _site(urlsplit(url).hostname)
        except ValueError:  # a malformed URL: its check says so
            host = ""
        by_host.setdefault(host, deque()).append((key, url))
    queues = deque(by_host.values())
    ordered = []
    while queues:
        current = queues.popleft()
        ordered.append(current.popleft())
        if current:
            queues.append(current)
    return ordered
