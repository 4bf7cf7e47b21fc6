"""The facet index under writes: one snapshot per build, a SQL page when a
build fails, and (in child processes on a database of their own, so that
their connections really run side by side) a write landing between two of
the index's queries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from catalog import facet_index, pages
from catalog.browse import Browser, SqlBrowser
from catalog.models import CatalogChange, Edition, Entry, Label, Placement, Section, Topic

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

chunks, injected = facet_index._chunks, []

def chunks_then_write(sql, params=()):
    yield from chunks(sql, params)
    if "FROM catalog_entry " in sql and not injected:  # the entries are read, the placements not yet
        injected.append(True)
        writer = threading.Thread(target=write)
        writer.start()
        writer.join()

facet_index._chunks = chunks_then_write
index = facet_index.get_index()
after = sorted(Entry.objects.values_list("id", flat=True))
fresh = facet_index.get_index()
print(json.dumps({
    "injected": bool(injected),
    "before": before, "after": after,
    "index_ids": index.ids[index.alive].tolist(),
    "placed": sorted(set(index.ids[index.columns["section"].entry].tolist())),
    "placed_before": placed_before,
    "stale": index.version != facet_index.current_version(),
    "fresh_ids": fresh.ids[fresh.alive].tolist(),
    "followed": fresh.seq != index.seq and fresh.title_sorted is not index.title_sorted,
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
    for sort in [*sorts, *(f"-{sort}" for sort in sorts)]:
        params = query({"edition": ["e1"], "sort": sort, "per_page": "100"})
        by_index = Browser(params, path="/browse/", index=index).run()
        by_sql = SqlBrowser(params, path="/browse/", index=facet_index.SqlChoices()).run()
        assert by_sql.count == by_index.count
        assert [e.id for e in by_sql.entries] == [e.id for e in by_index.entries], sort


# --- following the change log equals a full build ------------------------------------------

VIEWS = [
    {},
    {"kind": ["guide"]},
    {"edition": ["e1"], "language": ["go"]},
    {"topic": ["topic-0-0"]},
    {"section": ["topic-0-0/top"]},
    {"year_min": "2020", "stars_min": "100"},
    {"featured": "1"},
    {"rating_min": "3"},
    {"not_label": ["legacy"]},
    {"site": ["github.com"]},
    {"sort": "title"},
    {"sort": "added"},
    {"sort": "stars"},
    {"sort": "rating"},
    {"sort": "-newest"},
    {"sort": "-title"},
    {"sort": "-added"},
    {"sort": "-stars"},
    {"sort": "-rating"},
    {"q": "mesh"},
]


def seen_by_readers(index, views=VIEWS):
    """Everything a reader sees of a set of pages: results in order, counts, every facet value."""
    pages = []
    for params in views:
        result = Browser(query({**params, "per_page": "100"}), path="/browse/", index=index).run(fmt="json")
        facets = [(p.name, [(v.value, v.label, v.count, v.selected) for v in p.values]) for p in result.facets]
        pages.append((result.count, [e.id for e in result.entries], facets, sorted(result.errors)))
    return pages


def topic_listings(index, listings=None):
    """Every topic page's listings (that the index holds: its topics), with and without a
    filter's entries, in a fixed order: from the index, or from `listings(topic, only)`."""
    some = {i for i in index.ids.tolist() if i % 3 == 0}  # a filter's choice, whatever was written since
    topics = Topic.objects.in_bulk([t.id for t in index.tree.topics])

    def rows(*args):
        found = index.topic_listings(*args) if listings is None else listings(topics[args[0]], *args[1:])
        return sorted(zip(*(array.tolist() for array in found), strict=True))

    return {t.id: (rows(t.id), rows(t.id, some)) for t in index.tree.topics}


def _entry():
    return Entry.objects.filter(placements__isnull=False).order_by("id").first()


