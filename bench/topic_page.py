"""Big topic pages, uncached (issue 8, point 4): the real V1 "Kubernetes" page
(1,107+ listings) and other large pages of the vendored corpus.

    .venv/bin/python bench/topic_page.py [--runs 20] [--db-dir /tmp/meshportal-bench]
    .venv/bin/python bench/topic_page.py --url /topics/kubernetes/v1/ --url /topics/istio/v1/
    .venv/bin/python bench/topic_page.py --copy-of BENCH_DIR/meshportal-bench-200000-g1-s20260518.sqlite3
    .venv/bin/python bench/topic_page.py --database-url postgres://postgres@127.0.0.1:5432/COPY --url ...

With --copy-of, the pages are those of a copy of that catalog (made once in --db-dir,
so the original is never written to): by default its largest topic page, the one
bench/live.py's readers request. With --database-url, the pages of that database as it
is (a PostgreSQL copy, say: nothing is migrated, only pages are requested).

The catalog is the one `make run` builds (`manage.py setup_catalog`: the
fixtures and both editions of data/nubenetes), in an SQLite file in --db-dir,
built once and reused (migrated first). One process, production settings, the page cache off,
Django's test Client (the whole middleware stack): each URL is requested twice
to warm up, then --runs times. Prints p50 wall and CPU time, the listings the
page shows (of how many), its size, and the load average. Target: <= 100 ms.
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

from bench.browse import child_env, copy_database  # noqa: E402

URLS = ["/topics/kubernetes/v1/", "/topics/kubernetes-tools/v1/", "/topics/kubernetes/"]
TARGET_MS = 100


def measure(args):
    import django

    django.setup()
    from django.db import close_old_connections
    from django.test import Client

    from catalog import facet_index
    from catalog.models import Edition, Placement

    facet_index.get_index()
    client = Client()
    if not args.url and (args.copy_of or args.database_url):
        args.url = [largest_topic_page()]
    print("load average {:.2f} {:.2f} {:.2f} (before)".format(*os.getloadavg()))
    print(f"| URL | listings shown / on the page | KB | p50 ms | CPU p50 ms | verdict (<= {TARGET_MS} ms) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for url in args.url or URLS:
        parts = url.strip("/").split("/")  # topics/<slug>[/<edition>]: the first edition by default
        edition = parts[2] if len(parts) > 2 else Edition.objects.order_by("position", "id").first().slug
        placed = Placement.objects.filter(section__topic__slug=parts[1], section__topic__edition__slug=edition)
        for _ in range(2):
            response = client.get(url)
            close_old_connections()
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        wall, cpu = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(url)
            close_old_connections()
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        shown = response.content.decode().count('<li class="entry"')
        p50 = statistics.median(wall)
        print(
            f"| `{url}` | {shown} / {placed.count():,} | {len(response.content) / 1024:,.0f} | {p50:.1f}"
            f" | {statistics.median(cpu):.1f} | {'PASS' if p50 <= TARGET_MS else 'FAIL'} |",
            flush=True,
        )
    print("load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def largest_topic_page():
    """The address of the topic page with the most listings (bench/live.py's largest)."""
    from django.db.models import Count

    from catalog.models import Topic

    slug, edition = (
        Topic.objects.annotate(n=Count("sections__placements")).order_by("-n").values_list("slug", "edition__slug")[0]
    )
    return f"/topics/{slug}/{edition}/"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--url", action="append", help="a topic page's path (repeatable)")
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--copy-of", help="an SQLite catalog to measure a copy of (e.g. a synthetic 200,000-entry one)")
    parser.add_argument("--database-url", help="measure this (migrated) database as it is, e.g. a PostgreSQL copy")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args)
    command = [sys.executable, __file__, "--measure", "--runs", str(args.runs)]
    command += [f"--url={url}" for url in args.url or []]
    if args.database_url:
        env = child_env(":memory:") | {"DATABASE_URL": args.database_url, "DJANGO_ALLOWED_HOSTS": "testserver"}
        command.append(f"--database-url={args.database_url}")
        return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode
    database = Path(args.db_dir) / "corpus.sqlite3"
    if args.copy_of:
        database = Path(args.db_dir) / f"copy-{Path(args.copy_of).name}"
        database.parent.mkdir(parents=True, exist_ok=True)
        copy_database(Path(args.copy_of), database)
    env = child_env(database) | {"DJANGO_ALLOWED_HOSTS": "testserver"}
    commands = [["migrate", "--noinput", "-v", "0"]]  # an existing file: the current migrations
    if not database.exists():
        print(f"== building {database} (setup_catalog: the fixtures and the vendored corpus)", flush=True)
        database.parent.mkdir(parents=True, exist_ok=True)
        commands.append(["setup_catalog"])
    for step in commands:
        subprocess.run([sys.executable, "manage.py", *step], env=env, cwd=ROOT, check=True)
    command += ["--copy-of", args.copy_of] if args.copy_of else []
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
