"""Following the change log between requests: one background thread per process.

A write changes the catalog's data version; the next request that reads it
brings the process's facet index up to date (`facet_index.refresh()`) before
counting. The follower does that work before a request needs it: every
`FACET_INDEX_POLL_SECONDS` it reads the data version (one small query) and,
when it changed, catches the index up, so the next reader usually finds the
index current. Requests still read the version themselves and catch up when
the follower has not yet done so (they share its lock: a request arriving
during a catch-up waits for it rather than doing it again), so counts are
always those of the database.

It learns of writes from the database, never from a signal inside the
process: every process on every machine follows the same way. Its database
connection is its own (Django's connections are per thread): on SQLite it
holds no read transaction between polls (WAL snapshots are taken and ended by
each read), and a pooled PostgreSQL connection goes back to the pool after
each poll, so it never keeps one of the request threads' connections.

Every `TRIM_SECONDS` it also hands the heap's free pages back to the system
(`facet_index.trim_heap()`): what requests freed stays with the process otherwise.

The thread starts with the first index a process builds (`get_index()`), so
with gunicorn each worker has its own, started after the fork. A process stops
its follower before it forks (gunicorn's parent may have built the index to
share it with its workers) and on exit; a forked child starts its own.
"""

import atexit
import gc
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection

from . import facet_index, search_index

logger = logging.getLogger(__name__)

# After a failed build, wait this many polls before trying again (the requests meanwhile
# answer from SQL and try themselves).
BACKOFF_POLLS = 50
# Hand the heap's free pages back this often: a browse page at 1,000,000 entries frees 40-70
# MiB of temporary arrays and objects, which the C heap would otherwise keep (a worker's
# resident memory 340 -> 260 MiB); each hand-back costs the next request some page faults.
TRIM_SECONDS = 1.0


class IndexFollower(threading.Thread):
    """Polls the data version every `interval` seconds and brings the index up to it."""

    def __init__(self, interval):
        super().__init__(name="facet-index-follower", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()
        self.followed = 0  # how many times it brought the index up to date

    def run(self):
        trimmed, collected = time.monotonic(), ()
        try:
            while not self.stopping.wait(self.interval):
                if not self.follow_once():
                    self.stopping.wait(self.interval * BACKOFF_POLLS)
                if time.monotonic() - trimmed >= TRIM_SECONDS:
                    collected = self.release_memory(collected)
                    trimmed = time.monotonic()
        finally:
            connection.close()

    @staticmethod
    def release_memory(collected):
        """Hand the heap's free pages back; first, when the indexes were replaced since the
        last time (`collected`: their versions then), free the older ones that the reference
        cycles of finished requests still hold (Django's request, response and template
        objects refer to each other, and a browse page to the index it read): the cyclic
        collector would otherwise free them at its next full pass only, many requests later,
        and each holds what its write copied (at 1,000,000 entries, serving the live
        benchmark's pages under writes, a worker's highest resident memory went from 411 to
        271 MiB: bench/worker_memory.py). Returns the indexes' versions now."""
        versions = tuple(
            getattr(index, "version", None)
            for index in (facet_index.current_index(), search_index.current_text_index())
        )
        if versions != collected:
            gc.collect()
        facet_index.trim_heap()
        return versions

    def follow_once(self):
        """One poll: True unless bringing the index up to date failed."""
        try:
            index = facet_index.current_index()
            version = facet_index.current_version()
            if index is not None and index.version != version:
                facet_index.refresh(version)
                self.followed += 1
            text = search_index.current_text_index()  # the search's index, once a page has used it
            if text is not None and text.version != version:
                search_index.get_text_index(version)
            return True
        except Exception as exc:
            if not isinstance(exc, facet_index.IndexUnavailable):  # that one refresh() logged
                logger.exception("facet index follower: reading the data version failed")
            connection.close()
            return False
        finally:
            if getattr(connection, "pool", None):
                connection.close()  # back to the pool: the request threads may need it

    def stop(self, timeout=10):
        self.stopping.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(timeout)


_follower = None
_start_lock = threading.Lock()


def ensure_following():
    """Start this process's follower unless it runs or `FACET_INDEX_POLL_SECONDS` is 0."""
    follower = _follower
    if follower is not None or not settings.FACET_INDEX_POLL_SECONDS:
        return follower
    return start(settings.FACET_INDEX_POLL_SECONDS)


def start(interval):
    """Start following every `interval` seconds (once a process); the follower."""
    global _follower
    with _start_lock:
        if _follower is None:
            facet_index.fixed_mmap_threshold()  # a process that serves pages
            _follower = IndexFollower(interval)
            _follower.start()
        return _follower


def stop_following(timeout=10):
    """Stop this process's follower and wait for it (at most `timeout` seconds)."""
    global _follower
    with _start_lock:
        follower, _follower = _follower, None
    if follower is not None:
        follower.stop(timeout)
    return follower


def _before_fork():
    # A process that forks (gunicorn's parent, which may build the index before forking its
    # workers) stops its follower first: a fork would copy the thread's connection into the
    # child, and the parent serves no pages. Its children start their own.
    stop_following()


def _after_fork_in_child():
    # The parent's thread does not exist here; its locks may have been held at the fork.
    global _follower, _start_lock
    _follower, _start_lock = None, threading.Lock()


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
atexit.register(stop_following)