def edit_fields(make):
    entry = _entry()
    entry.title, entry.year, entry.github_stars, entry.rating = "Aardvark mesh", 2011, 123456, 5
    entry.featured, entry.language, entry.url = True, "Zig", "https://new-site.example/x"
    entry.save()


def new_entry(make):
    section = Section.objects.order_by("id").first()
    make.entry(section=section, title="Zebra mesh", year=2026, language="go", labels=list(Label.objects.all()[:2]))


def relabel(make):
    entry = _entry()
    entry.labels.set(list(Label.objects.filter(slug__in=["legacy", "tool"])))


def replace(make):
    entry = _entry()
    Placement.objects.filter(entry=entry).delete()
    Placement.objects.create(entry=entry, section=Section.objects.order_by("-id").first())


def move_section(make):
    child = Section.objects.filter(parent__isnull=False).order_by("id").first()
    child.parent = Section.objects.filter(topic=child.topic, parent__isnull=True).exclude(pk=child.parent_id).first()
    child.save()


def delete_section(make):
    Section.objects.filter(slug="top").order_by("id").first().delete()


def rename_edition_and_label(make):
    Edition.objects.filter(slug="e1").update(name="First edition")
    Label.objects.filter(slug="guide").update(name="Guides")


def bulk_import(make):
    section = Section.objects.order_by("id").first()
    entries = Entry.objects.bulk_create(
        Entry(title=f"Imported {i}", url=f"https://import.example/{i}", year=2000 + i, language="Rust")
        for i in range(20)
    )
    if entries[0].pk is None:  # SQLite before 3.35 returns no ids
        entries = list(Entry.objects.filter(url__startswith="https://import.example/"))
    Placement.objects.bulk_create(Placement(entry=e, section=section) for e in entries)


def delete_entries(make):
    Entry.objects.filter(pk__in=list(Entry.objects.order_by("-id").values_list("id", flat=True)[:5])).delete()


def nest_listings(make):
    # Listings of a section reordered, one nested under another, and one moved to another section.
    section = Section.objects.annotate(n=Count("placements")).filter(n__gte=3).order_by("id").first()
    first, second, third = section.placements.order_by("id")[:3]
    Placement.objects.filter(pk=second.pk).update(parent=first, position=0)
    Placement.objects.filter(pk=third.pk).update(parent=second, position=1000)
    moved = Placement.objects.exclude(section=section).exclude(entry__placements__section=section).first()
    Placement.objects.filter(pk=moved.pk).update(section=section)


def delete_a_parent_listing(make):
    # Its children are nested no more (SET_NULL: an update of theirs, which logs their entries).
    parent = Placement.objects.filter(children__isnull=False).order_by("id").first()
    if parent is None:
        nest_listings(make)
        parent = Placement.objects.filter(children__isnull=False).order_by("id").first()
    parent.delete()


def queryset_update(make):
    Entry.objects.filter(year__lt=2021).update(year=2012, featured=True)


def respell_language(make):
    # Another spelling becomes the commonest: the facet's label follows, as a full build's does.
    Entry.objects.filter(language="Go").update(language="go")


WRITES = [
    edit_fields,
    new_entry,
    relabel,
    replace,
    move_section,
    delete_section,
    rename_edition_and_label,
    bulk_import,
    delete_entries,
    queryset_update,
    respell_language,
    nest_listings,
    delete_a_parent_listing,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__)
def test_following_the_change_log_equals_a_full_build(make, write):
    build_catalog(make)
    before = facet_index.FacetIndex.load()
    shown_before = seen_by_readers(before)
    # The text search asks the database itself, and entries are fetched from it: counts and facets.
    untouched = [(count, facets) for count, _, facets, _ in seen_by_readers(before, VIEWS[:-1])]
    listed_before = topic_listings(before)
    write(make)
    followed = before.caught_up()
    assert followed is not None, "a small write is followed, not rebuilt"
    full = facet_index.FacetIndex.load()
    assert followed.version == full.version and followed.seq == full.seq
    assert seen_by_readers(followed) == seen_by_readers(full)
    # Topic pages' listings: the database's, after the write.
    assert topic_listings(followed) == topic_listings(full) == topic_listings(full, pages.sql_listings)
    assert (seen_by_readers(full), topic_listings(full)) != (shown_before, listed_before)  # the write shows
    # ...and the old index is untouched.
    assert [(count, facets) for count, _, facets, _ in seen_by_readers(before, VIEWS[:-1])] == untouched
    assert topic_listings(before) == listed_before


