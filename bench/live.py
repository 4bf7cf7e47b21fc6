"""Readers under writes (issue 8, point 7): gunicorn on 127.0.0.1, readers on a
rotating set of browse and topic URLs, a curator saving every few seconds.

    .venv/bin/python bench/live.py --entries 16000 --db sqlite postgres
    .venv/bin/python bench/live.py --entries 200000 --db sqlite --duration 40
    .venv/bin/python bench/live.py --entries 16000 --db postgres \\
        --pg-url postgres://postgres@127.0.0.1:5432/meshportal_bench

Each run copies a synthetic catalog (bench/synthetic.py; SQLite files are the
ones bench/browse.py builds and reuses, PostgreSQL databases are built once as
`<pg database>_<entries>` and cloned with CREATE DATABASE ... TEMPLATE), applies
the current migrations to the copy, and starts gunicorn (2 sync workers, or
2 gthread workers of --threads threads as `make serve` runs, the page cache off,
production settings; the app and the facet index loaded before the workers fork,
as deploy/gunicorn.conf.py does: meshportal/prefork.py) on --port. After one warm-up request per
URL, --readers threads request the URLs in turn for --duration seconds while a
writer process alternately approves a new submission and edits an entry
(title, year, stars, a label) every --write-every seconds, through the
services and models as the admin does.

Reported per run: requests and errors (any status but 200, or no answer);
"first after write", the median of the first request each reader started
after each write; p50 and p99 of every request while writes go on;
requests/s; the load average before and after; each worker's resident and private
memory at the end (private: what one more worker adds), and the parent's. Times are wall times measured
by the readers. Every run ends by itself: the server is stopped on exit.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browse import URLS as BROWSE_URLS  # noqa: E402
from bench.browse import child_env, ensure_db  # noqa: E402

BROWSE = [url for _, url in BROWSE_URLS]
TOPICS = 3  # the largest topic, a middle one and a small one
CLIENT_TIMEOUT = 60


def _percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _run(cmd, env, **kwargs):
    return subprocess.run(cmd, env=env, check=True, cwd=ROOT, **kwargs)


def pg_admin(url, sql):
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def pg_entry_count(url):
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM catalog_entry").fetchone()[0]
    except psycopg.Error:
        return None


def prepare(db, entries, args):
    """A fresh working copy of the synthetic catalog, migrated: its DATABASE_URL."""
    if db == "sqlite":
        base, _ = ensure_db(args.db_dir, entries, out=sys.stderr)
        work = Path(args.db_dir) / f"live-{entries}-{args.port}.sqlite3"  # one per port: runs side by side
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(base, work)
        url = f"sqlite:///{work}"
    else:
        base_name = f"{args.pg_url.rsplit('/', 1)[1]}_{entries}"
        base_url = f"{args.pg_url.rsplit('/', 1)[0]}/{base_name}"
        if pg_entry_count(base_url) != entries:
            print(f"== building PostgreSQL database {base_name}", file=sys.stderr, flush=True)
            pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{base_name}"')
            pg_admin(args.pg_url, f'CREATE DATABASE "{base_name}"')
            env = child_env(":memory:") | {"DATABASE_URL": base_url}
            command = [sys.executable, "bench/synthetic.py", "--entries", str(entries), "--quiet-triggers"]
            _run(command, env, stdout=sys.stderr)
        work_name = f"{base_name}_live{args.port}"
        pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{work_name}" WITH (FORCE)')
        pg_admin(args.pg_url, f'CREATE DATABASE "{work_name}" TEMPLATE "{base_name}"')
        url = f"{args.pg_url.rsplit('/', 1)[0]}/{work_name}"
    env = child_env(":memory:") | {"DATABASE_URL": url}
    _run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env)
    return url


def server_env(url):
    return child_env(":memory:") | {"DATABASE_URL": url, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}


def topic_urls(url):
    """The largest topic page, a middle one and a small one (each at its edition's address)."""
    code = (
        "import django; django.setup()\n"
        "from django.db.models import Count\n"
        "from catalog.models import Topic\n"
        "rows = list(Topic.objects.annotate(n=Count('sections__placements')).filter(n__gt=0)"
        ".order_by('-n').values_list('slug', 'edition__slug', 'n'))\n"
        "import json; print(json.dumps([rows[0], rows[len(rows) // 2], rows[-1]]))\n"
    )
    out = _run([sys.executable, "-c", code], server_env(url), capture_output=True, text=True).stdout
    return [(f"/topics/{slug}/{edition}/", count) for slug, edition, count in json.loads(out.strip().splitlines()[-1])]


# The curator (bench/writes.py), in a process of its own.
WRITER = "import sys, django\ndjango.setup()\nfrom bench.writes import run\nrun(*map(float, sys.argv[1:3]))\n"


class Reader(threading.Thread):
    def __init__(self, base, urls, offset, until):
        super().__init__(daemon=True)
        self.base, self.urls, self.offset, self.until = base, urls, offset, until
        self.log = []  # (started, ms, status, url)

    def run(self):
        i = self.offset
        while time.time() < self.until:
            url = self.urls[i % len(self.urls)]
            i += 1
            self.fetch(url)

    def fetch(self, url):
        started = time.time()
        try:
            with urllib.request.urlopen(self.base + url, timeout=CLIENT_TIMEOUT) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        self.log.append((started, (time.time() - started) * 1000, status, url))


def wait_ready(base, proc, seconds=300):  # the parent builds the index first: ~20 s at 1,000,000 entries
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited: see its log")
        try:
            with urllib.request.urlopen(base + "/browse/?page=1", timeout=CLIENT_TIMEOUT):
                return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer")


def process_memory(pid):
    """(resident, proportional, private) MiB of a process (Linux /proc: RSS, PSS, USS), None
    when it is gone. Resident counts every page it maps, shared ones whole; proportional
    shares each page among the processes mapping it; private is what it alone holds."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    kib = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if line.split()[-1] == "kB"}
    return kib["Rss"] / 1024, kib["Pss"] / 1024, (kib["Private_Clean"] + kib["Private_Dirty"]) / 1024


def worker_memory(pid):
    """[(resident, proportional, private MiB)] of each gunicorn worker: what a worker holds
    of its own (private) is what one more worker adds; the rest it shares with the parent."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [found for child in children if (found := process_memory(child))]


def _sample_rss(pid, until, peaks):
    while time.time() < until:
        peaks.extend(rss for rss, _, _ in worker_memory(pid))
        time.sleep(0.5)


def measure(db, entries, args):
    url = prepare(db, entries, args)
    topics = topic_urls(url)
    urls = [u for i, browse in enumerate(BROWSE) for u in (browse, topics[i % len(topics)][0])]
    env = server_env(url)
    base = f"http://127.0.0.1:{args.port}"
    log = Path(tempfile.gettempdir()) / f"meshportal-live-{args.port}.log"
    with open(log, "w") as server_log:
        # Sync workers by default; --threads N: gthread workers of N threads each, as `make serve` runs.
        workers = ["--worker-class", "gthread", "--threads", str(args.threads)] if args.threads else []
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "meshportal.wsgi", "--workers", "2", "--bind",
             f"127.0.0.1:{args.port}", "--timeout", "30", "--config", "python:meshportal.prefork", *workers],
            env=env, cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_ready(base, server)
        warm = Reader(base, urls, 0, 0)
        for url_path in urls * 2:  # every URL, on both workers
            warm.fetch(url_path)
        load_before = os.getloadavg()
        started = time.time()
        until = started + args.duration
        readers = [Reader(base, urls, k * 3, until) for k in range(args.readers)]
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(args.write_every), str(until)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        peaks = []  # workers' resident MiB, every half second
        sampler = threading.Thread(target=_sample_rss, args=(server.pid, until, peaks), daemon=True)
        sampler.start()
        for reader in readers:
            reader.start()
        writes = [json.loads(line) for line in writer.stdout]
        if writer.wait():
            raise SystemExit("the writer failed: see above")
        for reader in readers:
            reader.join()
        elapsed = time.time() - started
        load_after = os.getloadavg()
        memory, parent = worker_memory(server.pid), process_memory(server.pid)
        sampler.join()
        peak = max([*peaks, *(rss for rss, _, _ in memory)], default=float("nan"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    requests = [row for reader in readers for row in reader.log]
    errors = [row for row in requests if row[2] != 200]
    first_after, first_by_kind = [], {"browse": [], "topics": []}
    for write in writes:
        for reader in readers:
            after = [row for row in reader.log if row[0] >= write["at"]]
            if after:
                first_after.append(after[0][1])
                first_by_kind["topics" if after[0][3].startswith("/topics/") else "browse"].append(after[0][1])
    during = [row[1] for row in requests if writes and row[0] >= writes[0]["at"]]
    by_url = {}
    for row in requests:
        by_url.setdefault(row[3], []).append(row[1])
    return {
        "db": db,
        "entries": entries,
        "workers": f"2 x gthread {args.threads}" if args.threads else "2 sync",
        "poll_seconds": os.environ.get("FACET_INDEX_POLL_SECONDS", "default"),
        "requests": len(requests),
        "errors": len(errors),
        "error_urls": sorted({row[3] for row in errors})[:5],
        "writes": len(writes),
        "write_ms_p50": _percentile([w["ms"] for w in writes], 0.5),
        "first_after_write_p50": _percentile(first_after, 0.5),
        "first_after_write_max": max(first_after, default=float("nan")),
        # The same, apart for browse and topic pages: [requests, p50 ms].
        "first_after_write_by_kind": {
            k: [len(v), round(_percentile(v, 0.5)) if v else None] for k, v in first_by_kind.items()
        },
        "p50": _percentile(during, 0.5),
        "p99": _percentile(during, 0.99),
        "rps": len(requests) / elapsed,
        "load_before": load_before[0],
        "load_after": load_after[0],
        "topics": topics,
        "workers_mib": memory,
        "worker_peak_rss_mib": peak,
        # Each URL's requests, p50 and worst ms: which pages make the p99.
        "by_url": {u: [len(ms), round(_percentile(ms, 0.5)), round(max(ms))] for u, ms in sorted(by_url.items())},
        "parent_mib": parent,
        "server_log": str(log),
    }


def print_table(results, out=sys.stdout):
    print(
        "| DB | entries | requests | errors | writes | first after write p50 / max ms | p50 / p99 ms | req/s "
        "| load avg before / after | worker RSS / PSS / private MiB (peak RSS) | parent RSS / PSS / private MiB |",
        file=out,
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", file=out)
    for r in results:
        print(
            f"| {r['db']} | {r['entries']:,} | {r['requests']} | {r['errors']} | {r['writes']} "
            f"| {r['first_after_write_p50']:.0f} / {r['first_after_write_max']:.0f} "
            f"| {r['p50']:.0f} / {r['p99']:.0f} | {r['rps']:.1f} | {r['load_before']:.1f} / {r['load_after']:.1f} "
            f"| {', '.join('{:.0f} / {:.0f} / {:.0f}'.format(*m) for m in r.get('workers_mib', []))} "
            f"({r.get('worker_peak_rss_mib', float('nan')):.0f}) "
            f"| {'{:.0f} / {:.0f} / {:.0f}'.format(*r['parent_mib']) if r.get('parent_mib') else ''} |",
            file=out,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[16_000])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--duration", type=float, default=40, help="seconds of reading under writes")
    parser.add_argument("--write-every", type=float, default=2.0)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="gthread workers of this many threads (0: sync)")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/meshportal_bench")
    parser.add_argument("--json", type=Path, help="also append each result to this JSON-lines file")
    args = parser.parse_args(argv)
    results = []
    for entries in args.entries:
        for db in args.db:
            print(f"== {db}, {entries:,} entries: {args.duration:.0f} s of reads under writes", flush=True)
            result = measure(db, entries, args)
            print(
                f"   {result['requests']} requests, {result['errors']} errors {result['error_urls'] or ''},"
                f" {result['writes']} writes; topics {result['topics']};"
                f" first after write (requests, p50 ms) {result['first_after_write_by_kind']}",
                flush=True,
            )
            results.append(result)
            if args.json:
                with args.json.open("a") as out:
                    out.write(json.dumps(result) + "\n")
    print()
    print_table(results)
    errors = sum(r["errors"] for r in results)
    print(f"\n{len(results)} runs, {sum(r['requests'] for r in results)} requests, {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
