"""The curator dashboard's page load on synthetic catalogs (issue 9: <= 300 ms at 200,000).

    .venv/bin/python bench/dashboard.py [--entries 16000 200000] [--runs 15] [--db-dir DIR]

Uses bench/browse.py's databases (built once by bench/synthetic.py, reused while
their size, generator and migrations match; never db.sqlite3). For each size, in a
fresh process with production settings, a staff user (made in the bench database)
requests /admin/dashboard/ through Django's test Client with the whole middleware
stack: once to warm up, then --runs times ("cached": the gap counts are kept per data
version), then --runs-after-write times right after a write that changes the data
version ("after a write": the counts follow the write), then the entry changelist
filtered by each gap (`?gap=<key>`, the page each count links to) --changelist-runs
times each, right after a write too. p50 is the median wall time, p90 the nearest
rank; "CPU p50" is the process CPU time, which other load on this shared machine
disturbs less. Prints one row per size and case, each gap's changelist, and the
load average. Exit status 1 when the p50, cached or after a write, misses 300 ms at
200,000 entries. Not a test: nothing here is asserted in CI.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browse import child_env, ensure_db  # noqa: E402

TARGET_MS = 300.0
URL = "/admin/dashboard/"


def timed(get, runs, before=None):
    walls, cpus = [], []
    for _ in range(runs):
        if before:
            before()
        started, cpu = time.perf_counter(), time.process_time()
        get()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    return {
        "p50": statistics.median(walls),
        "p90": walls[min(len(walls) - 1, int(0.9 * len(walls)))],
        "cpu_p50": statistics.median(cpus),
    }


def measure(runs, runs_after_write, changelist_runs):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import close_old_connections
    from django.db.models.functions import Now
    from django.test import Client

    from catalog.models import Entry

    user = get_user_model().objects.filter(username="bench-curator").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench-curator", "bench@example.org", None)
    client = Client()
    client.force_login(user)

    def get():
        response = client.get(URL)
        close_old_connections()
        if response.status_code != 200:
            raise SystemExit(f"{URL}: HTTP {response.status_code}")
        return response

    response = get()  # warm-up, and the counts to print
    first = Entry.objects.order_by("pk").values_list("pk", flat=True).first()

    def write():  # the triggers give the catalog a new data version
        Entry.objects.filter(pk=first).update(updated_at=Now())

    rows = response.context_data["rows"]
    result = {
        "entries": Entry.objects.count(),
        "cached": timed(get, runs),
        "after a write": timed(get, runs_after_write, before=write),
        "rows": [(title, count) for title, count, _ in rows],
        "changelists": [],
    }
    for _title, count, link in rows:
        if "?gap=" not in link:
            continue
        cl = client.get(link)  # the same count, and a warm-up
        shown = cl.context_data["cl"].result_count if cl.status_code == 200 else f"HTTP {cl.status_code}"
        times = timed(lambda link=link: client.get(link), changelist_runs, before=write)
        result["changelists"].append((link.split("?gap=")[1], count, shown, times))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[16_000, 200_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--runs-after-write", type=int, default=3)
    parser.add_argument("--changelist-runs", type=int, default=3)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs, args.runs_after_write, args.changelist_runs)))
        return 0
    results = []
    for entries in args.entries:
        database, _ = ensure_db(args.db_dir, entries)
        env = {**child_env(database), "DJANGO_LOG_LEVEL": "ERROR"}
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                "--runs",
                str(args.runs),
                "--runs-after-write",
                str(args.runs_after_write),
                "--changelist-runs",
                str(args.changelist_runs),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(f"measuring {entries:,} entries failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"== {entries:,} entries measured", flush=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n/admin/dashboard/, {args.runs} cached runs, {args.runs_after_write} after a write; load average {load}")
    print(f"{'entries':>9} {'case':<14} {'p50 ms':>8} {'p90 ms':>8} {'CPU p50':>8}")
    for r in results:
        for case in ("cached", "after a write"):
            t = r[case]
            print(f"{r['entries']:>9,} {case:<14} {t['p50']:>8.0f} {t['p90']:>8.0f} {t['cpu_p50']:>8.0f}")
    for r in results:
        print(f"\n{r['entries']:,} entries: count, then ?gap= changelist after a write (p50 / p90 ms, its count)")
        for title, count in r["rows"]:
            print(f"  {count:>8,}  {title}")
        print(f"  {'gap':<18} {'count':>8} {'listed':>8} {'p50 ms':>8} {'p90 ms':>8}")
        for key, count, shown, t in r["changelists"]:
            print(f"  {key:<18} {count:>8,} {shown!s:>8} {t['p50']:>8.0f} {t['p90']:>8.0f}")
        worst = max((t["p50"] for *_, t in r["changelists"]), default=0)
        print(f"  slowest changelist p50: {worst:.0f} ms")
    big = [r for r in results if r["entries"] >= 200_000]
    return 1 if big and max(big[0][case]["p50"] for case in ("cached", "after a write")) > TARGET_MS else 0


if __name__ == "__main__":
    sys.exit(main())
