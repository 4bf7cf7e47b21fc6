"""Logos: each entry's small image, fetched by a background job and stored here.

An entry's image comes from its link: a GitHub repository's owner avatar
(`github:<owner>`), else its host's `/favicon.ico` (`host:<host>`). Entries
sharing a source share one fetch. The fetch goes through the link checker's
machinery (`LogoFetcher` is a `LinkChecker`): the SSRF guard on every hop,
timeouts, a User-Agent naming the site, a few connections per host with a
pause between them, and at most `LOGO_MAX_BYTES` read. Only PNG, GIF, JPEG,
WebP and ICO bytes are kept (recognised by their first bytes, whatever the
Content-Type says; SVG is refused, it can carry script). Readers get the copy
stored here, from our own URL, never the original.

Curators' own logos (`Entry.logo`, `Topic.logo`) are never touched by the
job: it writes `Entry.site_logo` only (see `catalog.services.logos`).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import aiohttp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from .checker import REDIRECT_CODES, CheckError, CheckLimits, LinkChecker
from .github import repo_parts
from .guard import ForbiddenAddress
from .models import LogoSource

# First bytes of the image formats a browser shows in an <img> (no SVG: it can carry script).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)
STORED, FAILED = "stored", "failed"


def sniff(data):
    """The image type of `data` from its first bytes, or "" when it is not an image we keep."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return ""


def validate_image(data):
    """The content type of `data`, a logo we may store; ValidationError (with a code) otherwise."""
    if not data:
        raise ValidationError("The image is empty.", code="empty")
    if len(data) > settings.LOGO_MAX_BYTES:
        raise ValidationError(
            f"The image is {len(data):,} bytes; a logo may have at most {settings.LOGO_MAX_BYTES:,}.",
            code="too_large",
        )
    content_type = sniff(data)
    if not content_type:
        raise ValidationError("Not a PNG, GIF, JPEG, WebP or ICO image.", code="not_image")
    return content_type


def digest(data):
    return hashlib.sha256(data).hexdigest()


def source_for(url):
    """(key, image URL) of the logo of an entry linking to `url`, or None (not http(s))."""
    parts = repo_parts(url)
    if parts:
        owner = parts[0].lower()
        return f"github:{owner}", settings.LOGO_GITHUB_AVATAR_URL.format(owner=owner)
    try:
        split = urlsplit(url)
        host = (split.hostname or "").lower()
        port = split.port
    except ValueError:
        return None
    if split.scheme not in ("http", "https") or not host:
        return None
    netloc = f"{host}:{port}" if port else host
    return f"host:{netloc}", f"{split.scheme}://{netloc}/favicon.ico"


@dataclass
class LogoOutcome:
    """What one fetch found: `data` and `content_type` when it is a logo we keep, else `error`."""

    url: str
    result: str = FAILED
    error: str = ""
    final_url: str = ""
    content_type: str = ""
    data: bytes = field(default=b"", repr=False)


