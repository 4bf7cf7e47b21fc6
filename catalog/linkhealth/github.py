"""GitHub enrichment: each repository's stars, forks, last push, archived
state, license, language and topics, kept fresh through GitHub's REST API.

One GitHubRepo per owner/name however many URLs reach it. Conditional
requests (ETag) make an unchanged repository cost no rate; when the rate
limit runs out the refresh waits for the reset if that is soon enough, or
stops cleanly: the repositories it did not reach keep their older
`fetched_at`, so the next run starts with them (`fetched_at` is the cursor).
Nothing here changes an entry's curated values: see `suggestions()`.
"""

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

# github.com/<owner>/<repo> and its sub-pages; owners that are GitHub's own pages are not repositories.
REPO_URL = re.compile(
    r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})(?:[/?#]|$)", re.I
)
NOT_OWNERS = {
    "about", "apps", "blog", "collections", "customer-stories", "enterprise", "events", "explore", "features",
    "login", "marketplace", "new", "notifications", "orgs", "pricing", "pulls", "issues", "search", "security",
    "settings", "site", "sponsors", "team", "topics", "trending", "users", "codespaces", "readme", "resources",
}  # fmt: skip


def repo_key(url):
    """ "owner/name" in lower case when `url` names a GitHub repository (or a page inside one), else None."""
    match = REPO_URL.match(url or "")
    if not match:
        return None
    owner, name = match.group(1), match.group(2)
    if name.endswith(".git"):
        name = name[:-4]
    if owner.lower() in NOT_OWNERS or not name or name in {".", ".."}:
        return None
    return f"{owner}/{name}".lower()


def repo_parts(url):
    """(owner, name) as spelled in `url`, or None."""
    match = REPO_URL.match(url or "")
    if not match or repo_key(url) is None:
        return None
    name = match.group(2)
    return match.group(1), name[:-4] if name.endswith(".git") else name


class RateLimited(Exception):
    """The rate limit is spent until `reset` (a datetime)."""

    def __init__(self, reset):
        super().__init__(f"rate limit reached until {reset:%H:%M:%S} UTC")
        self.reset = reset


@dataclass
class Answer:
    status: int
    data: dict | None
    etag: str
    remaining: int | None
    reset: datetime | None
    location: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a renamed repository's 301 is read, not followed blindly


class GitHubClient:
    """A small client for GET /repos/{owner}/{name}: conditional, rate-limit aware, no proxies."""

    def __init__(self, base_url=None, token=None, timeout=20):
        self.base_url = (base_url or settings.GITHUB_API_URL).rstrip("/")
        self.token = settings.GITHUB_TOKEN if token is None else token
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self.requests = 0

    def get(self, path_or_url, etag=""):
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else f"{self.base_url}{path_or_url}"
        if not url.startswith(self.base_url + "/"):
            raise ValueError(f"refusing to follow {url} outside {self.base_url}")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"meshportal-enrichment (+{settings.SITE_URL})",
        }
        if etag:
            headers["If-None-Match"] = etag
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) base URL from settings
        self.requests += 1
        try:
            response = self.opener.open(request, timeout=self.timeout)
            status, body, head = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, head = exc.code, exc.read(), exc.headers
        remaining = head.get("X-RateLimit-Remaining")
        reset = head.get("X-RateLimit-Reset")
        answer = Answer(
            status=status,
            data=json.loads(body) if body and status in (200, 404) else None,
            etag=head.get("ETag", ""),
            remaining=int(remaining) if remaining and remaining.isdigit() else None,
            reset=datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None,
            location=head.get("Location", ""),
        )
        if status in (403, 429) and answer.remaining == 0:
            raise RateLimited(answer.reset or datetime.now(UTC) + timedelta(hours=1))
        return answer

    def repository(self, owner, name, etag=""):
        """The repository's answer; a 301 (renamed or moved) is followed once, within the API."""
        answer = self.get(f"/repos/{owner}/{name}", etag)
        if answer.status in (301, 302, 307, 308) and answer.location:
            moved = self.get(answer.location, etag)
            moved.status = 301 if moved.status == 200 else moved.status
            return moved
        return answer


