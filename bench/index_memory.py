"""What the facet index costs in memory (issue 8, point 3), in a fresh process.

    .venv/bin/python bench/index_memory.py --entries 200000 [--db-dir /tmp/meshportal-bench]
    .venv/bin/python bench/index_memory.py --entries 200000 --pg-url postgres://postgres@127.0.0.1:5432/meshportal_bench

Reads bench/browse.py's synthetic SQLite catalog (never writes it), or the
PostgreSQL database bench/live.py builds (`<pg database>_<entries>`), with
production settings. Prints the process's resident memory after Django starts,
the peak and the resident memory after a full build, the same after
`malloc_trim(0)`, and the index's own bytes: numpy arrays, then Python objects
(lists, dicts, strings: each worker's own once its pages are written), by part,
with the build's wall and CPU time and the load average; then the same for the
search's index, and the resident memory once both are mapped to a file as
gunicorn's parent maps them (`catalog/arrays.py`).
"""

import argparse
import ctypes
import functools
import gc
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def status_mib(field):
    """A `VmRSS`/`VmHWM` figure of this process, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sizes(obj, seen):
    """(numpy bytes, Python object bytes) reachable from `obj`, each object once."""
    import numpy as np

    if id(obj) in seen or isinstance(obj, type | types.FunctionType | types.MethodType | functools.partial):
        return 0, 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        owner = obj
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        if owner is not obj:
            return sizes(owner, seen)
        return (obj.nbytes if obj.base is None else 0), sys.getsizeof(obj) - (obj.nbytes if obj.base is None else 0)
    arrays, objects = 0, sys.getsizeof(obj)
    if isinstance(obj, dict):
        children = [*obj.keys(), *obj.values()]
    elif isinstance(obj, list | tuple | set | frozenset):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        children = []
    for child in children:
        a, o = sizes(child, seen)
        arrays, objects = arrays + a, objects + o
    return arrays, objects


def measure():
    import django

    django.setup()
    from catalog import facet_index

    rss_django = status_mib("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    index = facet_index.FacetIndex.load()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for sort in ("newest", "stars", "title"):  # the orders the live benchmark's URLs use
        index.order(sort)
    peak, rss_built = status_mib("VmHWM"), status_mib("VmRSS")
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    rss_trimmed = status_mib("VmRSS")
    seen = set()
    parts = []
    for name, value in vars(index).items():
        if name == "columns":  # each facet's column on its own
            for column, part in value.items():
                parts.append((f"columns[{column}]", *sizes(part, seen)))
            continue
        parts.append((name, *sizes(value, seen)))
    mib = 1024 * 1024
    print(f"entries {index.size:,}; build {wall * 1000:,.0f} ms wall, {cpu * 1000:,.0f} ms CPU")
    print(f"RSS after django.setup {rss_django:.0f} MiB; after the build {rss_built:.0f} MiB (peak {peak:.0f});")
    print(f"    after gc + malloc_trim(0) {rss_trimmed:.0f} MiB")
    print("\n| part | numpy MiB | Python objects MiB |\n| --- | --- | --- |")
    for name, arrays, objects in sorted(parts, key=lambda p: -(p[1] + p[2])):
        if arrays + objects >= mib / 10:
            print(f"| {name} | {arrays / mib:.1f} | {objects / mib:.1f} |")
    print(f"| total | {sum(p[1] for p in parts) / mib:.1f} | {sum(p[2] for p in parts) / mib:.1f} |")
    try:
        from catalog import search_index
    except ImportError:  # before the search had an index of its own
        return
    wall, rss = time.perf_counter(), status_mib("VmRSS")
    text = search_index.get_text_index()
    wall = time.perf_counter() - wall
    arrays, objects = sizes(text, set())
    print(f"\nsearch index (catalog/search_index.py): build {wall * 1000:,.0f} ms, numpy {arrays / mib:.1f} MiB,")
    after = status_mib("VmRSS")
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    print(f"    Python objects {objects / mib:.1f} MiB; RSS {rss:.0f} -> {after:.0f} MiB,")
    print(f"    {status_mib('VmRSS'):.0f} MiB after gc + malloc_trim(0)")
    try:
        from catalog.arrays import mapped
    except ImportError:  # before the indexes were mapped
        return
    moved = mapped(index, text)  # as gunicorn's parent does before forking (facet_index.prepare_fork)
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    print(f"\nboth mapped ({moved / mib:.1f} MiB of arrays): RSS {status_mib('VmRSS'):.0f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--pg-url", help="measure on PostgreSQL (the database bench/live.py builds)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure()
    from bench.browse import child_env, db_path

    env = child_env(db_path(args.db_dir, args.entries))
    if args.pg_url:
        env["DATABASE_URL"] = f"{args.pg_url.rsplit('/', 1)[0]}/{args.pg_url.rsplit('/', 1)[1]}_{args.entries}"
    load = os.getloadavg()
    subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)  # noqa: S603 - this script
    print(f"\nload average {load[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
