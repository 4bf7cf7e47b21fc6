"""manage.py check_links: selection, stored history, summary, resumable runs, jobs."""

import io

import pytest
from django.core.management import CommandError, call_command

from catalog.linkhealth import guard, runs
from catalog.models import LinkCheck, LinkCheckRun

from .fakeweb import FakeSite, stub_lookup

PATHS = ["/ok", "/moved", "/gone", "/soft-404", "/file.pdf", "/missing", "/temporary", "/parked"]


@pytest.fixture
def site(settings, monkeypatch):
    settings.LINK_CHECK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.LINK_CHECK_HOST_DELAY = 0
    settings.LINK_CHECK_TIMEOUT = 3
    monkeypatch.setattr(guard, "system_lookup", stub_lookup({"site.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]}))
    with FakeSite() as fake:
        yield fake


@pytest.fixture
def linked(make, site):
    topic = make.topic(slug="istio")
    section = make.section(topic=topic)
    other = make.section(topic=make.topic(slug="linkerd"))
    entries = {path: make.entry(url=site.url(path), section=section) for path in PATHS}
    entries["elsewhere"] = make.entry(url=site.url("/ok?elsewhere", host="b.test"), section=other)
    return entries


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("check_links", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_checks_every_link_and_stores_states(linked):
    out, err = run()
    states = {path: entry.__class__.objects.get(pk=entry.pk).link_state for path, entry in linked.items()}
    assert states == {
        "/ok": "ok",
        "/moved": "redirected",
        "/gone": "broken",
        "/soft-404": "suspect",
        "/file.pdf": "ok",
        "/missing": "broken",
        "/temporary": "ok",
        "/parked": "suspect",
        "elsewhere": "ok",
    }
    assert LinkCheck.objects.count() == 9
    assert "checked 9 links" in out
    assert "results: ok 4, failed 2, suspect 2, redirected 1" in out
    assert "Run finished." in out
    assert "checked 9/9" in err  # the progress line


def test_topic_and_limit_select(linked):
    out, _ = run("--topic", "linkerd")
    assert list(LinkCheck.objects.values_list("entry_id", flat=True)) == [linked["elsewhere"].pk]
    run("--limit", "3")
    assert LinkCheck.objects.count() == 4


def test_stale_days_skips_recent_checks(linked):
    run()
    out, _ = run("--stale-days", "7")
    assert "checked 0 links" in out
    assert LinkCheck.objects.count() == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--topic", "nope"], "No topic 'nope'."),
        (["--edition", "nope"], "No edition 'nope'."),
        (["--limit", "0"], "--limit must be at least 1."),
        (["--stale-days", "-1"], "--stale-days must be 0 or more."),
    ],
)
def test_bad_options_are_refused_and_check_nothing(linked, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert LinkCheck.objects.count() == 0
    assert LinkCheckRun.objects.count() == 0


def test_an_interrupted_run_resumes_and_checks_nothing_twice(linked, site, make, monkeypatch):
    # Two slow links are still being checked when the run is interrupted.
    for n in range(2):
        linked[f"slow{n}"] = make.entry(url=site.url(f"/slow?seconds=2&n={n}"))
    monkeypatch.setattr(runs, "FLUSH_EVERY", 1)
    real_add, calls = runs.Progress.add, []

    def interrupting_add(self, outcome):
        calls.append(outcome)
        real_add(self, outcome)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(runs.Progress, "add", interrupting_add)
    with pytest.raises(CommandError, match="Run the same command again to resume"):
        run()
    first = LinkCheck.objects.count()
    assert 3 <= first < 11
    monkeypatch.setattr(runs.Progress, "add", real_add)
    out, _ = run()
    assert out.startswith(f"Resuming run {LinkCheckRun.objects.get().pk}: 11 links, {first} already checked")
    counts = list(LinkCheck.objects.values_list("entry_id", flat=True))
    assert sorted(counts) == sorted(e.pk for e in linked.values())  # each entry exactly once
    assert LinkCheckRun.objects.get().finished_at is not None


def test_enqueue_runs_the_shards_as_jobs(linked, settings):
    # The immediate backend runs each job as it is queued (the embedded default).
    out, _ = run("--enqueue", "--shards", "3")
    assert out.count("shard ") == 3
    assert LinkCheck.objects.count() == 9
    assert LinkCheckRun.objects.get().finished_at is not None


@pytest.mark.django_db(transaction=True)  # the worker manages its own connections and transactions
def test_enqueued_jobs_wait_for_a_database_worker(linked, settings):
    # The scale-out leg: jobs in the database, checked by `manage.py db_worker` processes.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    out, _ = run("--enqueue", "--shards", "2")
    assert "(READY)" in out
    assert LinkCheck.objects.count() == 0
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())
    assert sorted(LinkCheck.objects.values_list("entry_id", flat=True)) == sorted(e.pk for e in linked.values())
    assert LinkCheckRun.objects.get().finished_at is not None