class LogoFetcher(LinkChecker):
    """Fetches images with the link checker's limits, guard and per-host gates."""

    accept = "image/png,image/*;q=0.9,*/*;q=0.5"

    @classmethod
    def limits_from_settings(cls, **overrides):
        return CheckLimits.from_settings(
            max_body=settings.LOGO_MAX_BYTES + 1,  # one byte more than allowed tells "too large"
            user_agent=f"meshportal-logos/1.0 (+{settings.SITE_URL})",
            **overrides,
        )

    def __init__(self, limits=None, *, resolver=None):
        super().__init__(limits or self.limits_from_settings(), resolver=resolver)

    def wants_body(self, method, status, headers):
        length = headers.get("Content-Length", "")
        too_long = length.isdigit() and int(length) > settings.LOGO_MAX_BYTES
        return method == "GET" and status == 200 and not too_long

    async def check(self, url):
        """Fetch one image (following at most `max_redirects` guarded redirects); never raises."""
        outcome = LogoOutcome(url=url, final_url=url)
        try:
            await self._fetch(outcome)
        except CheckError as exc:
            outcome.error = exc.code
        except ForbiddenAddress:
            outcome.error = "forbidden_address"
        except TimeoutError:
            outcome.error = "timeout"
        except (aiohttp.ClientError, ConnectionError) as exc:
            outcome.error = "tls" if isinstance(exc, aiohttp.ClientSSLError) else "connection"
        except (OSError, ValueError) as exc:
            outcome.error = type(exc).__name__[:40]
        return outcome

    async def _fetch(self, outcome):
        current, seen = outcome.url, {outcome.url}
        while True:
            status, headers, body = await self._hop(current, "GET")
            if status not in REDIRECT_CODES or not headers.get("Location"):
                break
            if len(seen) > self.limits.max_redirects:
                raise CheckError("too_many_redirects")
            current = urljoin(current, headers["Location"])
            if current in seen:
                raise CheckError("redirect_loop")
            seen.add(current)
        outcome.final_url = current
        if status != 200:
            raise CheckError(f"http_{status}")
        if not self.wants_body("GET", status, headers):
            raise CheckError("too_large")  # announced larger than allowed: not read at all
        try:
            outcome.content_type = validate_image(body)
        except ValidationError as exc:
            raise CheckError(exc.code) from exc
        outcome.data, outcome.result = body, STORED


def plan(entry_ids=None):
    """{key: (image URL, [entry ids])} for the published entries (or those of `entry_ids`)."""
    from ..models import Entry

    entries = Entry.objects.visible()
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    sources = {}
    for pk, url in entries.order_by("id").values_list("id", "url").iterator(chunk_size=2000):
        found = source_for(url)
        if found:
            sources.setdefault(found[0], (found[1], []))[1].append(pk)
    return sources


def due(sources, *, stale_days, limit=None, now=None):
    """[(key, image URL)] of `sources` never tried or last tried more than `stale_days` ago,
    least recently tried first (a source's own row is made on first sight)."""
    cutoff = (now or timezone.now()) - timedelta(days=stale_days)
    known = set(LogoSource.objects.values_list("key", flat=True))
    LogoSource.objects.bulk_create(
        [LogoSource(key=key, url=url) for key, (url, _) in sources.items() if key not in known],
        batch_size=500,
        ignore_conflicts=True,
    )
    rows = (
        LogoSource.objects.filter(Q(fetched_at__isnull=True) | Q(fetched_at__lt=cutoff))
        .order_by(F("fetched_at").asc(nulls_first=True), "key")
        .values_list("key", flat=True)
    )
    keys = [key for key in rows if key in sources]
    return [(key, sources[key][0]) for key in keys[:limit]]


@dataclass
class LogoReport:
    sources: int = 0
    fetched: int = 0
    entries_changed: int = 0
    interrupted: bool = False
    left: int = 0
    progress: object = None


def refresh_logos(*, entry_ids=None, stale_days=30, limit=None, limits=None, resolver=None, stream=None, tty=False):
    """Fetch the logos due for the published entries (or the sources of `entry_ids`) and
    give every entry its source's logo; returns a LogoReport. Safe to interrupt and run again: each source
    records its attempt, so the next run starts with those not tried."""
    from ..services.logos import logos_assign, logos_record
    from .runs import Progress, drive

    started = timezone.now()
    sources = plan()
    if entry_ids is not None:  # their sources only, given to every entry that shares them
        wanted = set(plan(entry_ids))
        sources = {key: value for key, value in sources.items() if key in wanted}
    items = due(sources, stale_days=stale_days, limit=limit, now=started)
    report = LogoReport(sources=len(sources), progress=Progress(len(items), stream, tty=tty))

    def store(batch):
        report.entries_changed += logos_record(outcomes=batch, sources=sources)
        report.fetched += len(batch)

    report.interrupted = drive(LogoFetcher(limits, resolver=resolver), items, store, report.progress)
    # Entries on sources not fetched this time (a new entry on a known host) get their logo too.
    report.entries_changed += logos_assign(sources=sources)
    report.left = len(due(sources, stale_days=stale_days, now=started))
    return report
