"""Benchmark: import the whole V1 archive into a fresh SQLite database.

    .venv/bin/python bench/import_v1.py [--runs 5] [--corpus data/nubenetes]

Each run migrates a new SQLite file in a temporary folder, loads fixtures/base.json,
then times, in this process (Python and Django start-up left out):
  parse   reading and parsing the 161 pages alone,
  import  the whole `import_markdown ... --nav v1-mkdocs.yml` command (parse, write, ANALYZE),
  again   the same command once more on the filled database (an idempotent re-import).
Prints one row per run and the median of each column. Not a test: nothing asserts a time.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "nubenetes")
    args = parser.parse_args()
    files = sorted((args.corpus / "v1").glob("*.md"))
    if not files:
        sys.exit(f"no markdown in {args.corpus / 'v1'}")

    folder = tempfile.mkdtemp(prefix="meshportal-bench-")
    database = Path(folder) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalog.markdown_import import read_nav, read_page
    from catalog.models import Entry, Placement

    nav = read_nav(args.corpus / "v1-mkdocs.yml")
    command = ["import_markdown", *map(str, files), "--edition", "V1 Historical Archive"]
    command += ["--nav", str(args.corpus / "v1-mkdocs.yml")]

    def timed(action):
        start = time.perf_counter()
        action()
        return time.perf_counter() - start

    rows = []
    print(f"V1 archive: {len(files)} pages, SQLite {connection.Database.sqlite_version}, {args.runs} runs")
    print(f"{'run':>4} {'parse s':>9} {'import s':>9} {'again s':>9} {'entries':>8} {'placements':>11}")
    for run in range(1, args.runs + 1):
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        call_command("loaddata", "base", verbosity=0)

        def parse_all():
            for path in files:
                listed = nav.get(path.name)
                read_page(path, nav_title=listed.title if listed else None)

        parse = timed(parse_all)
        first = timed(lambda: call_command(*command, stdout=io.StringIO()))
        again = timed(lambda: call_command(*command, stdout=io.StringIO()))
        rows.append((parse, first, again))
        print(
            f"{run:>4} {parse:>9.2f} {first:>9.2f} {again:>9.2f} {Entry.objects.count():>8} "
            f"{Placement.objects.count():>11}"
        )
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"{'median':>6} {medians[0]:>7.2f} {medians[1]:>9.2f} {medians[2]:>9.2f}")


if __name__ == "__main__":
    main()
