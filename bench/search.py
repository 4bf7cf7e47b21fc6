"""Broad searches (issue 8): the search part of a browse page, from the database
and from the in-memory index, side by side.

    .venv/bin/python bench/search.py --entries 200000 --port 8150
    .venv/bin/python bench/search.py --entries 200000 --port 8150 --pg-url postgres://postgres@127.0.0.1:5432/meshportal_bench

Works on a fresh copy of bench/browse.py's synthetic SQLite catalog (or a clone
of bench/live.py's PostgreSQL one, named after --port), migrated. In one process:
builds the search index (wall and CPU time, the memory its arrays hold and the
process's resident growth), then for each query asks, in turn, the database
(`search.sql_matching_ids`: before) and the index (`search.matching_ids`:
after), ranked and not, --runs times, checking both give the same ids in the
same order; then --writes times has bench/writes.py's curator save and times
the first ranked search after it (the index follows the change log first).
Prints medians (wall and CPU ms) and the load average.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.index_memory import status_mib  # noqa: E402

QUERIES = ["kubernetes", "istio"]


def _timed(function):
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def _arrays_mib(index):
    parts = [index.base.docs, index.base.values, index.base.starts, index.base.offsets, index.present, index.stale]
    parts += [index.lengths] if index.lengths is not None else []
    return (sum(p.nbytes for p in parts) + len(index.base.blob)) / 2**20


def measure(args):
    import django

    django.setup()
    from django.db import close_old_connections

    from bench.writes import Curator
    from catalog import facet_index, search, search_index

    rss = status_mib("VmRSS")
    index, wall, cpu = _timed(search_index.TextIndex.load)
    facet_index.trim_heap()  # as a server's build does (`search_index.get_text_index()`)
    grown = status_mib("VmRSS") - rss
    load = os.getloadavg()
    print(f"\n## {args.entries:,} entries, {args.db}, load average {load[0]:.2f} {load[1]:.2f}")
    print(
        f"\nSearch index build: {wall:,.0f} ms ({cpu:,.0f} ms CPU) on a fresh copy, {len(index.base):,} terms,"
        f" {len(index.base.docs):,} postings, arrays {_arrays_mib(index):.1f} MiB, resident +{grown:.0f} MiB"
    )
    del index
    index, wall, cpu = _timed(search_index.TextIndex.load)
    rss = status_mib("VmRSS")
    print(f"Again (the database's cache warm): {wall:,.0f} ms ({cpu:,.0f} ms CPU), resident {rss:.0f} MiB")
    search_index._index = index
    print("\n| query | matches | ranked | before (SQL) ms | CPU ms | after (index) ms | CPU ms | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for text in QUERIES:
        for ranked in (True, False):
            before, after = [], []
            for _ in range(args.runs):
                sql, *spent = _timed(lambda r=ranked, t=text: search.sql_matching_ids(t, ranked=r))
                before.append(spent)
                found, *spent = _timed(lambda r=ranked, t=text: search.matching_ids(t, ranked=r, version=index.version))
                after.append(spent)
                assert (found if ranked else sorted(found)) == (sql if ranked else sorted(sql)), text
            wall_b, cpu_b = (statistics.median(s[i] for s in before) for i in (0, 1))
            wall_a, cpu_a = (statistics.median(s[i] for s in after) for i in (0, 1))
            print(
                f"| `{text}` | {len(sql):,} | {'yes' if ranked else 'no'} | {wall_b:.1f} | {cpu_b:.1f}"
                f" | {wall_a:.1f} | {cpu_a:.1f} | {wall_b / wall_a:.0f}x |"
            )
    curator, after_write = Curator(), []
    for _ in range(args.writes):
        curator.write()
        close_old_connections()
        found, *spent = _timed(lambda: search.matching_ids("kubernetes"))
        after_write.append(spent)
        assert found == search.sql_matching_ids("kubernetes")
    if after_write:
        wall, cpu = (statistics.median(s[i] for s in after_write) for i in (0, 1))
        worst = max(s[0] for s in after_write)
        print(
            f"\nFirst `kubernetes` search after a write (the index follows the log, then answers),"
            f" {len(after_write)} writes: p50 {wall:.1f} ms ({cpu:.1f} ms CPU), max {worst:.1f} ms;"
            f" index rebuilt from scratch: {search_index._index.base is not index.base}"
        )
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--writes", type=int, default=10)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--pg-url", help="measure on PostgreSQL (bench/live.py's database, cloned)")
    parser.add_argument("--port", type=int, default=0, help="names the working copy (runs side by side)")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.db = "postgres" if args.pg_url else "sqlite"
    if args.measure:
        return measure(args)
    from bench import live

    # The measuring process sees only the working copy (production settings, as a worker).
    env = live.server_env(live.prepare(args.db, args.entries, args)) | {"DJANGO_ALLOWED_HOSTS": "testserver"}
    return subprocess.run([sys.executable, __file__, *argv, "--measure"], env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
