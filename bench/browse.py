"""Uncached /browse/ timings on synthetic catalogs (issue 3, point 8).

    .venv/bin/python bench/browse.py --entries 16000 200000 [--runs 30] [--db-dir /tmp/meshportal-bench]
    .venv/bin/python bench/browse.py --entries 16000 --profile      # also profile each URL that misses
    .venv/bin/python bench/browse.py --entries 16000 --build-only   # only build; prints the database path
    .venv/bin/python bench/browse.py --copy-of BENCH_DIR/meshportal-bench-1000000-g1-s20260518.sqlite3

Each size has its own SQLite file in --db-dir (never the development
db.sqlite3), built once by bench/synthetic.py and reused while its size, the
generator and the migrations match; --copy-of measures a copy of a given catalog
file instead (made once in --db-dir and migrated: the original is never written
to). Each size is measured in a fresh process (so its peak RSS is its own) with
production settings and
BROWSE_CACHE_SECONDS=0, through Django's test Client (the whole middleware
stack, and the connection closed after each request as Django's handler does
with CONN_MAX_AGE=0): the facet index is built and timed first, each URL is
requested once to warm it and once more under CaptureQueriesContext (query
count, SQL time, result count), then timed --runs times. p50 is the median
wall time, p95 the nearest rank; "CPU p50" is the median process CPU time,
which other load on this shared machine disturbs less than wall time.
Targets (issue 3): p50 <= 25 ms at 16,000 entries, <= 60 ms at 200,000, at
most 8 SQL queries a page. Exit status 1 when a target is missed.
"""

import argparse
import json
import math
import os
import re
import resource
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import GENERATOR_VERSION, SEED  # noqa: E402

URLS = [
    ("no filter", "/browse/"),
    ("one label", "/browse/?kind=guide"),
    ("three facets", "/browse/?edition=v2&maturity=de-facto-standard&language=go"),
    ("text query", "/browse/?q=istio"),
    ("text + two facets", "/browse/?q=istio&kind=guide&year_min=2020"),
    ("page 50", "/browse/?page=50"),
    # bench/live.py's readers request these too.
    ("one edition by stars", "/browse/?edition=v1&sort=stars"),
    ("broad text query", "/browse/?q=kubernetes"),
]
MAX_QUERIES = 8
RESULT_COUNT = re.compile(r'id="result-count"[^>]*>(\d+) entr')


def target_ms(entries):
    """The issue's p50 target: 25 ms up to 16,000 entries, 60 ms up to 200,000."""
    return 25.0 if entries <= 16_000 else 60.0


def db_path(db_dir, entries):
    return Path(db_dir) / f"meshportal-bench-{entries}-g{GENERATOR_VERSION}-s{SEED}.sqlite3"


def copy_database(source, target):
    """A copy of the SQLite catalog `source` at `target`, made once (SQLite's backup: a consistent copy)."""
    if target.exists():
        return
    print(f"== copying {source} to {target}", file=sys.stderr, flush=True)
    partial = target.with_name(target.name + ".tmp")
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as original, sqlite3.connect(partial) as copy:
        original.backup(copy)
    partial.rename(target)


def _migration_names():
    return {p.stem for p in (ROOT / "catalog" / "migrations").glob("[0-9]*.py")}


def usable(path, entries):
    """True when `path` holds a complete catalog of `entries` entries under the current migrations."""
    if not path.exists():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            count = db.execute("SELECT count(*) FROM catalog_entry").fetchone()[0]
            applied = {r[0] for r in db.execute("SELECT name FROM django_migrations WHERE app = 'catalog'")}
    except sqlite3.Error:
        return False
    return count == entries and applied == _migration_names()


