"""manage.py fetch_logos: fetch each entry's site icon or GitHub owner avatar, stored locally."""

import sys

from django.core.management.base import BaseCommand, CommandError

from ...linkhealth.logos import refresh_logos
from ...models import Entry
from ...tasks import fetch_logos_job
from .check_links import by_count


class Command(BaseCommand):
    help = (
        "Fetch the logo of every published entry's link (the GitHub owner's avatar, else the host's "
        "/favicon.ico), politely, and store it here; a curator's own logo is never changed. "
        "Safe to interrupt and to run again: sources tried within --stale-days are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-days", type=int, default=30, help="Fetch again sources last tried longer ago than this (30)."
        )
        parser.add_argument("--limit", type=int, help="Fetch at most this many sources (least recently tried first).")
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the fetch as a background job on the TASKS_BACKEND."
        )

    def handle(self, *args, **options):
        stale_days, limit = options["stale_days"], options["limit"]
        if stale_days < 0:
            raise CommandError("--stale-days must be 0 or more.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if options["enqueue"]:
            result = fetch_logos_job.enqueue(stale_days=stale_days, limit=limit)
            self.stdout.write(f"Queued job {result.id} ({result.status}).")
            return
        report = refresh_logos(
            stale_days=stale_days,
            limit=limit,
            stream=self.stderr._out if options["verbosity"] else None,
            tty=sys.stderr.isatty(),
        )
        progress = report.progress
        self.stdout.write(f"Logos: {report.sources} sources, {report.fetched} fetched.")
        if progress.results:
            self.stdout.write("  results: " + ", ".join(f"{k} {v}" for k, v in by_count(progress.results)))
        if progress.errors:
            self.stdout.write("  errors: " + ", ".join(f"{k} {v}" for k, v in by_count(progress.errors)))
        shown = Entry.objects.visible().filter(site_logo__isnull=False).count()
        self.stdout.write(f"  {report.entries_changed} entries changed; {shown} published entries have a site logo.")
        if report.interrupted:
            raise CommandError(f"Interrupted: {report.left} sources left. Run the same command again to resume.")
        self.stdout.write("Done." if not report.left else f"{report.left} sources left.")
