"""A bulk write in one transaction on a catalog with a long change log (issue 8):
entries a second, per thousand, so a slowdown as the transaction goes on shows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/meshportal_bench .venv/bin/python bench/change_log.py

Migrates the database named by DATABASE_URL, appends --log-rows rows to its
change log, then creates --entries entries (https://bench-change-log.example/N)
in one transaction and rolls it back, so the catalog is left as it was but for
the log rows. Run it on the code before and after a change, back to back.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")


class Rollback(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=4000)
    parser.add_argument("--log-rows", type=int, default=60_000)
    args = parser.parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from catalog.models import Entry

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)"
            " INSERT INTO catalog_catalogchange (entry_id, token) SELECT NULL, i FROM n",
            [args.log_rows],
        )
    print(f"{connection.vendor}: {args.entries:,} entries in one transaction after {args.log_rows:,} log rows")
    rates = []
    try:
        with transaction.atomic():
            started = time.monotonic()
            for i in range(args.entries):
                Entry.objects.create(url=f"https://bench-change-log.example/{i}", title=f"Bench {i}")
                if i % 1000 == 999:
                    rates.append(1000 / (time.monotonic() - started))
                    print(f"  {i + 1:>7,} entries: {rates[-1]:,.0f} a second", flush=True)
                    started = time.monotonic()
            raise Rollback
    except Rollback:
        pass
    print(f"median {statistics.median(rates):,.0f} entries a second; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
