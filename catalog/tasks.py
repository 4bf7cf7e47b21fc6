"""Background jobs, on Django's tasks framework (the django-tasks backport).

`TASKS_BACKEND=immediate` (the default) runs a job inside the command that
enqueues it; `TASKS_BACKEND=database` queues it for `manage.py db_worker`
(see docs/link-health.md). Jobs take ids, never model instances, and are safe
to run twice: a link-check shard skips what its run already checked.
"""

from django_tasks import task

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
