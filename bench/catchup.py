"""The first request after a write, in process (issue 8): how long the facet
index takes to follow the change log, and the first browse page after it.

    .venv/bin/python bench/catchup.py --entries 200000 [--writes 20] [--profile]
    .venv/bin/python bench/catchup.py --entries 200000 --pg-url postgres://postgres@127.0.0.1:5432/meshportal_bench

Works on a fresh copy of bench/browse.py's synthetic SQLite catalog (or a clone
of bench/live.py's PostgreSQL one), migrated. One process, production settings,
the page cache off: it builds the index, requests each URL once to warm it,
then --writes times has bench/writes.py's curator save (approve a link, edit
an entry, alternately) and times `get_index()` (the catch-up) and the first
request of each URL after it. --profile prints where the catch-up's time goes
(cProfile, cumulative). Prints medians, the worst, and the load average.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URLS = ["/browse/", "/browse/?kind=guide", "/browse/?q=kubernetes", "/browse/?edition=v1&sort=stars"]


def measure(args):
    import django

    django.setup()
    from django.db import close_old_connections
    from django.test import Client

    from bench.writes import Curator
    from catalog import facet_index

    started = time.perf_counter()
    facet_index.get_index()
    print(f"   full build {(time.perf_counter() - started) * 1000:,.0f} ms", flush=True)
    client = Client()

    def get(url):
        started = time.perf_counter()
        response = client.get(url)
        close_old_connections()
        assert response.status_code == 200, (url, response.status_code)
        return (time.perf_counter() - started) * 1000

    for url in URLS:
        get(url)
    curator = Curator()
    profiler = cProfile.Profile() if args.profile else None
    rows, cpus = [], []  # (kind, catch-up ms, {url: ms}); catch-up CPU ms
    for _ in range(args.writes):
        kind = curator.write()
        close_old_connections()
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        index = facet_index.get_index()
        if profiler:
            profiler.disable()
        catchup = (time.perf_counter() - started) * 1000
        cpus.append((time.process_time() - cpu_started) * 1000)
        assert index.version == facet_index.current_version()
        rows.append((kind, catchup, {url: get(url) for url in URLS}))
        print(f"   {kind}: catch-up {catchup:.1f} ms, " + ", ".join(f"{ms:.0f}" for ms in rows[-1][2].values()))
    load = os.getloadavg()
    print(f"\n## {args.entries:,} entries, {args.db}, {len(rows)} writes, load average {load[0]:.2f} {load[1]:.2f}")
    print("| what | p50 ms | max ms |")
    print("| --- | --- | --- |")
    catchups = [r[1] for r in rows]
    print(f"| catch-up (get_index after a write) | {statistics.median(catchups):.1f} | {max(catchups):.1f} |")
    print(f"| catch-up, CPU time | {statistics.median(cpus):.1f} | {max(cpus):.1f} |")
    for url in URLS:
        times = [r[2][url] for r in rows]
        print(f"| then `{url}` | {statistics.median(times):.1f} | {max(times):.1f} |")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--pg-url", help="measure on PostgreSQL (bench/live.py's database, cloned)")
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", default="sqlite", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args)
    from bench import live

    args.db = "postgres" if args.pg_url else "sqlite"
    url = live.prepare(args.db, args.entries, args)
    command = [sys.executable, __file__, "--measure", "--entries", str(args.entries), "--db", args.db]
    command += ["--writes", str(args.writes)] + ["--profile"] * args.profile
    # No follower thread: the catch-up is timed where a request does it.
    env = live.server_env(url) | {"DJANGO_ALLOWED_HOSTS": "testserver", "FACET_INDEX_POLL_SECONDS": "0"}
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