def child_env(database):
    """Production settings for a child process, on `database`, with the page cache off."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "REDIS_URL", "CACHE_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SETTINGS_MODULE="meshportal.settings",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        BROWSE_CACHE_SECONDS="0",
        DJANGO_LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT),
        PYTHONWARNINGS="ignore:No directory at:UserWarning",  # WhiteNoise, without collectstatic
    )
    return env


def ensure_db(db_dir, entries, *, rebuild=False, out=sys.stdout):
    """The database for this size, built when missing or stale; returns (path, build summary)."""
    path = db_path(db_dir, entries)
    meta = path.with_name(path.name + ".build.json")
    if not rebuild and usable(path, entries) and meta.exists():
        print(f"== {entries:,} entries: reusing {path}", file=out, flush=True)
        return path, json.loads(meta.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    for stale in (path, tmp, meta):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{stale}{suffix}").unlink(missing_ok=True)
    print(f"== {entries:,} entries: building {path}", file=out, flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synthetic.py"), "--entries", str(entries), "--summary-json", str(meta)],
        env=child_env(tmp),
        stdout=out,
        check=True,
    )
    summary = json.loads(meta.read_text())
    summary["wall_seconds"] = round(time.perf_counter() - started, 2)
    meta.write_text(json.dumps(summary, indent=1))
    with sqlite3.connect(tmp) as db:  # fold the WAL in, so the file alone is the database
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    tmp.replace(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return path, summary


def copied(source, db_dir):
    """A working copy of the catalog `source` in `db_dir` (made once) and its build summary."""
    target = db_dir / f"copy-{source.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(source, target)
    migrate = [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, env=child_env(target), cwd=ROOT, check=True)  # the current migrations, if new ones
    meta = source.with_name(source.name + ".build.json")
    build = json.loads(meta.read_text()) if meta.exists() else {}
    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as db:
        build["entries"] = db.execute("SELECT count(*) FROM catalog_entry").fetchone()[0]
    db.close()
    return target, build


# --- the measuring child process -----------------------------------------------------------


def _rss_mib():
    """The peak resident set so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mib():
    """The resident set now (Linux), as opposed to the peak."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return float("nan")


def _percentile(sorted_ms, q):
    """Nearest-rank percentile of an ascending list."""
    return sorted_ms[max(0, math.ceil(q / 100 * len(sorted_ms)) - 1)]


class SqlTimer:
    """A connection.execute_wrapper adding up the time spent in the database."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def _profile(get, url, repeat, path):
    """Profile `repeat` requests of `url` into `path`; returns the text."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            get(url)
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(40)
        text = stream.getvalue()
    else:
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(repeat):
            get(url)
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
    path.write_text(text)
    return text


def measure(args):
    """Runs in the child: Django is configured for one bench database by the environment."""
    import django

    django.setup()
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog import facet_index

    rss_start = _rss_mib()
    version = facet_index.current_version()
    started, cpu_started = time.perf_counter(), time.process_time()
    index = facet_index.get_index(version)
    index_ms = (time.perf_counter() - started) * 1000
    index_cpu_ms = (time.process_time() - cpu_started) * 1000
    rss_index = _rss_mib()
    print(f"   index: {index.size:,} entries in {index_ms:,.0f} ms; peak RSS {rss_start:.0f} -> {rss_index:.0f} MiB")
    client = Client()
    rss_index_now = _rss_now_mib()

    def get(url):
        # The test Client keeps the database connection; a real request ends
        # with request_finished, which closes it (CONN_MAX_AGE=0, the default).
        response = client.get(url)
        close_old_connections()
        return response

    rows, target = [], target_ms(args.entries)
    for name, url in [(n, u) for n, u in URLS if not args.url or u in args.url]:
        started = time.perf_counter()
        response = get(url)
        first_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code} (expected 200)")
        sql = SqlTimer()
        with CaptureQueriesContext(connection) as capture, connection.execute_wrapper(sql):
            response = get(url)
        queries = list(capture.captured_queries)  # the next request's request_started empties the log
        match = RESULT_COUNT.search(response.content.decode())
        times, cpu = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: HTTP {response.status_code} during the runs")
        times.sort()
        row = {
            "name": name,
            "url": url,
            "p50": statistics.median(times),
            "p95": _percentile(times, 95),
            "cpu_p50": statistics.median(cpu),
            "first": first_ms,
            "queries": len(queries),
            "sql_ms": sql.seconds * 1000,
            "results": int(match.group(1)) if match else None,
            "bytes": len(response.content),
        }
        row["pass_time"] = row["p50"] <= target
        row["pass_queries"] = row["queries"] <= MAX_QUERIES
        rows.append(row)
        print(f"   {url}: p50 {row['p50']:.1f} ms, p95 {row['p95']:.1f} ms, {row['queries']} queries", flush=True)
    if facet_index.current_version() != version:
        raise SystemExit("The data version changed during the run: something wrote to the bench database.")
    result = {"entries": args.entries, "index_ms": index_ms, "rss_start": rss_start, "rss_index": rss_index}
    result["rss_index_now"] = rss_index_now
    result["index_cpu_ms"] = index_cpu_ms
    result["rss_peak"] = _rss_mib()
    result["load"] = os.getloadavg()
    result["rows"] = rows
    profiles = {}
    for row in rows:
        if args.profile_all or (args.profile and not row["pass_time"]):
            slug = re.sub(r"[^a-z0-9]+", "-", row["name"])
            path = Path(args.db).with_name(f"profile-{args.entries}-{slug}.txt")
            _profile(get, row["url"], args.profile_repeat, path)
            profiles[row["url"]] = str(path)
    result["profiles"] = profiles
    Path(args.out).write_text(json.dumps(result))


# --- the parent: build, measure each size, print the tables ----------------------------------


def print_table(result, build):
    entries, target = result["entries"], target_ms(result["entries"])
    print(f"\n## {entries:,} entries (p50 target {target:.0f} ms, at most {MAX_QUERIES} queries)")
    seconds = build.get("seconds")
    built = (
        f" catalog built in {seconds['total']:,.1f} s (entries, placements and labels {seconds['entries']:,.1f} s);"
        if seconds
        else ""
    )
    print(
        f"index build {result['index_ms']:,.0f} ms (CPU {result['index_cpu_ms']:,.0f} ms);"
        f" peak RSS {result['rss_peak']:.0f} MiB"
        f" (after django.setup {result['rss_start']:.0f} MiB, peak while building the index"
        f" {result['rss_index']:.0f} MiB, resident once built {result['rss_index_now']:.0f} MiB);"
        f"{built}"
        " load average {:.2f} {:.2f} {:.2f} at the end".format(*result["load"])
    )
    head = (
        f"| {'URL':<60} | {'p50 ms':>7} | {'p95 ms':>7} | {'CPU p50':>7} | {'queries':>7} | {'SQL ms':>6}"
        f" | {'results':>7} | {'verdict':<17} |"
    )
    print(head)
    print("|" + "|".join("-" * len(cell) for cell in head.split("|")[1:-1]) + "|")
    for row in result["rows"]:
        verdict = "PASS" if row["pass_time"] and row["pass_queries"] else "FAIL"
        if verdict == "FAIL":
            verdict += "".join(
                [" (time)" if not row["pass_time"] else "", " (queries)" if not row["pass_queries"] else ""]
            )
        results = row["results"] if row["results"] is not None else "?"
        print(
            f"| {row['url']:<60} | {row['p50']:>7.1f} | {row['p95']:>7.1f} | {row['cpu_p50']:>7.1f} |"
            f" {row['queries']:>7} | {row['sql_ms']:>6.1f} | {results:>7} | {verdict:<17} |"
        )
    for url, path in result["profiles"].items():
        print(f"profile of {url}: {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[16_000, 200_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db-dir", default=str(Path(tempfile.gettempdir()) / "meshportal-bench"))
    parser.add_argument("--rebuild", action="store_true", help="build the databases again even if present")
    parser.add_argument("--build-only", action="store_true", help="only build; print each database's path")
    parser.add_argument("--url", action="append", help="measure only this URL of the set (repeatable)")
    parser.add_argument("--copy-of", help="measure a copy (made once in --db-dir) of this SQLite catalog instead")
    parser.add_argument("--profile", action="store_true", help="profile each URL that misses its p50 target")
    parser.add_argument("--profile-all", action="store_true", help="profile every URL")
    parser.add_argument("--profile-repeat", type=int, default=10, help="requests per profile")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        args.entries = args.entries[0]
        return measure(args)
    if Path(args.db_dir).resolve().is_relative_to(ROOT):
        raise SystemExit("--db-dir must be outside the repository.")

    results = []
    for entries in args.entries if not args.copy_of else [None]:
        if args.copy_of:
            path, build = copied(Path(args.copy_of), Path(args.db_dir))
            entries = build["entries"]
        else:
            path, build = ensure_db(args.db_dir, entries, rebuild=args.rebuild, out=sys.stderr)
        if args.build_only:
            print(path)
            continue
        print(f"== {entries:,} entries: measuring {len(URLS)} URLs x {args.runs} runs", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--measure", "--entries", str(entries), "--db", str(path)]
            command += ["--runs", str(args.runs), "--out", out.name, "--profile-repeat", str(args.profile_repeat)]
            command += ["--profile"] * args.profile + ["--profile-all"] * args.profile_all
            command += [f"--url={url}" for url in args.url or []]
            subprocess.run(command, env=child_env(path), check=True)
            results.append((json.loads(Path(out.name).read_text()), build))
    for result, build in results:
        print_table(result, build)
    failed = [
        (r["entries"], row["url"])
        for r, _ in results
        for row in r["rows"]
        if not (row["pass_time"] and row["pass_queries"])
    ]
    if results:
        print(f"\n{len(failed)} of {sum(len(r['rows']) for r, _ in results)} rows miss a target")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
