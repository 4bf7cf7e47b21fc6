"""Link-health and GitHub tables. Imported by `catalog.models`, so they belong
to the catalog app; none of them has a version trigger: only an entry's
`link_state`, `published` and `github_repo` (on Entry) change what readers see."""

from django.conf import settings
from django.db import models
from django.urls import get_script_prefix


class LinkState(models.TextChoices):
    """An entry's link state, as readers and curators see it."""

    UNCHECKED = "unchecked", "Not checked yet"
    OK = "ok", "Working"
    REDIRECTED = "redirected", "Moved (permanent redirect)"
    BROKEN = "broken", "Failed the last check"
    DEAD = "dead", "Dead"
    SUSPECT = "suspect", "May be gone (soft 404, parked, sent home)"


class LinkCheckRun(models.Model):
    """One `check_links` run: what it covers, so an interrupted run resumes.

    Entries already checked in the run (a LinkCheck with this run) are not
    checked again when the same command is run again.
    """

    criteria = models.JSONField(default=dict)
    key = models.CharField(max_length=500, db_index=True, help_text="The criteria as one string.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"run {self.pk} ({self.key or 'all'})"


class LinkCheck(models.Model):
    """One check of one entry's URL: the entry's health history."""

    class Result(models.TextChoices):
        OK = "ok", "answered"
        REDIRECTED = "redirected", "permanently redirected"
        SUSPECT = "suspect", "suspect"
        FAILED = "failed", "failed"
        INCONCLUSIVE = "inconclusive", "inconclusive (rate limited)"

    entry = models.ForeignKey("catalog.Entry", on_delete=models.CASCADE, related_name="link_checks")
    run = models.ForeignKey(LinkCheckRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="checks")
    url = models.URLField(max_length=2000)
    checked_at = models.DateTimeField()
    result = models.CharField(max_length=12, choices=Result.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    final_url = models.URLField(max_length=2000, blank=True)
    redirects = models.PositiveSmallIntegerField(default=0)
    elapsed_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=40, blank=True, help_text="Error class: timeout, dns, tls, ...")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["entry", "-checked_at"], name="linkcheck_entry_idx"),
            models.Index(fields=["run", "entry"], name="linkcheck_run_idx"),
        ]

    def __str__(self):
        return f"{self.url} {self.result} {self.checked_at:%Y-%m-%d}"


class LinkHealth(models.Model):
    """Where an entry's link stands: the failure streak, the redirect target,
    and a curator's "checked by hand, fine" for one URL."""

    entry = models.OneToOneField(
        "catalog.Entry", on_delete=models.CASCADE, primary_key=True, related_name="link_health"
    )
    url = models.URLField(max_length=2000, blank=True, help_text="The URL these figures are about.")
    last_checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_result = models.CharField(max_length=12, choices=LinkCheck.Result.choices, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    failures_in_row = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    redirect_target = models.URLField(max_length=2000, blank=True)
    state_since = models.DateTimeField(null=True, blank=True)
    hand_checked_url = models.URLField(
        max_length=2000, blank=True, help_text="A curator checked this URL by hand and found it fine."
    )
    hand_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hand_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "link health"

    def __str__(self):
        return f"{self.entry_id}: {self.last_result or 'unchecked'}"


class GitHubRepo(models.Model):
    """One GitHub repository, however many entries link to it (`key` is "owner/name" in lower case)."""

    key = models.CharField(max_length=200, unique=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    stars = models.PositiveIntegerField(null=True, blank=True)
    forks = models.PositiveIntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    created_on_github = models.DateTimeField(null=True, blank=True)
    archived = models.BooleanField(default=False)
    license = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=50, blank=True)
    topics = models.JSONField(default=list, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    missing = models.BooleanField(default=False, help_text="GitHub answered 404 at the last refresh.")
    moved_to = models.CharField(
        max_length=200, blank=True, help_text="The repository's new owner/name when GitHub says it was renamed."
    )

    class Meta:
        ordering = ["key"]
        verbose_name = "GitHub repository"
        verbose_name_plural = "GitHub repositories"

    def __str__(self):
        return f"{self.owner}/{self.name}"

    @property
    def html_url(self):
        return f"https://github.com/{self.owner}/{self.name}"


class Logo(models.Model):
    """A small image (a site's icon, a GitHub owner's avatar, or a curator's upload), stored here
    and served from our own URL. One row per content (`digest`): a row's bytes never change, so
    its URL can be cached for a year; a new image is a new row."""

    digest = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the bytes.")
    content_type = models.CharField(max_length=40, editable=False)
    data = models.BinaryField(editable=False)
    size = models.PositiveIntegerField(editable=False)
    origin = models.CharField(
        max_length=2000, blank=True, help_text="Where it came from: the URL fetched, or who uploaded it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"logo {self.pk}: {self.origin or self.digest[:12]}"

    def get_absolute_url(self):
        return logo_path(self.pk)


def logo_path(pk):
    """Our URL of logo `pk`, the route `logo` of meshportal/urls.py (built by hand: it is
    called for every row of a list, and `reverse()` costs more than the row)."""
    return f"{get_script_prefix()}logos/{pk}/"


class LogoSource(models.Model):
    """Where the logo job looks for the image of a group of entries: a host's favicon
    (`host:istio.io`) or a GitHub owner's avatar (`github:istio`), with the last attempt."""

    key = models.CharField(max_length=300, unique=True)
    url = models.URLField(max_length=2000, help_text="The image fetched.")
    logo = models.ForeignKey(Logo, on_delete=models.SET_NULL, null=True, blank=True, related_name="sources")
    fetched_at = models.DateTimeField(null=True, blank=True, db_index=True, help_text="The last attempt.")
    error = models.CharField(max_length=40, blank=True, help_text="Why the last attempt stored nothing.")

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key
