"""The curator dashboard: every count equals the filtered list it links to, and what the
gap means (checked against a plain-Python reading of random catalogs)."""

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.curation import GAPS, HOME_PATHS, STALE_YEARS
from catalog.models import Entry, LabelGroup, Placement, Submission

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
