"""The facet index under writes: one snapshot per build, a SQL page when a
build fails, and (in child processes on a database of their own, so that
their connections really run side by side) a write landing between two of
the index's queries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog import facet_index
from catalog.browse import Browser, SqlBrowser
from catalog.models import Entry

from .conftest import build_catalog
from .test_browse_facets import database_ids, query

ROOT = Path(__file__).resolve().parent.parent


# --- a database of its own, for child processes ---------------------------------------------


def _child_env(url):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "REDIS_URL", "CACHE_URL")}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="meshportal.settings", DJANGO_DEBUG="1", PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def live_db(tmp_path):
    """The URL of a freshly migrated database that child processes share."""
    database = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        import psycopg

        name = f"{database['NAME']}_live"
        server = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=_child_env(url), check=True
    )
    yield url
    if connection.vendor == "postgresql":
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_child(url, code):
    """Run `code` in a child process set up on `url`; its last line of output, as JSON."""
    setup = "import django, json, threading\ndjango.setup()\nfrom tests.conftest import Factory, build_catalog\n"
    out = subprocess.run(
        [sys.executable, "-c", setup + code], cwd=ROOT, env=_child_env(url), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


WRITE_BETWEEN_QUERIES = """
from django.db import connection
from catalog import facet_index
from catalog.models import Entry, Placement

make = Factory()
build_catalog(make, entries=30)
section = Placement.objects.first().section
gone = Entry.objects.order_by("id").first()
before = sorted(Entry.objects.values_list("id", flat=True))
placed_before = sorted(set(Placement.objects.values_list("entry_id", flat=True)))

def write():
    # A curator, on another connection: a new entry placed in a section, and a deletion.
    make.entry(section=section, title="Written during the build", year=2026)
    Entry.objects.filter(pk=gone.pk).delete()
    connection.close()

fetch, injected = facet_index._fetch, []

def fetch_then_write(sql, params=()):
    rows = fetch(sql, params)
    if "FROM catalog_entry " in sql and not injected:  # the entries are read, the placements not yet
        injected.append(True)
        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
    return rows

facet_index._fetch = fetch_then_write
index = facet_index.get_index()
after = sorted(Entry.objects.values_list("id", flat=True))
fresh = facet_index.get_index()
print(json.dumps({
    "injected": bool(injected),
    "before": before, "after": after,
    "index_ids": index.ids.tolist(),
    "placed": sorted(set(index.ids[index.columns["section"].entry].tolist())),
    "placed_before": placed_before,
    "stale": index.version != facet_index.current_version(),
    "fresh_ids": fresh.ids.tolist(),
}))
"""


def test_a_write_between_two_index_queries_changes_no_count(live_db):
    result = run_child(live_db, WRITE_BETWEEN_QUERIES)
    assert result["injected"]
    # The index is the catalog as it was when the build began: no error, no half-written row.
    assert result["index_ids"] == result["before"]
    assert result["placed"] == result["placed_before"]
    assert result["after"] != result["before"]
    # ...and it knows it is older than the data: the next request gets the new catalog.
    assert result["stale"]
    assert result["fresh_ids"] == result["after"]


# --- a failing build serves a correct page from SQL ----------------------------------------


@pytest.fixture
def broken_index(monkeypatch):
    def fail():
        raise RuntimeError("simulated failure while building the index")

    monkeypatch.setattr(facet_index, "_index", None)
    monkeypatch.setattr(facet_index.FacetIndex, "load", staticmethod(fail))


def test_a_failing_index_build_serves_the_browse_page_from_sql(make, client, broken_index):
    build_catalog(make)
    with pytest.raises(facet_index.IndexUnavailable):
        facet_index.get_index()
    params = {"kind": ["guide"], "year_min": "2020", "sort": "title"}
    expected = database_ids(facet_index.SqlChoices(), params)
    response = client.get("/browse/", query(params))
    assert response.status_code == 200
    assert response.context["result"].count == len(expected)
    shown = [e.id for e in response.context["result"].entries]
    assert set(shown) <= expected and len(shown) == min(len(expected), 20)
    titles = [e.title.lower() for e in response.context["result"].entries]
    assert titles == sorted(titles)
    chips = [chip.label for chip in response.context["result"].chips]
    assert "Content kind: guide" in chips and "Year: 2020–…" in chips
    data = client.get("/browse/", query({**params, "format": "json", "per_page": "100"})).json()
    expected_urls = set(Entry.objects.filter(id__in=expected).values_list("url", flat=True))
    assert {r["url"] for r in data["results"]} == expected_urls and data["count"] == len(expected)


def test_a_failing_index_build_serves_the_topic_page_from_sql(make, client, broken_index):
    build_catalog(make)
    entry = Entry.objects.filter(placements__isnull=False).first()
    topic = entry.placements.first().section.topic
    response = client.get(f"/topics/{topic.slug}/{topic.edition.slug}/", {"q": entry.title.split()[0]})
    assert response.status_code == 200
    result = response.context["result"]
    on_page = set(Entry.objects.filter(placements__section__topic=topic).values_list("id", flat=True))
    assert entry.id in result.matching_ids and set(result.matching_ids) <= on_page


def test_the_sql_page_matches_the_index_page(make):
    """Same results, count and order as the index gives, for each order."""
    build_catalog(make)
    index = facet_index.get_index()
    # PostgreSQL's collation may order titles unlike Python: there, only orders without titles.
    sorts = ("newest", "title", "added", "rating", "stars") if connection.vendor == "sqlite" else ("added", "stars")
    for sort in sorts:
        params = query({"edition": ["e1"], "sort": sort, "per_page": "100"})
        by_index = Browser(params, path="/browse/", index=index).run()
        by_sql = SqlBrowser(params, path="/browse/", index=facet_index.SqlChoices()).run()
        assert by_sql.count == by_index.count
        assert [e.id for e in by_sql.entries] == [e.id for e in by_index.entries], sort
