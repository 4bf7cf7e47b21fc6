"""Walk the catalog and check every selected link, resumably.

A run (LinkCheckRun) is keyed by its criteria; running the same command again
before it finished resumes it: entries already checked in the run are not
checked again. Checks run on an asyncio loop in a thread of their own while
this thread stores the outcomes in batches, so the database is only ever
used from the caller's thread (and its connection).
"""

import asyncio
import json
import queue
import threading
import time
from collections import Counter
from datetime import timedelta

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..models import Entry, LinkCheck, LinkCheckRun, Placement
from ..services.linkhealth import record_checks
from .checker import CheckLimits, LinkChecker

FLUSH_EVERY = 200
FLUSH_SECONDS = 1.0


def criteria_key(criteria):
    return json.dumps({k: v for k, v in sorted(criteria.items()) if v not in (None, "", False)}, sort_keys=True)


def selection(criteria, *, since=None):
    """The published entries a run with `criteria` covers (topic, edition, stale_days)."""
    entries = Entry.objects.filter(published=True)
    if criteria.get("topic"):
        placed = Placement.objects.filter(entry=OuterRef("pk"), section__topic__slug=criteria["topic"])
        entries = entries.filter(Exists(placed))
    if criteria.get("edition"):
        placed = Placement.objects.filter(entry=OuterRef("pk"), section__topic__edition__slug=criteria["edition"])
        entries = entries.filter(Exists(placed))
    if criteria.get("stale_days") is not None:
        cutoff = (since or timezone.now()) - timedelta(days=criteria["stale_days"])
        entries = entries.filter(Q(link_health__isnull=True) | Q(link_health__last_checked_at__lt=cutoff))
    return entries


def start_or_resume(criteria):
    """(run, resumed): the unfinished run with these criteria, or a new one."""
    key = criteria_key(criteria)
    run = LinkCheckRun.objects.filter(key=key, finished_at__isnull=True).order_by("-started_at").first()
    if run is not None:
        return run, True
    run = LinkCheckRun.objects.create(criteria=criteria, key=key)
    total = selection(criteria, since=run.started_at).count()
    if criteria.get("limit"):
        total = min(total, criteria["limit"])
    run.total = total
    run.save(update_fields=["total"])
    return run, False


def checked_in_run(run):
    return LinkCheck.objects.filter(run=run).values("entry_id").distinct().count()


def pending(run, *, shard=0, shards=1):
    """[(entry_id, url)] still to check in `run`, least recently checked first."""
    done = LinkCheck.objects.filter(run=run, entry=OuterRef("pk"))
    entries = selection(run.criteria, since=run.started_at).filter(~Exists(done))
    if shards > 1:
        entries = entries.annotate(shard=F("id") % shards).filter(shard=shard)
    entries = entries.order_by(F("link_health__last_checked_at").asc(nulls_first=True), "id")
    if run.criteria.get("limit"):
        left = max(0, run.total - checked_in_run(run))
        entries = entries[: left if shards == 1 else -(-left // shards)]
    return list(entries.values_list("id", "url"))


class Progress:
    """A progress line on a terminal (or a line every 10 s in a log), and the summary's counts."""

    def __init__(self, total, stream=None, *, tty=False):
        self.total, self.stream, self.tty = total, stream, tty
        self.done = 0
        self.results = Counter()
        self.errors = Counter()
        self.started = time.monotonic()
        self._shown = 0.0

    def add(self, outcome):
        self.done += 1
        self.results[outcome.result] += 1
        if outcome.error:
            self.errors[outcome.error] += 1
        self.show()

    def rate(self):
        return self.done / max(time.monotonic() - self.started, 1e-9)

    def line(self):
        rate = self.rate()
        left = (self.total - self.done) / rate if rate and self.total > self.done else 0
        counts = " ".join(f"{k} {v}" for k, v in sorted(self.results.items()))
        pct = 100 * self.done / self.total if self.total else 100
        return f"checked {self.done}/{self.total} ({pct:.0f}%) {rate:.0f}/s, {left:.0f}s left | {counts}"

    def show(self, force=False):
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._shown < (0.5 if self.tty else 10):
            return
        self._shown = now
        self.stream.write(("\r\033[K" if self.tty else "") + self.line() + ("" if self.tty else "\n"))
        self.stream.flush()


class RunReport:
    def __init__(self, run, progress, moves, interrupted, left):
        self.run, self.progress, self.moves, self.interrupted, self.left = run, progress, moves, interrupted, left

    @property
    def transitions(self):
        return Counter((old, new) for _, old, new in self.moves)


def drive(checker, items, store, progress):
    """Run `checker.run(items, ...)` (a LinkChecker or subclass, used as an async context
    manager) on an asyncio loop in a thread of its own, and call `store(batch)` in this
    thread with lists of (key, outcome), every FLUSH_EVERY outcomes or FLUSH_SECONDS.

    Returns True when interrupted (KeyboardInterrupt): the outcomes that arrived before are stored.
    """
    results = queue.SimpleQueue()
    done_marker = object()
    state = {"loop": None, "task": None, "error": None}

    async def main():
        state["task"] = asyncio.current_task()
        async with checker:

            async def on_outcome(key, outcome):
                results.put((key, outcome))

            await checker.run(items, on_outcome)

    def thread_main():
        loop = state["loop"] = asyncio.new_event_loop()
        try:
            loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # handed to the caller's thread below
            state["error"] = exc
        finally:
            loop.close()
            results.put(done_marker)

    batch, interrupted = [], False
    thread = threading.Thread(target=thread_main, name="linkcheck", daemon=True)
    thread.start()
    last_flush = time.monotonic()
    try:
        while True:
            try:
                item = results.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                item = None
            if item is done_marker:
                break
            if item is not None:
                batch.append(item)
                progress.add(item[1])
            if batch and (len(batch) >= FLUSH_EVERY or time.monotonic() - last_flush >= FLUSH_SECONDS):
                store(batch)
                batch, last_flush = [], time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        loop, task = state["loop"], state["task"]
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=30)
        while True:  # what finished before the interrupt is kept
            try:
                item = results.get_nowait()
            except queue.Empty:
                break
            if item is not done_marker:
                batch.append(item)
                progress.add(item[1])
    if batch:
        store(batch)
    if state["error"] is not None:
        raise state["error"]
    progress.show(force=True)
    if progress.stream is not None and progress.tty:
        progress.stream.write("\n")
    return interrupted


def execute(run, *, shard=0, shards=1, limits=None, resolver=None, stream=None, tty=False):
    """Check the entries `run` still has to check and store every outcome; returns a RunReport.

    KeyboardInterrupt stops it cleanly: the checks made so far are stored,
    and running it again checks only the rest.
    """
    items = pending(run, shard=shard, shards=shards)
    progress = Progress(len(items), stream, tty=tty)
    moves = []
    checker = LinkChecker(limits or CheckLimits.from_settings(), resolver=resolver)
    interrupted = drive(checker, items, lambda batch: moves.extend(record_checks(outcomes=batch, run=run)), progress)
    left = len(pending(run))
    if not left and run.finished_at is None:
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at"])
    return RunReport(run, progress, moves, interrupted, left)
