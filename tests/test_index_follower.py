"""The facet index's follower (catalog/index_follower.py): a thread of each
process that brings the index up to date between requests. Each test runs in
a child process on a database of its own (`live_db`), so that the follower's
connection and the writer's really are two connections to committed data."""

from . import test_live_index
from .test_live_index import run_child

live_db = test_live_index.live_db  # the fixture: a migrated database of its own

SETUP = """
import time
from django.db import connection
from catalog import facet_index, index_follower
from catalog.models import Entry, Section
from tests.test_live_index import seen_by_readers

make = Factory()
build_catalog(make, entries=30)
loads = []
load = facet_index.FacetIndex.load
facet_index.FacetIndex.load = classmethod(lambda cls: loads.append(1) or load())

def wait_until(condition, seconds=20):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True

def is_current():
    return facet_index.current_index().version == facet_index.current_version()
"""

CATCHES_UP_ALONE = (
    SETUP
    + """
from catalog import search, search_index
first = facet_index.get_index()
found_before = search.matching_ids("zyzzyva")  # builds the text search's index
follower = index_follower.start(0.02)
make.entry(section=Section.objects.order_by("id").first(), title="Zyzzyva mesh", year=2026)
caught = wait_until(is_current)  # no request: nothing in this process asks for the index
text_caught = wait_until(lambda: search_index.current_text_index().version == facet_index.current_version())
followed = facet_index.current_index()
text_index = search_index.current_text_index()
print(json.dumps({
    "caught": caught,
    "text_caught": text_caught,
    "found": [list(found_before), list(search.matching_ids("zyzzyva"))],
    "text_index_kept": search_index.current_text_index() is text_index,
    "followed": follower.followed,
    "full_builds": len(loads),
    "grown": followed.size - first.size,
    "same_as_full_build": seen_by_readers(followed) == seen_by_readers(facet_index.FacetIndex.load()),
    "first_untouched": first.size == followed.size - 1 and first.version != followed.version,
}))
index_follower.stop_following()
"""
)


def test_the_follower_catches_up_without_a_request(live_db):
    result = run_child(live_db, CATCHES_UP_ALONE)
    assert result["caught"] and result["followed"] >= 1
    # The text search's index followed too: the search found the new entry without catching up.
    assert result["text_caught"] and result["text_index_kept"]
    assert result["found"][0] == [] and len(result["found"][1]) == 1
    # It followed the log (no full build besides the first) and holds what a full build holds.
    assert result["full_builds"] == 1 and result["grown"] == 1
    assert result["same_as_full_build"]
    assert result["first_untouched"]


RACING = (
    SETUP
    + """
from django.http import QueryDict
from catalog.browse import Browser
from tests.test_browse_facets import database_ids

facet_index.get_index()
follower = index_follower.start(0.001)  # as often as it can: requests race it
section = Section.objects.order_by("id").first()
views = [{}, {"year_min": "2026"}, {"edition": ["e1"]}, {"q": "racer"}]
wrong, self_caught = [], 0
for i in range(40):
    if i % 3 == 2:
        Entry.objects.filter(pk=Entry.objects.order_by("-id").values_list("id", flat=True)[0]).delete()
    else:
        make.entry(section=section, title=f"Racer {i}", year=2026)
    time.sleep((i % 5) * 0.004)  # sometimes the follower is done, sometimes halfway, sometimes not begun
    behind = not is_current()
    index = facet_index.get_index()
    self_caught += behind
    for params in views:
        query = QueryDict(mutable=True)
        for key, value in params.items():
            query.setlist(key, value if isinstance(value, list) else [value])
        count = Browser(query, path="/browse/", index=index).run(fmt="json").count
        expected = len(database_ids(index, params))
        if count != expected:
            wrong.append([i, params, count, expected])
print(json.dumps({
    "wrong": wrong,
    "self_caught": self_caught,
    "followed": follower.followed,
    "full_builds": len(loads),
    "same_as_full_build": seen_by_readers(facet_index.get_index()) == seen_by_readers(facet_index.FacetIndex.load()),
}))
index_follower.stop_following()
"""
)


