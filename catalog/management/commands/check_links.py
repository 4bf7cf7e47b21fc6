"""manage.py check_links: check the catalog's links and store every check."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from ...linkhealth.runs import checked_in_run, criteria_key, execute, start_or_resume
from ...models import Edition, Entry, LinkCheckRun, Topic
from ...tasks import check_links_job


def by_count(counter):
    """Most frequent first, ties by name: the same summary for the same run."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


class Command(BaseCommand):
    help = (
        "Check entries' links concurrently and store each check. Safe to interrupt: "
        "the same command resumes the unfinished run and checks nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--topic", help="Only entries placed on this topic page (slug, any edition).")
        parser.add_argument("--edition", help="Only entries placed in this edition (slug).")
        parser.add_argument(
            "--stale-days", type=int, help="Only links not checked for this many days (never-checked ones too)."
        )
        parser.add_argument("--limit", type=int, help="Check at most this many links (least recently checked first).")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the run as background jobs on the TASKS_BACKEND instead of checking here.",
        )
        parser.add_argument("--shards", type=int, default=1, help="With --enqueue: split the run into this many jobs.")
        parser.add_argument("--restart", action="store_true", help="Abandon an unfinished run with the same options.")

    def handle(self, *args, **options):
        criteria = {
            "topic": options["topic"],
            "edition": options["edition"],
            "stale_days": options["stale_days"],
            "limit": options["limit"],
        }
        self._validate(criteria, options)
        if options["restart"]:
            LinkCheckRun.objects.filter(key=criteria_key(criteria), finished_at__isnull=True).delete()
        run, resumed = start_or_resume(criteria)
        done = checked_in_run(run)
        verb = "Resuming" if resumed else "Starting"
        self.stdout.write(f"{verb} run {run.pk}: {run.total} links, {done} already checked in this run.")
        if options["enqueue"]:
            shards = options["shards"]
            for shard in range(shards):
                result = check_links_job.enqueue(run.pk, shard, shards)
                self.stdout.write(f"  job {result.id}: shard {shard + 1}/{shards} ({result.status})")
            self.stdout.write(
                "Queued. With TASKS_BACKEND=database, `manage.py db_worker` processes run them; "
                "run this command again to see where the run stands."
            )
            return
        tty = sys.stderr.isatty()
        report = execute(run, stream=self.stderr._out if options["verbosity"] else None, tty=tty)
        self._summary(report)
        if report.interrupted:
            raise CommandError(f"Interrupted: {report.left} links left. Run the same command again to resume.")

    def _validate(self, criteria, options):
        if criteria["topic"] and not Topic.objects.filter(slug=criteria["topic"]).exists():
            raise CommandError(f"No topic {criteria['topic']!r}.")
        if criteria["edition"] and not Edition.objects.filter(slug=criteria["edition"]).exists():
            raise CommandError(f"No edition {criteria['edition']!r}.")
        for name in ("stale_days", "limit"):
            if criteria[name] is not None and criteria[name] < (0 if name == "stale_days" else 1):
                raise CommandError(
                    f"--{name.replace('_', '-')} must be {'0 or more' if name == 'stale_days' else 'at least 1'}."
                )
        if options["shards"] < 1:
            raise CommandError("--shards must be at least 1.")

    def _summary(self, report):
        progress = report.progress
        elapsed = max(progress.rate() and progress.done / progress.rate(), 0)
        self.stdout.write(
            f"Run {report.run.pk}: checked {progress.done} links in {elapsed:.1f} s ({progress.rate():.0f}/s)."
        )
        if progress.results:
            self.stdout.write("  results: " + ", ".join(f"{k} {v}" for k, v in by_count(progress.results)))
        if progress.errors:
            self.stdout.write("  errors: " + ", ".join(f"{k} {v}" for k, v in by_count(progress.errors)))
        if report.moves:
            moved = ", ".join(f"{old} → {new} {n}" for (old, new), n in by_count(report.transitions))
            self.stdout.write(f"  state changes: {moved}")
        states = Entry.objects.values_list("link_state").annotate(n=Count("id")).order_by("-n")
        self.stdout.write("  catalog now: " + ", ".join(f"{state} {n}" for state, n in states))
        if not report.interrupted:
            self.stdout.write("Run finished." if not report.left else f"{report.left} links left in this run.")
