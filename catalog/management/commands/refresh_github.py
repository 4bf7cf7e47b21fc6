"""manage.py refresh_github: keep every GitHub repository's figures fresh."""

import sys

from django.core.management.base import BaseCommand, CommandError

from ...linkhealth.enrich import refresh
from ...linkhealth.github import GitHubClient


class Command(BaseCommand):
    help = (
        "Fetch stars, forks, last push, archived, license, language and topics of every GitHub repository "
        "the catalog links to (GITHUB_TOKEN for the higher rate). Entries' curated values are never changed: "
        "differences show as suggestions in the admin. Safe to interrupt and to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, help="Fetch at most this many repositories.")
        parser.add_argument(
            "--stale-hours", type=int, default=24, help="Refetch repositories fetched longer ago than this (24)."
        )
        parser.add_argument(
            "--max-wait",
            type=int,
            default=0,
            help="Seconds to wait for a rate-limit reset before stopping (0: stop at once; run again later).",
        )

    def handle(self, *args, **options):
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        if options["stale_hours"] < 0 or options["max_wait"] < 0:
            raise CommandError("--stale-hours and --max-wait must be 0 or more.")
        client = GitHubClient()
        report = refresh(
            client=client,
            limit=options["limit"],
            stale_hours=options["stale_hours"],
            max_wait=options["max_wait"],
            stream=self.stderr._out if options["verbosity"] else None,
            tty=sys.stderr.isatty(),
        )
        outcomes = (
            ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in sorted(report.outcomes.items(), key=lambda i: (-i[1], i[0]))
            )
            or "nothing"
        )
        self.stdout.write(
            f"GitHub: {report.created} new repositories, {report.linked} entries (re)linked; "
            f"{client.requests} API requests: {outcomes}."
        )
        if report.stopped_until:
            self.stdout.write(
                f"Rate limit reached: {report.left} repositories left; it resets at "
                f"{report.stopped_until:%Y-%m-%d %H:%M} UTC. Run this command again after that to continue."
            )
        elif report.interrupted:
            raise CommandError(f"Interrupted: {report.left} repositories left. Run the same command again to resume.")
        else:
            self.stdout.write(f"Done; {report.left} repositories due.")