def test_several_writes_in_a_row_are_followed_one_by_one(make):
    build_catalog(make)
    index = facet_index.FacetIndex.load()
    for write in WRITES:
        write(make)
        index = index.caught_up()
        assert index is not None, write.__name__
        assert topic_listings(index) == topic_listings(index, pages.sql_listings), write.__name__
        assert section_rows_are_found(index), write.__name__
    assert seen_by_readers(index) == seen_by_readers(facet_index.FacetIndex.load())


def test_counts_made_a_few_pairs_at_a_time_are_the_same(make, monkeypatch):
    """Counting passes go through a column some pairs or entries at a time
    (`COUNT_CHUNK`): with runs of 5, and every column counted by its pairs or codes
    (no bit masks), every page a reader sees is the same."""
    build_catalog(make)
    index = facet_index.FacetIndex.load()
    whole = seen_by_readers(index)
    monkeypatch.setattr(facet_index, "COUNT_CHUNK", 5)
    monkeypatch.setattr(facet_index, "PACKED_LIMIT", 0)
    chunked = facet_index.FacetIndex.load()
    assert all(getattr(column, "packed", None) is None for column in chunked.columns.values())
    assert len(chunked.columns["topic"].entry) > 5 and seen_by_readers(chunked) == whole


def section_rows_are_found(index):
    """The placement rows in section order stay so as the index follows writes (rows taken
    away, rows added at the end), and `section_rows()` finds a section's rows among them
    and in the rows after: the same rows as a pass over every placement, for every topic's
    sections, one section, none, and a section no placement is in."""
    head = index.p_section[: index.p_sorted]
    assert 0 < index.p_sorted <= len(index.p_section) and (head[1:] >= head[:-1]).all()
    sets = [[s.id for s in index.tree.sections if s.topic_id == t.id] for t in index.tree.topics]
    sets += [[index.tree.sections[0].id], [], [max(s.id for s in index.tree.sections) + 1]]
    for ids in sets:
        found = index.section_rows(ids)
        assert sorted(found.tolist()) == np.flatnonzero(np.isin(index.p_section, ids)).tolist(), ids
    return True


def test_indexes_that_follow_the_same_index_share_nothing_they_change(make):
    """An index that follows another grows into room after its arrays, and copies
    what the write changes: two indexes following the same one (and the one they
    follow) each keep exactly their own catalog."""
    views = VIEWS[:-1]  # not the text search: it asks the database as it is now
    build_catalog(make)
    before = facet_index.FacetIndex.load()
    shown_before = seen_by_readers(before, views)
    new_entry(make)
    first = before.caught_up()  # its arrays have room after them
    shown_first = seen_by_readers(facet_index.FacetIndex.load(), views)
    bulk_import(make)
    second = first.caught_up()  # the new entries written in that room
    shown_second = seen_by_readers(facet_index.FacetIndex.load(), views)
    imported = Entry.objects.filter(url__startswith="https://import.example/")
    imported.update(year=2001, language="Haskell", rating=1, featured=True)
    edit_fields(make)
    third = first.caught_up()  # from `first` again: the room is `second`'s now
    shown_now = seen_by_readers(facet_index.FacetIndex.load(), views)
    assert seen_by_readers(third, views) == shown_now
    assert seen_by_readers(second, views) == shown_second
    assert seen_by_readers(first, views) == shown_first
    assert seen_by_readers(before, views) == shown_before
    assert seen_by_readers(second.caught_up(), views) == shown_now


