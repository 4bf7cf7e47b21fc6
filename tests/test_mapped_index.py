"""The indexes in file-backed pages (`catalog.arrays.mapped()`, as gunicorn's parent maps
them before forking): they answer as before, follow writes exactly, and a write a process
makes to a mapped page stays its own."""

import os

import numpy as np
import pytest

from catalog import facet_index, search_index
from catalog.arrays import _owner, appended, mapped, with_room
from catalog.models import Entry, Label, Placement, Section

from .conftest import build_catalog
from .test_live_index import VIEWS, WRITES, seen_by_readers
from .test_search_index import check


def _mapped_arrays(index):
    """How many of the index's arrays live in a mapping (memory numpy does not own)."""
    parts = [*vars(index).values(), *index.raw.values(), *index.columns.values()]
    arrays = [a for a in parts if isinstance(a, np.ndarray)]
    arrays += [a for c in parts if hasattr(c, "__dict__") for a in vars(c).values() if isinstance(a, np.ndarray)]
    return sum(1 for a in arrays if isinstance(_owner(a).base, memoryview))


def _counts(index, views):
    """Counts and facets (the entries shown are read from the database as it is now)."""
    return [(count, facets) for count, _, facets, _ in seen_by_readers(index, views)]


def test_a_mapped_index_answers_and_follows_writes_as_a_full_build(make):
    views = VIEWS[:-1]  # not the text search: it asks the database as it is now, as do the entries
    build_catalog(make)
    index = facet_index.FacetIndex.load()
    shown = seen_by_readers(index)  # its orders made, to be mapped too
    assert mapped(index, at_least=0) > 0
    assert _mapped_arrays(index) > 20
    assert mapped(index, at_least=0) == 0  # mapped once
    assert seen_by_readers(index) == shown
    shown = _counts(index, views)
    for write in WRITES:
        write(make)
        followed = index.caught_up()
        assert followed is not None, write.__name__
        assert seen_by_readers(followed) == seen_by_readers(facet_index.FacetIndex.load()), write.__name__
        assert _counts(index, views) == shown, write.__name__  # the mapped index never changes
        index, shown = followed, _counts(followed, views)
        mapped(index, at_least=0)  # what the write copied, mapped in its turn


def test_a_mapped_search_index_answers_and_follows_writes(make, monkeypatch):
    build_catalog(make)
    monkeypatch.setattr(search_index, "_index", None)
    text = search_index.get_text_index()
    assert mapped(text, at_least=0) > 0
    for query in ["istio", "ist", "kiali -envoy", "envoy OR jaeger", "-mesh"]:
        assert check(query), query
    for write in WRITES[:4]:
        write(make)
        for query in ["istio", "mesh", "zebra", "aardvark", "-mesh"]:
            assert check(query), query
    assert search_index.current_text_index().base is text.base  # followed, not built again


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_writing_a_mapped_array_changes_only_its_own_copy():
    """gunicorn's workers share the parent's mapped pages; a worker's write (a new entry in
    the room after an array) is its own: the parent and its other workers never see it."""

    class Holder:
        pass

    holder = Holder()
    holder.ids = with_room(np.arange(50_000, dtype=np.int64))
    mapped(holder, at_least=0)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: fill the room, change a value, report what it sees
        os.close(read)
        grown = appended(holder.ids, [7, 8, 9])
        grown[0] = -1
        os.write(write, f"{grown[0]} {grown[-1]} {len(grown)}".encode())
        os._exit(0)
    os.close(write)
    seen = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert seen == "-1 9 50003"
    assert holder.ids[0] == 0 and len(holder.ids) == 50_000
    # The room is still the parent's to fill, with its own values.
    assert list(appended(holder.ids, [1])[-2:]) == [49_999, 1]
    assert holder.ids.base[50_000] == 1


def test_rows_a_write_only_adds_to_are_not_copied(make):
    """An entry given one more label and one more placement: the index follows it exactly,
    writing the new rows in the room after its arrays (the older index still reads its own)."""
    build_catalog(make)
    before = facet_index.FacetIndex.load()
    shown = _counts(before, VIEWS[:-1])
    entry = Entry.objects.filter(placements__isnull=False).order_by("id").first()
    entry.labels.add(Label.objects.exclude(pk__in=entry.labels.all()).order_by("id").first())
    Placement.objects.create(entry=entry, section=Section.objects.exclude(placements__entry=entry).first())
    followed = before.caught_up()
    assert seen_by_readers(followed) == seen_by_readers(facet_index.FacetIndex.load())
    for name in ("p_pos", "p_section", "t_pos", "t_label"):
        old, new = getattr(before, name), getattr(followed, name)
        assert len(new) == len(old) + 1 and new.base is old.base, name  # grown in place
    assert _counts(before, VIEWS[:-1]) == shown


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="Linux's in-memory files")
def test_arrays_are_mapped_from_an_in_memory_file_of_small_pages():
    """Not from a disk's file system, whose page cache may hold 2 MiB pages that a single
    read maps whole (`catalog.arrays._backing`): from an in-memory file, read 4 KiB at a time."""
    holder = {"numbers": np.arange(300_000, dtype=np.int64)}
    assert mapped(holder) == 300_000 * 8
    start = holder["numbers"].__array_interface__["data"][0]
    maps = [line.split() for line in open("/proc/self/maps")]  # noqa: SIM115
    paths = [" ".join(m[5:]) for m in maps if int(m[0].split("-")[0], 16) == start]
    assert paths and paths[0].startswith("/memfd:meshportal-index"), paths
    assert holder["numbers"][123_456] == 123_456
