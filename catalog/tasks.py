"""Background jobs, on Django's tasks framework (the django-tasks backport).

`TASKS_BACKEND=immediate` (the default) runs a job inside the command that
enqueues it; `TASKS_BACKEND=database` queues it for `manage.py db_worker`
(see docs/link-health.md). Jobs take ids, never model instances, and are safe
to run twice: a link-check shard skips what its run already checked.
"""

from django_tasks import task

from .linkhealth.logos import refresh_logos
from .linkhealth.runs import execute
from .models import LinkCheckRun


@task()
def check_links_job(run_id, shard=0, shards=1):
    """Check one shard (entry id modulo `shards`) of a link-check run; returns its counts."""
    run = LinkCheckRun.objects.get(pk=run_id)
    report = execute(run, shard=shard, shards=shards)
    return {
        "run": run_id,
        "shard": shard,
        "checked": report.progress.done,
        "results": dict(report.progress.results),
        "changed": len(report.moves),
    }


@task()
def fetch_logos_job(entry_ids=None, stale_days=30, limit=None):
    """Fetch the logos due (of `entry_ids`, or of every published entry); returns its counts."""
    report = refresh_logos(entry_ids=entry_ids, stale_days=stale_days, limit=limit)
    return {
        "sources": report.sources,
        "fetched": report.fetched,
        "results": dict(report.progress.results),
        "errors": dict(report.progress.errors),
        "entries_changed": report.entries_changed,
    }
