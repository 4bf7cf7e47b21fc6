"""The curator dashboard: every count equals the filtered list it links to, and what the
gap means (checked against a plain-Python reading of random catalogs)."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import facet_index
from catalog.curation import GAPS, STALE_YEARS, gap_masks
from catalog.models import HOME_PATHS, Entry, GitHubRepo, LabelGroup, Placement, Submission

from .conftest import build_catalog
from .test_live_index import WRITES

URLS = [
    "https://istio.io",
    "http://www.istio.io/",
    "https://istio.io/blog",
    "https://istio.io/docs/ops/",
    "https://Kiali.io/docs/x",
    "https://kiali.io/docs/x/",
    "https://tetrate.io/blog/",
    "https://example.org/news",
    "https://example.org/a/b?c=1",
    "https://github.com/istio/istio",
]
OLD = date.today().year - STALE_YEARS

entry_strategy = st.fixed_dictionaries(
    {
        "year": st.sampled_from([None, 2012, OLD, OLD + 1, 2026]),
        "description": st.sampled_from(["", "A description."]),
        "rating": st.sampled_from([None, 3]),
        "labels": st.sets(st.sampled_from(["STANDARD", "LEGACY", "GUIDE"]), max_size=2),
        "placements": st.sets(st.integers(0, 3), max_size=3),
        "approved": st.booleans(),
    }
)


@pytest.fixture
def world(make):
    maturity = LabelGroup.objects.create(name="Maturity tier", slug="maturity", single_choice=True)
    kind = LabelGroup.objects.create(name="Content kind", slug="kind")
    labels = {
        "STANDARD": make.label(name="STANDARD", slug="standard", group=maturity),
        "LEGACY": make.label(name="LEGACY", slug="legacy", group=maturity),
        "GUIDE": make.label(name="GUIDE", slug="guide", group=kind),
    }
    first = make.edition(name="V2 Elite", slug="v2", position=0)
    second = make.edition(name="V1", slug="v1", position=1)
    sections = []
    for edition in (first, second):
        topic = make.topic(edition=edition, slug="istio")
        sections += [make.section(topic=topic), make.section(topic=topic)]
    empty = make.section(topic=sections[0].topic, title="Nothing here")
    return labels, sections, empty


def key(url):
    rest = url.split("://", 1)[1].replace("www.", "").rstrip("/").lower()
    return rest


def expected(rows, sections):
    """{gap key: the set of urls}, computed in Python from what was written."""
    keys = [key(r["url"]) for r in rows]
    editions = [{0 if i < 2 else 1 for i in r["placements"]} for r in rows]
    out = {}
    for gap in GAPS:
        out[gap.key] = set()
    for r, k, eds in zip(rows, keys, editions, strict=True):
        maturity = r["labels"] & {"STANDARD", "LEGACY"}
        path = "/" + r["url"].split("://", 1)[1].partition("/")[2] if "/" in r["url"].split("://", 1)[1] else ""
        checks = {
            "uncurated": r["approved"] and (r["year"] is None or r["rating"] is None or not maturity),
            "no_year": r["year"] is None,
            "no_description": not r["description"],
            "no_rating": r["rating"] is None,
            "no_labels": not r["labels"],
            "no_maturity": 0 in eds and not maturity,
            "not_placed": not eds,
            "one_edition": len(eds) == 1,
            "bare_home": path == "" or path in HOME_PATHS,
            "duplicates": keys.count(k) > 1,
            "stale": r["year"] is not None and r["year"] <= OLD and "LEGACY" not in r["labels"],
        }
        for name, hit in checks.items():
            if hit:
                out[name].add(r["url"])
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(entry_strategy, max_size=len(URLS)), st.randoms(use_true_random=False))
def test_dashboard_counts_equal_the_lists_they_link_to(admin_client, world, make, rows, rnd):
    labels, sections, empty = world
    urls = rnd.sample(URLS, len(rows))
    with transaction.atomic():
        for url, row in zip(urls, rows, strict=True):
            row["url"] = url
            entry = Entry.objects.create(
                title=url,
                url=url,
                year=row["year"],
                description=row["description"],
                rating=row["rating"],
            )
            entry.labels.set([labels[name] for name in row["labels"]])
            for i in row["placements"]:
                Placement.objects.create(entry=entry, section=sections[i])
            if row["approved"]:
                make.submission(url=url, status=Submission.Status.APPROVED, entry=entry)
        want = expected(rows, sections)
        page = admin_client.get("/admin/dashboard/")
        assert page.status_code == 200
        shown = {title: (count, url) for title, count, url in page.context["rows"]}
        for gap in GAPS:
            count, link = shown[gap.title]
            listed = admin_client.get(link).context["cl"]
            assert {e.url for e in listed.queryset} == want[gap.key], gap.key
            assert count == listed.result_count == len(want[gap.key]), gap.key
            # The SQL filter (for the GitHub gaps, and when the index cannot be built) means the same.
            assert set(gap.filter(Entry.objects.all()).values_list("url", flat=True)) == want[gap.key], gap.key
        count, link = shown["sections with no entry and no subsection"]
        listed = admin_client.get(link).context["cl"]
        assert count == listed.result_count and empty in listed.queryset
        transaction.set_rollback(True)


def test_the_admin_index_shows_what_waits(client, make, little_catalog):
    make.submission()
    make.submission()
    client.force_login(make.staff("moderator"))
    page = client.get("/admin/").content.decode()
    assert "<strong>2</strong> submissions waiting" in page
    assert "Curator dashboard" not in page  # moderators do not curate
    assert client.get("/admin/dashboard/").status_code == 403
    client.force_login(make.staff("curator"))
    page = client.get("/admin/").content.decode()
    assert "Curator dashboard" in page
    dashboard = client.get("/admin/dashboard/").content.decode()
    assert "submissions waiting for a decision" in dashboard


def test_dashboard_queries_are_bounded(admin_client, little_catalog, make, django_assert_max_num_queries):
    for _ in range(30):
        make.entry(section=little_catalog.mtls)
    with django_assert_max_num_queries(len(GAPS) + 12):
        assert admin_client.get("/admin/dashboard/").status_code == 200


def gaps_of(index):
    """{gap key: the ids of its entries}, as the index tells them."""
    return {key: set(index.ids[mask].tolist()) for key, mask in gap_masks(index).items()}


def blank_and_home(make):
    entry = Entry.objects.order_by("id").first()
    entry.description, entry.url = "", "https://kiali.io/blog/"
    entry.save()


def duplicate_then_unlabel(make):
    first, second = Entry.objects.order_by("id")[:2]
    second.url = first.url.replace("https://", "http://www.") + "/"
    second.save()
    first.labels.clear()


def unplace_and_delete(make):
    first, second = Entry.objects.order_by("-id")[:2]
    Placement.objects.filter(entry=first).delete()
    second.delete()


@pytest.mark.parametrize("write", [blank_and_home, duplicate_then_unlabel, unplace_and_delete, *WRITES])
def test_the_gaps_follow_a_write_as_a_full_build_tells_them(make, write):
    """The dashboard reads the index that follows the change log: after each kind of
    write, its gaps are those a fresh build of the whole catalog finds."""
    build_catalog(make)
    before = facet_index.FacetIndex.load()
    write(make)
    followed = before.caught_up()
    assert followed is not None
    after = gaps_of(followed)
    assert after == gaps_of(facet_index.FacetIndex.load())
    if write in (blank_and_home, duplicate_then_unlabel, unplace_and_delete):
        assert after != gaps_of(before)


def test_the_github_gaps_count_and_list_the_entries_of_their_repositories(admin_client, make, settings):
    settings.GITHUB_STALE_DAYS = 540
    now = timezone.now()
    repos = {
        "archived": GitHubRepo.objects.create(key="a/archived", owner="a", name="archived", archived=True),
        "old": GitHubRepo.objects.create(key="a/old", owner="a", name="old", pushed_at=now - timedelta(days=600)),
        "fresh": GitHubRepo.objects.create(key="a/fresh", owner="a", name="fresh", pushed_at=now),
        "moved": GitHubRepo.objects.create(key="a/moved", owner="a", name="moved", pushed_at=now, moved_to="b/m"),
    }
    entries = {}
    for name, repo in [("archived", "archived"), ("old", "old"), ("fresh", "fresh"), ("fresh too", "fresh")]:
        entries[name] = make.entry(title=name, github_repo=repos[repo])
    entries["moved"] = make.entry(title="moved", github_repo=repos["moved"])
    entries["none"] = make.entry(title="none")
    want = {
        "github_inactive": {"archived", "old"},
        "github_renamed": {"moved"},
        "github_same_repo": {"fresh", "fresh too"},
    }
    page = admin_client.get("/admin/dashboard/")
    shown = {title: (count, url) for title, count, url in page.context["rows"]}
    for gap in GAPS:
        if gap.key in want:
            count, link = shown[gap.title]
            listed = admin_client.get(link).context["cl"]
            assert {e.title for e in listed.queryset} == want[gap.key], gap.key
            assert count == listed.result_count == len(want[gap.key]), gap.key
