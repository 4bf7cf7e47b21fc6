"""Memory and speed of "Download all N": a whole filtered result streamed as CSV
or JSON Lines, on a synthetic catalog.

    .venv/bin/python bench/download.py --entries 200000 [--db-dir /tmp/meshportal-bench]

It builds (or reuses) the catalog with bench/browse.py's builder, then, in a
child process on production settings, streams `/browse/?download=csv` and
`?download=jsonl` through Django's handler, reading the resident set (VmRSS)
every 50 chunks. The "buffered" row joins the same response in memory: what
a download that is not streamed would cost. Prints a table and the load average.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browse import child_env, ensure_db  # noqa: E402

URLS = {"csv": "/browse/?download=csv", "jsonl": "/browse/?download=jsonl"}


def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(client, url, *, buffered):
    started = time.perf_counter()
    before = rss_mib()
    response = client.get(url)
    peak, size, lines, chunks = before, 0, 0, []
    for i, chunk in enumerate(response.streaming_content):
        size += len(chunk)
        lines += chunk.count(b"\n")
        if buffered:
            chunks.append(chunk)
        if i % 50 == 0:
            peak = max(peak, rss_mib())
    if buffered:
        body = b"".join(chunks)
        peak = max(peak, rss_mib())
        del body
    peak = max(peak, rss_mib())
    response.close()
    return {
        "rows": int(response["X-Entry-Count"]),
        "lines": lines,
        "mib": size / 2**20,
        "seconds": time.perf_counter() - started,
        "rss_before": before,
        "rss_peak": peak,
    }


def child(formats):
    import django

    django.setup()
    from django.test import Client

    client = Client()
    client.get("/browse/")  # builds the facet index, as any first request does
    results = []
    for fmt in formats:
        for buffered in (False, True):
            row = measure(client, URLS[fmt], buffered=buffered)
            row.update(format=fmt, mode="buffered" if buffered else "streamed")
            results.append(row)
            print(json.dumps(row), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--db-dir", default="/tmp/meshportal-bench")
    parser.add_argument("--formats", nargs="+", default=["csv", "jsonl"], choices=sorted(URLS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.formats)
        return
    database, _ = ensure_db(args.db_dir, args.entries)
    print(f"== streaming {', '.join(args.formats)} of {args.entries:,} entries from {database}", flush=True)
    process = subprocess.run(
        [sys.executable, __file__, "--child", "--formats", *args.formats],
        env=child_env(database),
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode:
        sys.exit(process.stderr[-3000:])
    rows = [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]
    print()
    print("| format | mode | rows | lines | MiB sent | seconds | rows/s | RSS before MiB | RSS peak MiB | growth MiB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['format']} | {r['mode']} | {r['rows']:,} | {r['lines']:,} | {r['mib']:.1f} | {r['seconds']:.1f} "
            f"| {r['rows'] / r['seconds']:,.0f} | {r['rss_before']:.0f} | {r['rss_peak']:.0f} "
            f"| {r['rss_peak'] - r['rss_before']:.1f} |"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nload average: {load} (2 cores, shared)")


if __name__ == "__main__":
    main()
