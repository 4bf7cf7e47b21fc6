"""What needs a curator's attention: the gaps of the catalog, listed once.

Each `Gap` is a filter of the entry list in SQL. Counting every filter in SQL
costs seconds on 200,000 entries (correlated subqueries, string functions over
every URL), so the dashboard's counts and the changelist's `?gap=<key>` come
from the facet index (`gap_masks()`): its arrays hold what the gaps read (year,
rating, labels, placements by edition, link state, and the dashboard's own
columns: no description, bare home page, URL key, computed by the same SQL as
the filters), and it follows every write through the change log, so the first
load after a write costs what the write changed, not a recount. The SQL
filters serve the gaps the index does not hold (GitHub's) and any page when
the index cannot be built. The two are independent implementations of the same
definitions; the tests check both against a plain-Python reading of random
catalogs, and each dashboard count against the list it links to.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .facet_index import LINK_STATES, IndexUnavailable, get_index
from .models import URL_KEY, Edition, Entry, GitHubRepo, Label, Placement, Section, Submission, TaggedEntry

MATURITY_GROUP = "maturity"
LEGACY_LABEL = "legacy"
STALE_YEARS = 4
# A gap of at most this many entries is listed from the index's ids whatever its SQL.
SMALL_GAP = 50_000


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
    return qs.with_url_shape().filter(url_home=True)


def duplicates(qs):
    shared = Entry.objects.values(key=URL_KEY).annotate(n=Count("pk")).filter(n__gt=1).values("key")
    return qs.alias(key=URL_KEY).filter(key__in=shared)


def stale(qs):
    return qs.filter(year__lte=date.today().year - STALE_YEARS).exclude(_has_label(tag__slug=LEGACY_LABEL))


def _repositories(qs, repositories):
    # The entries of these repositories are few: their ids first, then one parameter (a join from
    # the entries' side, in the list's order, may read every entry when most link no repository).
    ids = Entry.objects.filter(github_repo__in=repositories.values("pk")).order_by().values_list("pk", flat=True)
    return qs.filter(pk__in=id_set(list(ids)))


def github_inactive(qs):
    cutoff = timezone.now() - timedelta(days=settings.GITHUB_STALE_DAYS)
    return _repositories(qs, GitHubRepo.objects.filter(Q(archived=True) | Q(pushed_at__lt=cutoff)))


def github_same_repository(qs):
    shared = (
        Entry.objects.filter(github_repo__isnull=False).values("github_repo").annotate(n=Count("pk")).filter(n__gt=1)
    )
    return _repositories(qs, GitHubRepo.objects.filter(pk__in=shared.values("github_repo")))


@dataclass(frozen=True)
class Gap:
    key: str
    title: str
    filter: object  # queryset -> queryset
    # The list always reads the entries from the index: this SQL filter costs seconds at 200,000
    # entries (subqueries per entry, string functions over every URL).
    listed_from_index: bool = False


GAPS = [
    Gap(
        "uncurated",
        "approved from a submission, not yet curated (no year, rating or maturity tier)",
        approved_not_curated,
        listed_from_index=True,
    ),
    Gap("no_year", "no year", lambda qs: qs.filter(year__isnull=True)),
    Gap("no_description", "no description", lambda qs: qs.filter(description="")),
    Gap("no_rating", "no rating", lambda qs: qs.filter(rating__isnull=True)),
    Gap("no_labels", "no labels", lambda qs: qs.exclude(_has_label())),
    Gap("no_maturity", "no maturity tier, in the first edition (V2 Elite)", no_maturity_in_first_edition, True),
    Gap("not_placed", "not placed in any section", lambda qs: qs.exclude(_placed()), True),
    Gap("one_edition", "placed in one edition only", in_one_edition_only, True),
    Gap("bare_home", "the link is a bare site, blog or news home page", bare_home_pages, True),
    Gap("duplicates", "the same link as another entry (normalised URL)", duplicates, True),
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
        lambda qs: _repositories(qs, GitHubRepo.objects.exclude(moved_to="")),
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


def _approved_entry_ids():
    return Submission.objects.filter(status=Submission.Status.APPROVED, entry__isnull=False).values_list(
        "entry_id", flat=True
    )


def _label_ids(**lookups):
    return list(Label.objects.filter(**lookups).values_list("pk", flat=True))


def gap_masks(index):
    """{gap key: boolean mask over the facet index's entries} for the gaps the index can
    tell (all but the GitHub ones): the same definitions as the SQL filters above, read
    from the index's arrays (four small queries: the approvals and three label lists)."""
    size, alive = index.size, index.alive

    def flags(positions):
        mask = np.zeros(size, dtype=bool)
        mask[positions] = True
        return mask & alive

    labelled = flags(index.t_pos)
    maturity = flags(index.t_pos[np.isin(index.t_label, _label_ids(group__slug=MATURITY_GROUP))])
    legacy = flags(index.t_pos[np.isin(index.t_label, _label_ids(slug=LEGACY_LABEL))])
    # One (entry, edition) pair per entry and edition; the first edition has code 0.
    editions = index.edition
    placed = flags(editions.entry)
    in_first = flags(editions.entry[editions.code == 0])
    per_entry = np.bincount(editions.entry, minlength=size)
    approved = flags(index.positions(list(_approved_entry_ids())))
    keys = index.url_key
    sharing = np.bincount(keys[alive & (keys >= 0)], minlength=int(keys.max(initial=0)) + 1)
    undated, unrated = alive & (index.year == 0), alive & (index.rating == 0)
    link = {state: alive & (index.columns["link"].code == LINK_STATES.position[state]) for state in LINK_STATES.keys}
    return {
        "uncurated": approved & (undated | unrated | ~maturity),
        "no_year": undated,
        "no_description": alive & index.blank,
        "no_rating": unrated,
        "no_labels": alive & ~labelled,
        "no_maturity": in_first & ~maturity,
        "not_placed": alive & ~placed,
        "one_edition": alive & (per_entry == 1),
        "bare_home": alive & index.home,
        "duplicates": alive & (keys >= 0) & (sharing[keys] > 1),
        "stale": alive & (index.year > 0) & (index.year <= date.today().year - STALE_YEARS) & ~legacy,
        "link_dead": link["dead"],
        "link_broken": link["broken"],
        "link_redirected": link["redirected"],
        "link_suspect": link["suspect"],
    }


def gap_counts():
    """{gap key: number of entries}, for every gap at once: from the facet index (kept
    current by the change log, so a write costs only what it changed) where it can tell,
    else with the gap's SQL filter (the GitHub gaps; every gap when the index cannot be built)."""
    try:
        masks = gap_masks(get_index())
    except IndexUnavailable:
        masks = {}
    counts = {key: int(mask.sum()) for key, mask in masks.items()}
    for gap in GAPS:
        if gap.key not in counts:
            counts[gap.key] = gap.filter(Entry.objects.all()).count()
    return counts


def gap_entries(queryset, key):
    """`queryset` narrowed to the entries with the gap `key` (the changelist's filter): their
    ids from the index as one parameter when the gap's SQL is slow (`listed_from_index`) or
    the gap is small (a large set of ids costs more to pass than a plain column filter);
    else, and whenever the index is unavailable, with the gap's SQL filter."""
    gap = GAPS_BY_KEY[key]
    try:
        index = get_index()
        mask = gap_masks(index).get(key)
    except IndexUnavailable:
        mask = None
    if mask is None or (not gap.listed_from_index and mask.sum() > SMALL_GAP):
        return gap.filter(queryset)
    return queryset.filter(pk__in=id_set(index.ids[mask].tolist()))


def id_set(ids):
    """SQL: the set of `ids` as one parameter, for `pk__in` (SQLite limits a query's
    parameters; a JSON array or a PostgreSQL array has no such limit)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))  # noqa: S611 - a constant, the ids a parameter
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))  # noqa: S611 - likewise