def test_a_deleted_entry_restored_with_its_id_is_followed(make):
    """A backup's entry loaded again under its old id: its number, kept while it was
    deleted, comes back to life in every count and order."""
    build_catalog(make)
    entry = _entry()
    entry_id, placements = entry.pk, list(Placement.objects.filter(entry=entry).values_list("section_id", flat=True))
    index = facet_index.FacetIndex.load()
    entry.delete()
    index = index.caught_up()
    seen_by_readers(index)  # orders made now hold the deleted entry's number too
    entry.pk = entry_id
    entry.save(force_insert=True)
    for section_id in placements:
        Placement.objects.create(entry=entry, section_id=section_id)
    followed = index.caught_up()
    assert followed is not None and followed.size == index.size
    assert seen_by_readers(followed) == seen_by_readers(facet_index.FacetIndex.load())


def test_a_long_change_log_means_a_full_build(make, monkeypatch):
    build_catalog(make)
    index = facet_index.FacetIndex.load()
    monkeypatch.setattr(facet_index, "MAX_CHANGES", 10)
    bulk_import(make)
    assert index.caught_up() is None
    new_entry(make)  # a small write after a big one: still from the row the index saw
    assert index.caught_up() is None


def test_a_log_that_is_not_the_one_seen_means_a_full_build(make):
    build_catalog(make)
    index = facet_index.FacetIndex.load()
    CatalogChange.objects.filter(id=index.seq[0]).update(token=index.seq[1] + 1)  # a restored backup, say
    new_entry(make)
    assert index.caught_up() is None


def test_get_index_follows_the_log_instead_of_rebuilding(make, monkeypatch):
    build_catalog(make)
    monkeypatch.setattr(facet_index, "_index", None)
    first = facet_index.get_index()
    monkeypatch.setattr(facet_index.FacetIndex, "load", None)  # a full build would fail now
    new_entry(make)
    followed = facet_index.get_index()
    assert followed is not first and followed.size == first.size + 1


TWO_WORKERS = """
import sys
from django.http import QueryDict
from catalog import facet_index
from catalog.browse import Browser
from catalog.models import Entry, Section

built = []
load = facet_index.FacetIndex.load
facet_index.FacetIndex.load = classmethod(lambda cls: built.append(1) or load())
make = Factory()
for line in sys.stdin:
    command = line.split()
    if command[0] == "catalog":
        build_catalog(make, entries=20)
    elif command[0] == "write":
        make.entry(section=Section.objects.first(), title=command[1], year=2026)
    index = facet_index.get_index()
    result = Browser(QueryDict("q=" + command[-1]), path="/browse/", index=index).run(fmt="json")
    print(json.dumps({"count": result.count, "size": int(index.alive.sum()), "full_builds": len(built)}), flush=True)
"""


def test_two_worker_processes_see_a_write_at_once(live_db):
    """Two processes on one database, as gunicorn's workers or two machines: a
    write through one is counted by the next request of the other, which
    follows the change log instead of building its index again."""
    setup = "import django, json\ndjango.setup()\nfrom tests.conftest import Factory, build_catalog\n"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", setup + TWO_WORKERS],
            cwd=ROOT,
            env=_child_env(live_db),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]

    def ask(worker, line):
        worker.stdin.write(line + "\n")
        worker.stdin.flush()
        return json.loads(worker.stdout.readline())

    try:
        a, b = workers
        ask(a, "catalog zyzzyva")
        before = ask(b, "read zyzzyva")
        assert before["count"] == 0 and before["full_builds"] == 1
        written = ask(a, "write Zyzzyva zyzzyva")
        assert written["count"] == 1 and written["size"] == before["size"] + 1
        seen = ask(b, "read zyzzyva")
        assert seen == {"count": 1, "size": before["size"] + 1, "full_builds": 1}
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait(timeout=30)
