"""How the in-memory indexes store their numpy arrays: room to grow, and file-backed pages.

An index that follows a write shares every array the write left as it was with the
index it follows (`catalog/facet_index.py`). Arrays that grow are views of a buffer with
room after them (`appended()`, `with_room()`), so that adding an entry writes after the
array instead of copying it.

`mapped()` moves an index's arrays into one file-backed, copy-on-write mapping
(`mmap.ACCESS_COPY` of an unnamed in-memory file, `_backing()`). gunicorn's parent does it before
forking its workers (`facet_index.prepare_fork()`): a worker's resident memory then
holds only the pages it reads (a search reads the postings of its words, not all of
them), every worker reads the same pages of the machine's page cache, and a page a
worker writes (room filled by a new entry) becomes that worker's own, never the file's:
the other workers, and the parent, still see the index as it was built. Each machine,
and each server, maps its own file, which disappears with the last process that maps it.
"""

import mmap
import os
import tempfile
import threading
import weakref

import numpy as np

_room_lock = threading.Lock()
_room = {}  # id(buffer) -> [a weak reference to it, how much of it an index holds]


def _keep_room(buffer, used):
    key = id(buffer)
    _room[key] = [weakref.ref(buffer, lambda _, key=key: _room.pop(key, None)), used]


def appended(array, tail):
    """`array` (1-d) followed by `tail`, for an index that follows this one.

    Arrays that grow are views of a buffer with room after them: while no
    index holds anything past `array` in its buffer, `tail` is written in that
    room (an index holding `array` never reads past its end, so it is not
    disturbed) and nothing is copied; otherwise the result is a copy with room."""
    tail = np.asarray(tail, dtype=array.dtype)
    if not len(tail):
        return array
    used, size = len(array), len(array) + len(tail)
    base = array.base
    with _room_lock:
        room = _room.get(id(base)) if base is not None else None
        if (
            room is not None
            and room[0]() is base
            and room[1] == used
            and len(base) >= size
            and array.__array_interface__["data"][0] == base.__array_interface__["data"][0]
        ):
            base[used:size] = tail
            room[1] = size
            return base[:size]
        buffer = np.empty(size + max(4096, size // 64), dtype=array.dtype)
        buffer[:used], buffer[used:size] = array, tail
        _keep_room(buffer, size)
        return buffer[:size]


def with_room(array):
    """`array` (1-d) copied into a buffer with room after it, as `appended()` makes them."""
    return appended(np.empty(0, dtype=array.dtype), array)


# Arrays smaller than this stay where they are (a page of their own would cost more).
MAP_AT_LEAST = 64 * 1024
PAGE = mmap.PAGESIZE


def _owner(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _arrays(root):
    """Every (container, key, array) reachable from `root` through dicts, lists and the
    attributes of plain objects (each container once)."""
    found, seen, todo = [], set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            items = obj
        elif isinstance(obj, list):
            items = dict(enumerate(obj))
        elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
            items = vars(obj)
        else:
            continue
        for key, value in list(items.items()):
            if isinstance(value, np.ndarray):
                found.append((obj, key, value))
            elif isinstance(value, dict | list) or (hasattr(value, "__dict__") and not callable(value)):
                todo.append(value)
    return found


def _put(container, key, value):
    if isinstance(container, dict | list):
        container[key] = value
    else:
        vars(container)[key] = value  # also a frozen dataclass's field, or a cached property


def _backing():
    """The unnamed file the arrays are copied to: in memory (Linux's `memfd_create`, pages
    of 4 KiB), else in the temporary directory. Not a file of a disk's file system: its page
    cache may hold large pages (ext4 on Linux 6.18: up to 2 MiB), and a read faults a whole
    one in, so that the few probes of a binary search made 7 MiB of a 13 MiB array resident
    in a worker (docs/benchmarks.md, "Memory per worker, third pass")."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("meshportal-index", os.MFD_CLOEXEC), "w+b")
    return tempfile.TemporaryFile(prefix="meshportal-index-")


def mapped(*roots, at_least=MAP_AT_LEAST):
    """Move the arrays of `roots` (indexes: their attributes, dicts and lists, followed
    through) of at least `at_least` bytes into one file-backed copy-on-write mapping, in
    place: each array, and each view of one (with its room, `appended()`), becomes the same
    view of the mapped copy. Arrays mapped already stay. Returns the bytes mapped."""
    places = [place for root in roots for place in _arrays(root)]
    owners = {}
    for _, _, array in places:
        owner = _owner(array)
        if owner.base is None and owner.flags.c_contiguous and owner.nbytes >= at_least:
            owners[id(owner)] = owner
    if not owners:
        return 0
    offsets, size = {}, 0
    for key, owner in owners.items():
        offsets[key] = size
        size += -(-owner.nbytes // PAGE) * PAGE  # each at a page of its own
    copies = {}
    with _backing() as file:
        file.truncate(size)
        for key, owner in owners.items():
            file.seek(offsets[key])
            file.write(memoryview(owner).cast("B"))
        file.flush()
        # A mapping an array: when a write replaces the array, its pages go with it. The
        # mappings stay when the file is closed (the file goes with the last of them).
        for key, owner in owners.items():
            length = max(owner.nbytes, 1)
            memory = mmap.mmap(file.fileno(), length, access=mmap.ACCESS_COPY, offset=offsets[key])
            copy = np.frombuffer(memory, dtype=owner.dtype, count=owner.size)
            copies[key] = copy.reshape(owner.shape) if owner.ndim != 1 else copy
    with _room_lock:
        for key, owner in owners.items():
            room = _room.get(key)
            if room is not None and room[0]() is owner:
                _keep_room(copies[key], room[1])
    moved = {}  # id(array) -> its copy: an array held in two places stays one array
    for container, key, array in places:
        copy = copies.get(id(_owner(array)))
        if copy is not None and id(array) not in moved:
            start = array.__array_interface__["data"][0] - _owner(array).__array_interface__["data"][0]
            moved[id(array)] = (
                copy if array.base is None else np.ndarray(array.shape, array.dtype, copy, start, array.strides)
            )
        if copy is not None:
            _put(container, key, moved[id(array)])
    return sum(owner.nbytes for owner in owners.values())
