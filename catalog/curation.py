"""What needs a curator's attention: the gaps of the catalog, listed once.

Each `Gap` is a filter of the entry list; the dashboard counts `gap.filter()`
and links to the changelist with `?gap=<key>`, whose filter applies the very
same function, so a count always equals the list it links to. The gaps are
plain SQL (no per-row Python), and the duplicate check uses an index on the
URL key expression, so the dashboard stays fast on a large catalog.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone

from .models import URL_KEY, Edition, Entry, Placement, Section, Submission, TaggedEntry, url_rest

MATURITY_GROUP = "maturity"
LEGACY_LABEL = "legacy"
STALE_YEARS = 4
# A site's home page or its blog or news index, not a page about the subject.
HOME_PATHS = ("/", "/blog", "/blog/", "/news", "/news/", "/posts", "/posts/", "/articles", "/articles/", "/en", "/en/")


def _has_label(**lookups):
    return Exists(TaggedEntry.objects.filter(content_object=OuterRef("pk"), **lookups))


def _placed(**lookups):
    return Exists(Placement.objects.filter(entry=OuterRef("pk"), **lookups))


def no_maturity_in_first_edition(qs):
    first = Edition.objects.order_by("position", "id").values("pk")[:1]
    return qs.filter(_placed(section__topic__edition=Subquery(first))).exclude(
        _has_label(tag__group__slug=MATURITY_GROUP)
    )


def in_one_edition_only(qs):
    one = Placement.objects.filter(entry=OuterRef("pk")).values("section__topic__edition")[:1]
    other = Placement.objects.filter(entry=OuterRef("pk")).exclude(section__topic__edition=OuterRef("first_edition"))
    return qs.alias(first_edition=Subquery(one)).filter(first_edition__isnull=False).exclude(Exists(other))


def approved_not_curated(qs):
    approved = Exists(Submission.objects.filter(entry=OuterRef("pk"), status=Submission.Status.APPROVED))
    return qs.filter(approved).filter(
        Q(year__isnull=True) | Q(rating__isnull=True) | ~_has_label(tag__group__slug=MATURITY_GROUP)
    )


def bare_home_pages(qs):
    rest = url_rest("url")  # host and path
    path = Substr("rest", F("slash"))
    return qs.alias(rest=rest, slash=StrIndex("rest", Value("/")), path=path).filter(
        Q(slash=0) | Q(path__in=HOME_PATHS)
    )


def duplicates(qs):
    shared = Entry.objects.values(key=URL_KEY).annotate(n=Count("pk")).filter(n__gt=1).values("key")
    return qs.alias(key=URL_KEY).filter(key__in=shared)


def stale(qs):
    return qs.filter(year__lte=date.today().year - STALE_YEARS).exclude(_has_label(tag__slug=LEGACY_LABEL))


def github_inactive(qs):
    cutoff = timezone.now() - timedelta(days=settings.GITHUB_STALE_DAYS)
    return qs.filter(Q(github_repo__archived=True) | Q(github_repo__pushed_at__lt=cutoff))


def github_same_repository(qs):
    shared = (
        Entry.objects.filter(github_repo__isnull=False).values("github_repo").annotate(n=Count("pk")).filter(n__gt=1)
    )
    return qs.filter(github_repo__in=shared.values("github_repo"))


@dataclass(frozen=True)
class Gap:
    key: str
    title: str
    filter: object  # queryset -> queryset


GAPS = [
    Gap(
        "uncurated",
        "approved from a submission, not yet curated (no year, rating or maturity tier)",
        approved_not_curated,
    ),
    Gap("no_year", "no year", lambda qs: qs.filter(year__isnull=True)),
    Gap("no_description", "no description", lambda qs: qs.filter(description="")),
    Gap("no_rating", "no rating", lambda qs: qs.filter(rating__isnull=True)),
    Gap("no_labels", "no labels", lambda qs: qs.exclude(_has_label())),
    Gap("no_maturity", "no maturity tier, in the first edition (V2 Elite)", no_maturity_in_first_edition),
    Gap("not_placed", "not placed in any section", lambda qs: qs.exclude(_placed())),
    Gap("one_edition", "placed in one edition only", in_one_edition_only),
    Gap("bare_home", "the link is a bare site, blog or news home page", bare_home_pages),
    Gap("duplicates", "the same link as another entry (normalised URL)", duplicates),
    Gap("stale", f"stale: {STALE_YEARS}+ years old and not LEGACY", stale),
    # Link health (docs/link-health.md): each fixed in one click by a bulk action of the list.
    Gap(
        "link_dead",
        "link dead (failed several checks over days): use the archived copy",
        lambda qs: qs.filter(link_state="dead"),
    ),
    Gap("link_broken", "link failed its last check", lambda qs: qs.filter(link_state="broken")),
    Gap(
        "link_redirected",
        "link moved (permanent redirect): apply the target",
        lambda qs: qs.filter(link_state="redirected"),
    ),
    Gap(
        "link_suspect",
        "link may be gone (soft 404, parked domain, sent to the home page)",
        lambda qs: qs.filter(link_state="suspect"),
    ),
    Gap("github_inactive", "GitHub repository archived or not pushed to for 18 months", github_inactive),
    Gap(
        "github_renamed",
        "GitHub repository renamed: use its new name",
        lambda qs: qs.exclude(github_repo__moved_to="").filter(github_repo__isnull=False),
    ),
    Gap("github_same_repo", "the same GitHub repository as another entry", github_same_repository),
]
GAPS_BY_KEY = {gap.key: gap for gap in GAPS}


def empty_sections():
    """Sections with no entry and no subsection."""
    return Section.objects.exclude(Exists(Placement.objects.filter(section=OuterRef("pk")))).exclude(
        Exists(Section.objects.filter(parent=OuterRef("pk")))
    )


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest: object  # datetime or None

    @property
    def oldest_days(self):
        return (timezone.now() - self.oldest).days if self.oldest else None


def submissions_waiting():
    pending = Submission.objects.pending()
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return Waiting(pending.count() if oldest else 0, oldest)
