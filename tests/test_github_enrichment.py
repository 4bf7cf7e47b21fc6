"""GitHub enrichment against a loopback fake of the REST API."""

import io
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from catalog.linkhealth.github import repo_key, suggestions
from catalog.models import Entry, GitHubRepo, LabelGroup
from catalog.services.github import entry_suggestions, github_accept_suggestion, github_apply_rename

from .fakeweb import FakeGitHub, repo_data


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/istio/istio", "istio/istio"),
        ("https://github.com/istio/istio/tree/master/samples", "istio/istio"),
        ("https://www.github.com/Istio/Istio.git", "istio/istio"),
        ("http://github.com/envoyproxy/envoy?tab=readme", "envoyproxy/envoy"),
        ("https://github.com/kiali/kiali#readme", "kiali/kiali"),
        ("https://github.com/topics/service-mesh", None),
        ("https://github.com/istio", None),
        ("https://gist.github.com/someone/abc", None),
        ("https://istio.io/github.com/a/b", None),
    ],
)
def test_repository_urls(url, key):
    assert repo_key(url) == key


REPOS = {
    "istio/istio": repo_data(38217, created="2016-11-18T00:00:00Z"),
    "old/thing": repo_data(900, archived=True),
    "fresh/name": repo_data(120),
}


@pytest.fixture
def api(settings):
    with FakeGitHub(REPOS, limit=60, renamed={"old/name": "fresh/name"}) as fake:
        settings.GITHUB_API_URL = fake.base_url()
        settings.GITHUB_TOKEN = ""
        yield fake


@pytest.fixture
def entries(make):
    maturity, _ = LabelGroup.objects.get_or_create(slug="maturity", defaults={"name": "Maturity tier"})
    labels = {slug: make.label(name=slug.upper(), slug=slug, group=maturity) for slug in ["legacy", "emerging"]}
    return {
        "istio": make.entry(url="https://github.com/istio/istio", github_stars=35000, language="Go"),
        "samples": make.entry(url="https://github.com/istio/istio/tree/master/samples"),
        "old": make.entry(url="https://github.com/old/thing", labels=[labels["emerging"]]),
        "renamed": make.entry(url="https://github.com/old/name/blob/main/README.md"),
        "web": make.entry(url="https://istio.io/latest/docs/"),
        "labels": labels,
    }


def refresh(*args):
    out = io.StringIO()
    call_command("refresh_github", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_refresh_stores_figures_once_per_repository(api, entries):
    out = refresh()
    assert "3 new repositories, 4 entries (re)linked; 4 API requests: fetched 2, renamed 1." in out
    istio = GitHubRepo.objects.get(key="istio/istio")
    assert (istio.stars, istio.forks, istio.license, istio.language) == (38217, 3821, "Apache-2.0", "Go")
    assert istio.topics == ["service-mesh"]
    assert istio.pushed_at == datetime(2026, 10, 1, tzinfo=UTC)
    assert Entry.objects.get(pk=entries["samples"].pk).github_repo == istio
    assert Entry.objects.get(pk=entries["istio"].pk).github_repo == istio
    assert Entry.objects.get(pk=entries["web"].pk).github_repo is None


def test_curated_values_are_never_overwritten(api, entries):
    refresh()
    istio = Entry.objects.get(pk=entries["istio"].pk)
    assert (istio.github_stars, istio.language) == (35000, "Go")


def test_etag_304_keeps_values_and_costs_no_rate(api, entries):
    refresh()
    before = api.remaining
    out = refresh("--stale-hours", "0")
    assert "not modified 3" in out
    assert api.remaining == before
    assert GitHubRepo.objects.get(key="istio/istio").stars == 38217


def test_a_spent_rate_limit_stops_cleanly_and_the_next_run_resumes(api, entries):
    api.remaining = 2
    out = refresh()
    assert "Rate limit reached: 1 repositories left; it resets at 2033-05-18 03:33 UTC." in out
    fetched = set(GitHubRepo.objects.filter(fetched_at__isnull=False).values_list("key", flat=True))
    assert len(fetched) == 2
    api.remaining = 60
    api.hits.clear()
    out = refresh()
    assert "Done; 0 repositories due." in out
    assert sum(api.hits.values()) == 1  # only the one not reached before


def test_a_rate_limit_resetting_soon_is_waited_for(api, entries, monkeypatch):
    import catalog.linkhealth.github as github

    slept = []

    def fake_sleep(seconds):
        slept.append(seconds)
        api.remaining = 60

    monkeypatch.setattr(github.time, "sleep", fake_sleep)
    api.remaining = 1
    api.reset_at = int(datetime.now(UTC).timestamp()) + 5
    out = refresh("--max-wait", "60")
    assert slept and slept[0] <= 6
    assert "Done; 0 repositories due." in out


def test_a_renamed_repository_changes_the_url_only_through_a_curator(api, entries, make):
    refresh()
    repo = GitHubRepo.objects.get(key="old/name")
    assert repo.moved_to == "fresh/name"
    assert repo.stars == 120
    entry = Entry.objects.get(pk=entries["renamed"].pk)
    assert entry.url == "https://github.com/old/name/blob/main/README.md"
    github_apply_rename(entry=entry, user=None)
    entry.refresh_from_db()
    assert entry.url == "https://github.com/fresh/name/blob/main/README.md"
    assert entry.github_repo.key == "fresh/name"
    with pytest.raises(ValidationError) as raised:
        github_apply_rename(entry=Entry.objects.get(pk=entries["istio"].pk), user=None)
    assert raised.value.code == "no_rename"


def test_an_unknown_repository_is_marked_missing(api, make):
    make.entry(url="https://github.com/nobody/nothing")
    refresh()
    assert GitHubRepo.objects.get(key="nobody/nothing").missing is True


def test_the_token_is_sent_when_set(api, entries, settings):
    settings.GITHUB_TOKEN = "test-token"
    refresh("--limit", "1")
    assert api.authorizations == {"Bearer test-token"}


def test_suggestions_and_accepting_one(api, entries):
    refresh()
    old = Entry.objects.select_related("github_repo").get(pk=entries["old"].pk)
    found = {s.field: s for s in entry_suggestions(old)}
    assert found["maturity"].value == "legacy"
    assert found["maturity"].reason == "archived on GitHub"
    change = github_accept_suggestion(entry=old, field="maturity", user=None)
    assert change.changes == {"maturity": ("emerging", "legacy")}
    assert list(old.labels.values_list("slug", flat=True)) == ["legacy"]
    assert "maturity" not in {s.field for s in entry_suggestions(old)}
    with pytest.raises(ValidationError) as raised:
        github_accept_suggestion(entry=old, field="maturity", user=None)
    assert raised.value.code == "no_suggestion"


def test_star_suggestion_only_when_far_from_the_curated_count(api, entries):
    refresh()
    istio = Entry.objects.select_related("github_repo").get(pk=entries["istio"].pk)
    stars = [s for s in entry_suggestions(istio) if s.field == "github_stars"]
    assert [(s.value, s.current) for s in stars] == [(38217, 35000)]
    istio.github_stars = 38000
    assert not [s for s in suggestions(istio, istio.github_repo, set()) if s.field == "github_stars"]


@pytest.mark.parametrize(("args", "message"), [(["--limit", "0"], "--limit"), (["--max-wait", "-1"], "--max-wait")])
def test_bad_options_are_refused(api, entries, args, message):
    with pytest.raises(CommandError, match=message):
        refresh(*args)
    assert GitHubRepo.objects.count() == 0
