"""/new/: entries by when they were added, with where they are listed, in every format,
per topic; the home page's "Newest" uses added time and never puts undated entries first."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Entry


@pytest.fixture
def added(little_catalog, make):
    """Three entries added a day apart, the newest undated, one placed on another topic."""
    now = timezone.now()
    rows = [
        make.entry(title="Oldest added", year=2026, section=little_catalog.mtls),
        make.entry(title="Middle", year=2015, section=little_catalog.other_section),
        make.entry(title="Newest added", year=None, section=little_catalog.mtls),
    ]
    for days, entry in zip((3, 2, 1), rows, strict=True):
        Entry.objects.filter(pk=entry.pk).update(created_at=now - timedelta(days=days))
    Entry.objects.filter(pk=little_catalog.entry.pk).update(created_at=now - timedelta(days=10))
    return rows


def titles(html):
    return [t for t in ("Newest added", "Middle", "Oldest added", "Envoy Gateway") if t in html]


def test_new_lists_by_added_time_with_where_listed(client, added, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        html = client.get("/new/").content.decode()
    order = sorted(titles(html), key=html.index)
    assert order == ["Newest added", "Middle", "Oldest added", "Envoy Gateway"]
    assert "Istio - Service Mesh (V2 Elite) › Security › mTLS" in html


def test_new_in_every_format(client, added):
    data = client.get("/new/", {"format": "json"}).json()
    assert [r["title"] for r in data["results"]] == ["Newest added", "Middle", "Oldest added", "Envoy Gateway"]
    assert data["count"] == 4
    rows = list(csv.reader(io.StringIO(client.get("/new/", {"format": "csv"}).content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["Newest added", "Middle", "Oldest added", "Envoy Gateway"]
    atom = client.get("/new/", {"format": "atom"})
    assert atom["Content-Type"].startswith("application/atom+xml") and b"Newest added" in atom.content


def test_new_per_topic(client, added, little_catalog):
    data = client.get("/topics/istio/new/", {"format": "json"}).json()
    assert [r["title"] for r in data["results"]] == ["Newest added", "Oldest added", "Envoy Gateway"]
    assert client.get("/topics/nope/new/").status_code == 404


def test_home_newest_never_puts_undated_entries_first_among_equals(client, little_catalog, make):
    stamp = timezone.now()
    for title, year in (("Undated", None), ("Dated 2024", 2024), ("Dated 2019", 2019)):
        entry = make.entry(title=title, year=year, section=little_catalog.mtls)
        Entry.objects.filter(pk=entry.pk).update(created_at=stamp)  # as fixtures: one time for all
    html = client.get("/").content.decode()
    assert sorted(["Undated", "Dated 2024", "Dated 2019"], key=html.index) == ["Dated 2024", "Dated 2019", "Undated"]
