"""The link checker's throughput and memory against a loopback fake (issue 10, point 4).

    .venv/bin/python bench/linkcheck.py [--links 16000] [--hosts 400] [--mode command|checker]

A fake site (tests/fakeweb.py, bench mode) runs in a process of its own on
127.0.0.1 and answers every request after 50-500 ms: 75% HTML pages (the
checker reads them: HEAD then a capped GET), 10% files (HEAD only), 10%
permanent redirects to a page, 5% 404s. The links are spread over --hosts
host names that a stub resolver maps to 127.0.0.1 (LINK_CHECK_ALLOWED_NETWORKS
allows loopback for the bench only); the default limits of settings.py apply
(256 connections, 4 a host, 0.25 s between two requests to one host).

--mode command (default) is what `manage.py check_links` does: a run over
entries in a throwaway SQLite database, every check stored. --mode checker
runs the checker alone. Resident memory is sampled at each quarter of the
run: flat means it does not grow with the number of links checked.
Target: >= 200 links/s. Exit status 1 when it is missed.
"""

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 200.0


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def serve(port_queue, stop):
    from tests.fakeweb import FakeSite

    with FakeSite(bench=True) as site:
        port_queue.put(site.port)
        stop.wait()


def links(count, hosts, port, seed=10):
    rng = random.Random(seed)
    kinds = ["p"] * 75 + ["f"] * 10 + ["r"] * 10 + ["m"] * 5
    return [(i, f"http://h{i % hosts}.bench.test:{port}/doc/{i}/{rng.choice(kinds)}{i}") for i in range(count)]


class Sampler:
    """Resident memory at each quarter of the run."""

    def __init__(self, total):
        self.total, self.samples, self.next = total, [], 0.25

    def seen(self, done):
        if done >= self.total * self.next:
            self.samples.append(round(rss_mb(), 1))
            self.next += 0.25


def run_checker(items, hosts):
    import asyncio
    import ipaddress

    from catalog.linkhealth.checker import CheckLimits, LinkChecker
    from catalog.linkhealth.guard import GuardedResolver
    from tests.fakeweb import stub_lookup

    mapping = {f"h{i}.bench.test": ["127.0.0.1"] for i in range(hosts)}
    resolver = GuardedResolver(stub_lookup(mapping), allowed=[ipaddress.ip_network("127.0.0.0/8")])
    sampler, results, done = Sampler(len(items)), {}, [0]

    async def main():
        async with LinkChecker(CheckLimits.from_settings(), resolver=resolver) as checker:

            async def collect(key, outcome):
                done[0] += 1
                results[outcome.result] = results.get(outcome.result, 0) + 1
                sampler.seen(done[0])

            await checker.run(items, collect)

    started = time.monotonic()
    asyncio.run(main())
    return time.monotonic() - started, results, sampler.samples


def run_command(items, hosts):
    from django.core.management import call_command

    from catalog.linkhealth import guard, runs
    from catalog.models import Entry
    from tests.fakeweb import stub_lookup

    call_command("migrate", verbosity=0)
    Entry.objects.bulk_create([Entry(title=f"Link {i}", url=url) for i, url in items], batch_size=2000)
    guard.system_lookup = stub_lookup({f"h{i}.bench.test": ["127.0.0.1"] for i in range(hosts)})
    sampler = Sampler(len(items))
    real_add = runs.Progress.add

    def add(self, outcome):
        real_add(self, outcome)
        sampler.seen(self.done)

    runs.Progress.add = add
    run, _ = runs.start_or_resume({})
    started = time.monotonic()
    report = runs.execute(run)
    elapsed = time.monotonic() - started
    stored = run.checks.count()
    assert stored == len(items), (stored, len(items))
    return elapsed, dict(report.progress.results), sampler.samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=16000)
    parser.add_argument("--hosts", type=int, default=400)
    parser.add_argument("--mode", choices=["command", "checker"], default="command")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="meshportal-linkbench-")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["LINK_CHECK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meshportal.settings")
    import django

    django.setup()
    from django.conf import settings

    context = multiprocessing.get_context("spawn")
    port_queue, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(port_queue, stop), daemon=True)
    server.start()
    port = port_queue.get(timeout=30)
    try:
        items = links(args.links, args.hosts, port)
        before = rss_mb()
        run = run_command if args.mode == "command" else run_checker
        cpu = time.process_time()
        elapsed, results, samples = run(items, args.hosts)
        cpu = time.process_time() - cpu
    finally:
        stop.set()
        server.join(10)
    rate = args.links / elapsed
    load = os.getloadavg()
    print(
        f"bench/linkcheck.py --mode {args.mode}: {args.links} links over {args.hosts} hosts, fake answers in 50-500 ms"
    )
    print(
        f"limits: {settings.LINK_CHECK_CONCURRENCY} connections, {settings.LINK_CHECK_PER_HOST} a host, "
        f"{settings.LINK_CHECK_HOST_DELAY} s between requests to a host"
    )
    print()
    print(
        "| links | seconds | links/s | target | checker CPU s | RSS MB before | RSS MB at 25/50/75/100% "
        "| load avg (1/5/15) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    print(
        f"| {args.links:,} | {elapsed:.1f} | {rate:.0f} | >= {TARGET:.0f} | {cpu:.1f} | {before:.0f} | "
        f"{' / '.join(f'{s:.0f}' for s in samples)} | {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} |"
    )
    print()
    print("results: " + ", ".join(f"{k} {v}" for k, v in sorted(results.items())))
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