def parse_time(value):
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def store_answer(repo, answer, now):
    """Copy an API answer onto `repo` (not saved). 304 keeps every value."""
    repo.fetched_at = now
    if answer.status == 304:
        return "not_modified"
    if answer.status == 404:
        repo.missing = True
        return "missing"
    if answer.status not in (200, 301) or not answer.data:
        return "error"
    data = answer.data
    repo.missing = False
    repo.stars = data.get("stargazers_count")
    repo.forks = data.get("forks_count")
    repo.pushed_at = parse_time(data.get("pushed_at"))
    repo.created_on_github = parse_time(data.get("created_at"))
    repo.archived = bool(data.get("archived"))
    repo.license = ((data.get("license") or {}).get("spdx_id") or "")[:100]
    repo.language = (data.get("language") or "")[:50]
    repo.topics = list(data.get("topics") or [])[:50]
    repo.etag = answer.etag[:200]
    full_name = data.get("full_name") or ""
    repo.moved_to = full_name if full_name and full_name.lower() != repo.key else ""
    return "renamed" if repo.moved_to else "fetched"


def is_inactive(repo, now=None):
    """Archived, or no push for `GITHUB_STALE_DAYS` (18 months by default)."""
    if repo.archived:
        return True
    now = now or datetime.now(UTC)
    return bool(repo.pushed_at and now - repo.pushed_at > timedelta(days=settings.GITHUB_STALE_DAYS))


@dataclass(frozen=True)
class Suggestion:
    field: str  # "maturity", "github_stars" or "language"
    value: object  # a label slug for maturity
    current: object
    reason: str


def suggested_maturity(repo, now=None):
    """(label slug, reason) from archived state, last push, stars and age; or None."""
    now = now or datetime.now(UTC)
    if repo.archived:
        return "legacy", "archived on GitHub"
    if repo.pushed_at and now - repo.pushed_at > timedelta(days=settings.GITHUB_STALE_DAYS):
        return "legacy", f"no push since {repo.pushed_at:%B %Y}"
    age_years = (now - repo.created_on_github).days / 365.25 if repo.created_on_github else 0
    stars = repo.stars or 0
    if stars >= 20000 and age_years >= 4:
        return "de-facto-standard", f"{stars:,} stars over {age_years:.0f} years"
    if stars >= 2000 and age_years >= 2:
        return "enterprise-stable", f"{stars:,} stars over {age_years:.0f} years"
    if stars >= 200 and age_years < 2:
        return "emerging", f"{stars:,} stars in {max(age_years, 0.1):.1f} years"
    return None


def suggestions(entry, repo, maturity_slugs, now=None):
    """What the repository's figures suggest for `entry`, where that differs from the curator's value."""
    if repo is None or repo.fetched_at is None or repo.missing:
        return []
    found = []
    maturity = suggested_maturity(repo, now)
    if maturity and maturity[0] not in maturity_slugs:
        found.append(Suggestion("maturity", maturity[0], ", ".join(sorted(maturity_slugs)) or None, maturity[1]))
    if repo.stars is not None and stars_differ(entry.github_stars, repo.stars):
        found.append(Suggestion("github_stars", repo.stars, entry.github_stars, "GitHub's count"))
    if repo.language and not entry.language:
        found.append(Suggestion("language", repo.language, entry.language, "GitHub's primary language"))
    return found


def stars_differ(curated, fetched):
    """A star count worth suggesting: none yet, or more than 5% (and 10 stars) away from GitHub's."""
    if curated is None:
        return True
    return abs(curated - fetched) > max(10, fetched * 0.05)


def wait_or_stop(reset, max_wait):
    """Sleep until `reset` when that is at most `max_wait` seconds away; False when it is not."""
    seconds = (reset - datetime.now(UTC)).total_seconds() + 1
    if seconds > max_wait:
        return False
    time.sleep(max(seconds, 0))
    return True
