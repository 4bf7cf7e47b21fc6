"""The production stack under load (issue 12): readers, slow clients and a curator.

    .venv/bin/python bench/serve_load.py                 # 60 s through nginx
    .venv/bin/python bench/serve_load.py --direct        # the same, straight to gunicorn
    .venv/bin/python bench/serve_load.py --duration 20 --slow 100

Builds a fresh catalog (the fixtures) in a temporary SQLite database, then runs
it as `make serve` does (deploy/serve.py: collectstatic, check --deploy,
gunicorn 2 workers x 8 threads behind nginx, Redis db 12 for the cache) on
--port. For --duration seconds:
- --readers threads request reader URLs in turn over keep-alive connections,
  accepting gzip, and time each answer;
- --slow clients each send their request a few bytes every half second, then
  read the answer 1 KB a second, again and again (what froze sync workers);
- a curator saves an entry every second (a new data version each time, so pages
  are rendered afresh, not served from the cache).
Prints one table: requests, errors, requests/s, p50/p90/p99/max latency, the
slow clients' completed requests, the writes, and the load average before and
after. Stops everything it started on exit.
"""

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
import serve  # noqa: E402

URLS = [
    "/topics/istio/",
    "/topics/istio/v1/",
    "/browse/",
    "/browse/?q=mesh",
    "/browse/?kind=guide",
    "/labels/",
    "/",
    "/browse/?format=json",
]
WRITER = """
import os, time
from catalog.models import Entry
ids = list(Entry.objects.order_by("id").values_list("id", flat=True)[:50])
stop, n = time.monotonic() + float(os.environ["WRITE_SECONDS"]), 0
while time.monotonic() < stop:
    entry = Entry.objects.get(pk=ids[n % len(ids)])
    entry.title = entry.title.removesuffix(" *") if entry.title.endswith(" *") else entry.title + " *"
    entry.full_clean()
    entry.save()
    n += 1
    time.sleep(1)
print(n)
"""


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def reader(port, stop, latencies, errors, offset):
    conn, n = None, offset
    while not stop.is_set():
        url = URLS[n % len(URLS)]
        n += 1
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", url, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)
            else:
                latencies.append(time.monotonic() - started)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn = None


def slow_client(port, stop, done):
    request = b"GET /topics/istio/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.connect()
            for i in range(0, len(request), 16):
                if stop.is_set():
                    break
                conn.sock.sendall(request[i : i + 16])
                time.sleep(0.5)
            while not stop.is_set() and conn.sock.recv(1024):
                time.sleep(1)
            conn.close()
            done.append(1)
        except OSError:
            time.sleep(0.5)


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9250)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--direct", action="store_true", help="straight to gunicorn, no nginx")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="meshportal-load-") as tmp:
        env = serve.environment(args.port, behind_nginx=not args.direct)
        env.update(
            DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3",
            DJANGO_STATIC_ROOT=f"{tmp}/static",
            WHITENOISE_USE_FINDERS="0",
            GUNICORN_ACCESS_LOG="",
            REDIS_URL=args.redis,
            WEB_CONCURRENCY="2",
        )
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        print(f"load: building the catalog in {tmp} ...", flush=True)
        serve.prepare(env)
        subprocess.run(
            [sys.executable, "-c", f"import redis; redis.Redis.from_url({args.redis!r}).flushdb()"], check=True
        )
        processes = serve.start(args.port, tmp=tmp, env=env, use_nginx=not args.direct)
        try:
            for url in URLS:  # warm up: the facet index of each worker
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
                conn.request("GET", url)
                conn.getresponse().read()
            before = loadavg()
            stop = threading.Event()
            latencies, errors, slow_done = [], [], []
            writer = subprocess.Popen(
                [sys.executable, "manage.py", "shell", "-c", WRITER],
                cwd=ROOT,
                env={**env, "WRITE_SECONDS": str(args.duration)},
                stdout=subprocess.PIPE,
                text=True,
            )
            threads = [
                threading.Thread(target=slow_client, args=(args.port, stop, slow_done), daemon=True)
                for _ in range(args.slow)
            ]
            threads += [
                threading.Thread(target=reader, args=(args.port, stop, latencies, errors, i), daemon=True)
                for i in range(args.readers)
            ]
            print(
                f"load: {args.duration:.0f} s, {args.readers} readers, {args.slow} slow clients, a curator "
                f"saving every second, {'gunicorn alone' if args.direct else 'nginx + gunicorn'} ...",
                flush=True,
            )
            for t in threads:
                t.start()
            time.sleep(args.duration)
            stop.set()
            writes = int((writer.communicate(timeout=60)[0] or "0").strip().splitlines()[-1])
            for t in threads:
                t.join(timeout=5)
            after = loadavg()
        finally:
            serve.stop(processes)

    ms = [x * 1000 for x in latencies]
    print()
    columns = ["front", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"]
    columns += ["slow clients served", "writes", "load before -> after"]
    print("| " + " | ".join(columns) + " |")
    print("| " + " | ".join("---" for _ in columns) + " |")
    row = ["gunicorn" if args.direct else "nginx", len(ms), len(errors), f"{len(ms) / args.duration:.0f}"]
    row += [f"{percentile(ms, q):.1f}" for q in (0.5, 0.9, 0.99)] + [f"{max(ms, default=0):.0f}"]
    row += [len(slow_done), writes, f"{before} -> {after}"]
    print("| " + " | ".join(map(str, row)) + " |")
    if errors:
        print(f"errors: {sorted(set(map(str, errors)))}")


if __name__ == "__main__":
    main()
