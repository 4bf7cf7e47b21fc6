"""What needs a curator's attention: the gaps of the catalog, listed once.

Each `Gap` is a filter of the entry list (SQL), which the changelist applies
for `?gap=<key>`. The dashboard shows every gap's count at once: counting each
filter in SQL costs seconds on 200,000 entries (correlated subqueries), so
`gap_counts()` reads four compact tables once and counts in numpy, and keeps
the result for the catalog's data version (plus the approvals). The two are
independent implementations of the same definitions; the tests check that each
count equals the length of the list it links to on random catalogs.
"""

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import StrIndex, Substr
from django.utils import timezone

from .facet_index import current_version, snapshot
from .models import URL_KEY, Edition, Entry, Label, Placement, Section, Submission, TaggedEntry, url_rest

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


def _home_flag(qs):
    """The entry list with `home`: true when the link is a bare home page (as bare_home_pages)."""
    rest = url_rest("url")
    return qs.alias(rest=rest, slash=StrIndex("rest", Value("/")), path=Substr("rest", F("slash"))).annotate(
        home=Q(slash=0) | Q(path__in=HOME_PATHS)
    )


def _fetch(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _compute_counts():
    entries = _fetch(
        _home_flag(Entry.objects.order_by("pk"))
        .annotate(key=URL_KEY, blank=Q(description=""))
        .values_list("pk", "year", "rating", "blank", "home", "key")
    )
    size = len(entries)
    columns = list(zip(*entries, strict=True)) if entries else [()] * 6
    ids = np.array(columns[0], dtype=np.int64)
    year = np.array([y or 0 for y in columns[1]], dtype=np.int32)
    rating = np.array([r is None for r in columns[2]], dtype=bool)  # True: no rating
    blank = np.array(columns[3], dtype=bool)
    home = np.array(columns[4], dtype=bool)
    keys = Counter(columns[5])
    duplicate = np.array([keys[k] > 1 for k in columns[5]], dtype=bool)

    def positions(entry_ids):
        found = np.searchsorted(ids, entry_ids)
        return found[(found < size) & (ids[np.minimum(found, size - 1)] == entry_ids)] if size else found

    def flags(entry_ids):
        mask = np.zeros(size, dtype=bool)
        mask[positions(np.asarray(entry_ids, dtype=np.int64))] = True
        return mask

    tagged = np.array(_fetch(TaggedEntry.objects.values_list("content_object_id", "tag_id")), dtype=np.int64).reshape(
        -1, 2
    )
    maturity_ids = list(Label.objects.filter(group__slug=MATURITY_GROUP).values_list("pk", flat=True))
    legacy_ids = list(Label.objects.filter(slug=LEGACY_LABEL).values_list("pk", flat=True))
    labelled = flags(tagged[:, 0])
    maturity = flags(tagged[np.isin(tagged[:, 1], maturity_ids), 0])
    legacy = flags(tagged[np.isin(tagged[:, 1], legacy_ids), 0])

    # One (entry, edition) row per entry and edition, joined and made distinct in SQL.
    pairs = np.array(
        _fetch(Placement.objects.values_list("entry_id", "section__topic__edition_id").distinct().order_by()),
        dtype=np.int64,
    ).reshape(-1, 2)
    placed = flags(pairs[:, 0])
    first = Edition.objects.order_by("position", "id").values_list("pk", flat=True).first()
    in_first = flags(pairs[pairs[:, 1] == first, 0]) if first is not None else np.zeros(size, dtype=bool)
    per_entry = np.bincount(positions(pairs[:, 0]), minlength=size) if size else np.zeros(0, dtype=np.int64)

    approved = flags(
        list(
            Submission.objects.filter(status=Submission.Status.APPROVED, entry__isnull=False).values_list(
                "entry_id", flat=True
            )
        )
    )
    undated = year == 0
    masks = {
        "uncurated": approved & (undated | rating | ~maturity),
        "no_year": undated,
        "no_description": blank,
        "no_rating": rating,
        "no_labels": ~labelled,
        "no_maturity": in_first & ~maturity,
        "not_placed": ~placed,
        "one_edition": per_entry == 1,
        "bare_home": home,
        "duplicates": duplicate,
        "stale": ~undated & (year <= date.today().year - STALE_YEARS) & ~legacy,
    }
    return {key: int(mask.sum()) for key, mask in masks.items()}


_cache = {"key": None, "counts": None}
_cache_lock = threading.Lock()


def gap_counts():
    """{gap key: number of entries}, for every gap at once. The gaps `_compute_counts()`
    knows are recomputed only when the catalog's data version or the approvals changed
    since the last call; any other gap (link health's) is counted with its SQL filter."""
    with snapshot():
        approvals = Submission.objects.filter(status=Submission.Status.APPROVED).values_list("pk", flat=True)
        key = (connection.alias, current_version(), approvals.count(), approvals.order_by("-pk").first())
        with _cache_lock:
            if _cache["key"] != key:
                _cache["counts"], _cache["key"] = _compute_counts(), key
            counts = dict(_cache["counts"])
        for gap in GAPS:
            if gap.key not in counts:
                counts[gap.key] = gap.filter(Entry.objects.all()).count()
    return counts
