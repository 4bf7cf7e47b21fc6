"""The GitHub refresh job: walk the repositories, least recently fetched first."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db.models import F, Q

from ..models import GitHubRepo
from ..services.github import github_link_entries, github_store
from .github import GitHubClient, RateLimited, wait_or_stop
from .runs import Progress


class RefreshReport:
    def __init__(self):
        self.outcomes = Counter()
        self.created = self.linked = 0
        self.stopped_until = None
        self.left = 0
        self.interrupted = False


def due_repositories(*, stale_hours, now):
    cutoff = now - timedelta(hours=stale_hours)
    return GitHubRepo.objects.filter(Q(fetched_at__isnull=True) | Q(fetched_at__lt=cutoff)).order_by(
        F("fetched_at").asc(nulls_first=True), "key"
    )


def refresh(*, client=None, limit=None, stale_hours=24, max_wait=0, stream=None, tty=False):
    """Link entries to repositories, then fetch the due ones; stops cleanly on a spent rate limit.

    `max_wait`: seconds it may sleep for a rate-limit reset; beyond that it
    stops, and the next run continues with the repositories not reached.
    """
    client = client or GitHubClient()
    report = RefreshReport()
    report.created, report.linked = github_link_entries()
    now = datetime.now(UTC)
    due = due_repositories(stale_hours=stale_hours, now=now)
    repos = list(due[:limit] if limit else due)
    progress = Progress(len(repos), stream, tty=tty)
    try:
        for repo in repos:
            waited = False
            while True:
                try:
                    answer = client.repository(repo.owner, repo.name, repo.etag)
                except RateLimited as limited:
                    # Wait once for a reset that is near; still limited after it: stop.
                    if not waited and wait_or_stop(limited.reset, max_wait):
                        waited = True
                        continue
                    report.stopped_until = limited.reset
                    break
                except (OSError, ValueError) as exc:
                    report.outcomes["error"] += 1
                    progress.errors[type(exc).__name__] += 1
                    answer = None
                    break
                outcome = github_store(repo=repo, answer=answer, now=datetime.now(UTC))
                report.outcomes[outcome] += 1
                if answer.remaining == 0 and answer.reset and not wait_or_stop(answer.reset, max_wait):
                    report.stopped_until = answer.reset
                break
            if report.stopped_until:
                break
            progress.done += 1
            progress.results[outcome if answer else "error"] += 1
            progress.show()
    except KeyboardInterrupt:
        report.interrupted = True
    progress.show(force=True)
    if stream is not None and tty:
        stream.write("\n")
    report.left = due_repositories(stale_hours=stale_hours, now=now).count()
    report.progress = progress
    return report