def test_requests_racing_the_follower_count_exactly(live_db):
    result = run_child(live_db, RACING)
    assert result["wrong"] == []
    assert result["followed"] >= 1  # the follower did part of the catching up
    assert result["full_builds"] == 1
    assert result["same_as_full_build"]


STOPS = (
    SETUP  # noqa: S608 - the child's code holds a constant query
    + """
import threading
facet_index.get_index()
follower = index_follower.start(0.01)
make.entry(section=Section.objects.order_by("id").first(), title="Before the stop", year=2026)
caught = wait_until(is_current)
started = time.monotonic()
stopped = index_follower.stop_following(timeout=5)
took = time.monotonic() - started
make.entry(section=Section.objects.order_by("id").first(), title="After the stop", year=2026)
time.sleep(0.2)  # twenty polls' time: nobody follows any more
left_behind = not is_current()
index = facet_index.get_index()  # ...until a request comes (FACET_INDEX_POLL_SECONDS is 0 here)
idle_in_transaction = None
if connection.vendor == "postgresql":
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        )
        idle_in_transaction = cursor.fetchone()[0]
print(json.dumps({
    "caught": caught,
    "same": stopped is follower,
    "alive": follower.is_alive(),
    "threads": [t.name for t in threading.enumerate() if t.name == "facet-index-follower"],
    "took": took,
    "left_behind": left_behind,
    "current_after_request": index.version == facet_index.current_version(),
    "restarted": index_follower._follower is not None,
    "idle_in_transaction": idle_in_transaction,
}))
"""
)


def test_the_follower_stops_cleanly(live_db):
    result = run_child(live_db, STOPS)
    assert result["caught"] and result["same"]
    assert not result["alive"] and result["threads"] == [] and result["took"] < 5
    assert result["left_behind"]
    assert result["current_after_request"] and not result["restarted"]
    assert result["idle_in_transaction"] in (None, 0)  # it left no transaction open behind it


FORKS = (
    SETUP
    + """
import os
facet_index.get_index()
follower = index_follower.start(0.01)
read, write = os.pipe()
pid = os.fork()  # as gunicorn's parent forks a worker
if pid == 0:
    os.write(write, b"none" if index_follower._follower is None else b"some")
    os._exit(0)  # nothing of the parent's (its connections) is touched
os.waitpid(pid, 0)
in_child = os.read(read, 16).decode()
print(json.dumps({
    "in_child": in_child,
    "parent_stopped": not follower.is_alive() and index_follower._follower is None,
    "restarts": index_follower.start(0.01).is_alive(),
}))
index_follower.stop_following()
"""
)


def test_a_process_that_forks_hands_no_follower_to_its_child(live_db):
    result = run_child(live_db, FORKS)
    assert result == {"in_child": "none", "parent_stopped": True, "restarts": True}


def test_the_follower_frees_older_indexes_that_finished_requests_still_hold(make):
    """A finished request's objects refer to each other (a cycle), and to the index it
    read: once the index is replaced, the follower's release of memory collects them, and
    the older index with them, instead of leaving them to the collector's next full pass;
    while the index stays the same it does not collect at all."""
    import gc
    import weakref

    from catalog import facet_index, index_follower
    from catalog.models import Entry

    from .conftest import build_catalog

    build_catalog(make)
    before, enabled, release = facet_index._index, gc.isenabled(), index_follower.IndexFollower.release_memory
    facet_index._index = old = facet_index.FacetIndex.load()
    request = {"index": old}
    request["self"] = request  # what a finished request leaves: a cycle holding the index
    held = weakref.ref(old)
    gc.disable()  # only release_memory() collects
    try:
        versions = release(())
        del request, old
        assert release(versions) == versions
        assert held() is not None  # the same index: nothing collected
        Entry.objects.filter(pk=Entry.objects.order_by("id").first().pk).update(title="Aardvark")
        facet_index._index = held().caught_up()
        assert release(versions) != versions
        assert held() is None  # replaced: the older one collected with the request's cycle
    finally:
        facet_index._index = before
        if enabled:
            gc.enable()
