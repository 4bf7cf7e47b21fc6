"""Where a served worker's memory goes (issue 8, point 3), mapping by mapping.

    .venv/bin/python bench/worker_memory.py --entries 1000000 [--writes] [--rounds 2]

On a copy of bench/browse.py's synthetic SQLite catalog (the catalog itself is never
written), a parent process builds both indexes and maps them as gunicorn's parent does
(`facet_index.prepare_fork()`), then forks a worker. The worker serves bench/live.py's
8 browse URLs and 3 topic pages `--rounds` times (with `--writes`, the benchmark's curator
saves once before each request and the worker follows the write, as under
bench/live.py), trims its heap, and prints its resident memory after each round, the
highest, then where it is: the mapped index pages it has read, its heap (the pages it
shares with the parent, and its own), the libraries; and each index array's resident
pages, mapped ones (read from the parent's copy) and those the worker copied to follow
writes.
"""

import argparse
import ctypes
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browse import URLS  # noqa: E402 - the browse URLs every benchmark reads
from bench.index_memory import status_mib  # noqa: E402

BROWSE_URLS = [url for _, url in URLS]

MIB = 1024


def mappings():
    """[(start, end, path, {field: kB})] of this process (/proc/self/smaps)."""
    found = []
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
        if head:
            found.append((int(head[1], 16), int(head[2], 16), head[3], {}))
        elif line.split()[-1:] == ["kB"]:
            found[-1][3][line.split(":")[0]] = int(line.split()[1])
    return found


def index_arrays():
    """{address of an array's memory: (name, bytes)} of both indexes' arrays."""
    import numpy as np

    from catalog import facet_index, search_index
    from catalog.arrays import _owner

    named, todo, seen = {}, [("facet", facet_index._index), ("search", search_index._index)], set()
    while todo:
        path, obj = todo.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            items = list(obj.items())
        elif isinstance(obj, list):
            items = list(enumerate(obj))
        elif hasattr(obj, "__dict__") and not isinstance(obj, type) and not callable(obj):
            items = list(vars(obj).items())
        else:
            continue
        for key, value in items:
            if isinstance(value, np.ndarray):
                owner = _owner(value)
                named.setdefault(owner.__array_interface__["data"][0], (f"{path}.{key}", owner.nbytes))
            elif isinstance(value, dict | list) or (hasattr(value, "__dict__") and not callable(value)):
                todo.append((f"{path}.{key}", value))
    return named


def kind_of(path):
    if "meshportal-index" in path or path.endswith("(deleted)"):  # (an unnamed temporary file, before)
        return "index pages read (mapped)"
    if path in ("", "[heap]") or path.startswith("[anon"):
        return "heap"
    return "libraries and files" if path.startswith("/") else "other"


def report(rounds_rss):
    arrays, maps = index_arrays(), mappings()
    totals = {}
    for _, _, path, fields in maps:
        kind = kind_of(path)
        rss, own = fields.get("Rss", 0), fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        total = totals.setdefault(kind, [0, 0])
        total[0], total[1] = total[0] + rss, total[1] + own
    print(f"resident after each round (MiB): {', '.join(f'{r:.0f}' for r in rounds_rss)}")
    print(f"highest {status_mib('VmHWM'):.0f} MiB; now {status_mib('VmRSS'):.0f} MiB\n")
    print("| part | resident MiB | of which the worker's own |\n| --- | ---: | ---: |")
    for kind, (rss, own) in sorted(totals.items(), key=lambda item: -item[1][0]):
        if rss >= MIB / 10:
            print(f"| {kind} | {rss / MIB:.1f} | {own / MIB:.1f} |")
    rows = []
    for start, _end, _, fields in maps:
        if start in arrays:
            name, size = arrays.pop(start)
            rows.append((fields.get("Rss", 0) / MIB, size / 2**20, name, "mapped"))
    heap = [(size / 2**20, size / 2**20, name, "copied") for name, size in arrays.values() if size >= 2**20]
    print("\n| index array | resident MiB | size MiB | where |\n| --- | ---: | ---: | --- |")
    for rss, size, name, where in sorted(rows + heap, reverse=True):
        if rss >= 0.5:
            print(f"| {name} | {rss:.1f} | {size:.1f} | {where} |")
    print(f"\ncopied arrays of 1 MiB or more: {sum(s for _, s, _, _ in heap):.1f} MiB")


def serve(args):
    import django

    django.setup()
    from django.test import Client

    from bench.live import topic_urls
    from catalog import facet_index
    from catalog.index_follower import IndexFollower

    topics = [url for url, _ in topic_urls(os.environ["DATABASE_URL"])]
    facet_index.prepare_fork()
    pid = os.fork()
    if pid:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the highest resident memory: the worker's own from here
        from bench.writes import Curator

        curator = Curator() if args.writes else None
        client, rounds_rss, highest, collected = Client(), [], status_mib("VmHWM"), ()
        for _ in range(args.rounds):
            for url in BROWSE_URLS + topics:
                if curator is not None:
                    kind = curator.write()
                    if status_mib("VmHWM") > highest + 10:
                        print(f"  highest {highest:.0f} -> {status_mib('VmHWM'):.0f} MiB in the curator's {kind}")
                        highest = status_mib("VmHWM")
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: {response.status_code}")
                if status_mib("VmHWM") > highest + 10:
                    print(f"  highest {highest:.0f} -> {status_mib('VmHWM'):.0f} MiB in {url} (and its follow)")
                    highest = status_mib("VmHWM")
                if hasattr(IndexFollower, "release_memory"):  # as the server's follower does every second
                    collected = IndexFollower.release_memory(collected)
                else:  # before it collected older indexes
                    facet_index.trim_heap()
            gc.collect()
            ctypes.CDLL(None).malloc_trim(0)
            rounds_rss.append(status_mib("VmRSS"))
            print(f"round {len(rounds_rss)}/{args.rounds}: {rounds_rss[-1]:.0f} MiB resident", flush=True)
        report(rounds_rss)
    finally:
        sys.stdout.flush()
        os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--writes", action="store_true", help="the curator saves before each request")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return serve(args)
    from bench.browse import child_env, ensure_db

    base, _ = ensure_db(args.db_dir, args.entries, out=sys.stderr)
    with tempfile.TemporaryDirectory(dir=args.db_dir) as work:
        copy = Path(work) / "catalog.sqlite3"
        shutil.copyfile(base, copy)  # the curator writes to a copy
        env = child_env(copy) | {"DJANGO_ALLOWED_HOSTS": "testserver"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env=env, cwd=ROOT, check=True)  # noqa: S603
        load, started = os.getloadavg()[0], time.perf_counter()
        command = [sys.executable, __file__, "--child", "--rounds", str(args.rounds)] + ["--writes"] * args.writes
        code = subprocess.run(command, env=env, cwd=ROOT, check=False).returncode  # noqa: S603 - this script
    print(f"\n{time.perf_counter() - started:.0f} s; load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
