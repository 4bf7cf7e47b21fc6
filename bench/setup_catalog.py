"""Benchmark: what `make run` does before serving, on a fresh SQLite file, then again.

    .venv/bin/python bench/setup_catalog.py [--runs 3]

Each run makes a new SQLite file in a temporary folder and times, as separate
processes (Python and Django start-up included, as `make run` pays them):
  migrate  `manage.py migrate` on the empty file,
  build    the first `manage.py setup_catalog` (the fixtures, then both editions of the
           whole vendored corpus, redirects, ANALYZE),
  again    the second `manage.py setup_catalog` (the catalog has data: nothing is touched).
Prints one row per run, the medians and the load average. Not a test: nothing asserts a time.
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


def timed(args, env):
    start = time.perf_counter()
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out.strip().splitlines()[-1] if out.strip() else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    manage = [sys.executable, "manage.py"]
    rows = []
    print(f"setup_catalog on a fresh SQLite file, {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'run':>4} {'migrate s':>10} {'build s':>9} {'again s':>9}  load average at start")
    for run in range(1, args.runs + 1):
        folder = tempfile.mkdtemp(prefix="meshportal-setup-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(DATABASE_URL=f"sqlite:///{folder}/db.sqlite3", DJANGO_DEBUG="1")
        load = os.getloadavg()
        migrate, _ = timed([*manage, "migrate", "--noinput", "-v", "0"], env)
        build, summary = timed([*manage, "setup_catalog"], env)
        again, _ = timed([*manage, "setup_catalog"], env)
        rows.append((migrate, build, again))
        print(f"{run:>4} {migrate:>10.2f} {build:>9.2f} {again:>9.2f}  {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"{'median':>4} {medians[0]:>10.2f} {medians[1]:>9.2f} {medians[2]:>9.2f}")
    print(summary)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
