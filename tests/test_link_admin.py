"""Curators fix links in one click from the entry changelist; each fix is in the entry's history."""

from datetime import UTC, datetime

import pytest

from catalog.linkhealth.checker import Outcome
from catalog.models import Change, Entry
from catalog.services.linkhealth import record_checks

CHANGELIST = "/admin/catalog/entry/"


@pytest.fixture
def curator(client, make):
    client.force_login(make.staff("curator", username="carol"))
    return client


def checked(entry, result, final_url=None):
    record_checks(
        outcomes=[
            (
                entry.pk,
                Outcome(
                    url=entry.url,
                    checked_at=datetime(2026, 1, 1, tzinfo=UTC),
                    result=result,
                    final_url=final_url or entry.url,
                    status_code=200 if result != "failed" else 404,
                ),
            )
        ]
    )
    entry.refresh_from_db()
    return entry


def act(client, action, *entries):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [e.pk for e in entries]}, follow=True
    ).content.decode()


def test_apply_redirect_from_the_changelist_records_old_and_new_url(curator, make):
    entry = checked(make.entry(url="https://example.org/old"), "redirected", "https://example.org/new")
    html = act(curator, "apply_redirect", entry)
    assert "Moved 1 entry to their redirect target." in html
    entry.refresh_from_db()
    assert entry.url == "https://example.org/new"
    change = Change.objects.get(entry=entry)
    assert change.values == {"url": ["https://example.org/old", "https://example.org/new"]}
    assert (change.source, change.note, change.user.username) == (
        "bulk",
        "Link: applied the permanent redirect",
        "carol",
    )


def test_bulk_archived_copy_and_the_skipped_ones_are_named(curator, make):
    dead = checked(make.entry(url="https://gone.example.org/a", title="Gone A"), "failed")
    archived = make.entry(url="https://web.archive.org/web/https://x.example.org/", title="Already archived")
    html = act(curator, "use_archived_copy", dead, archived)
    assert "Replaced 1 entry with an archived copy." in html
    assert "“Already archived”: This entry already links to an archived copy." in html
    assert Entry.objects.get(pk=dead.pk).url == "https://web.archive.org/web/https://gone.example.org/a"
    assert Change.objects.get(entry=dead).values["url"][1] == "https://web.archive.org/web/https://gone.example.org/a"
    assert not Change.objects.filter(entry=archived).exists()


def test_checked_by_hand_and_unpublish(curator, make):
    flaky = checked(make.entry(), "failed")
    other = make.entry()
    act(curator, "mark_checked_by_hand", flaky)
    act(curator, "unpublish", other)
    assert Entry.objects.get(pk=flaky.pk).link_state == "ok"
    assert Entry.objects.get(pk=other.pk).published is False
    assert Change.objects.get(entry=other).values == {"published": [True, False]}


def test_changelist_filters_by_link_state(curator, make):
    checked(make.entry(title="Broken one"), "failed")
    make.entry(title="Never checked")
    html = curator.get(CHANGELIST, {"link_state__exact": "broken"}).content.decode()
    assert "Broken one" in html and "Never checked" not in html


def test_the_entry_page_shows_link_health_and_history(curator, make):
    entry = checked(make.entry(url="https://example.org/old"), "redirected", "https://example.org/new")
    html = curator.get(f"{CHANGELIST}{entry.pk}/change/").content.decode()
    assert "Moved (permanent redirect); last checked 2026-01-01 00:00 UTC" in html
    assert 'moved to <a href="https://example.org/new">' in html
    assert "link checks (history)" in html.lower()


def test_a_moderator_cannot_run_link_actions(client, make):
    entry = checked(make.entry(url="https://example.org/old"), "redirected", "https://example.org/new")
    client.force_login(make.staff("moderator"))
    act(client, "apply_redirect", entry)
    assert Entry.objects.get(pk=entry.pk).url == "https://example.org/old"


@pytest.fixture
def github_entry(make):
    from catalog.models import GitHubRepo, LabelGroup

    maturity, _ = LabelGroup.objects.get_or_create(slug="maturity", defaults={"name": "Maturity tier"})
    emerging = make.label(name="EMERGING", slug="emerging", group=maturity)
    make.label(name="LEGACY", slug="legacy", group=maturity)
    repo = GitHubRepo.objects.create(
        key="old/thing", owner="old", name="thing", stars=900, archived=True, fetched_at=datetime.now(UTC),
        moved_to="new-owner/thing",
    )  # fmt: skip
    entry = make.entry(url="https://github.com/old/thing", labels=[emerging])
    Entry.objects.filter(pk=entry.pk).update(github_repo=repo)
    return entry


def test_the_entry_page_shows_github_figures_and_accepts_a_suggestion(curator, github_entry):
    page = f"{CHANGELIST}{github_entry.pk}/change/"
    html = curator.get(page).content.decode()
    assert "old/thing: ★ 900" in html and "archived" in html and "renamed to new-owner/thing" in html
    assert "maturity: legacy (now: emerging; archived on GitHub)" in html
    assert 'name="_github_accept" value="maturity"' in html
    response = curator.post(page, {"_github_accept": "maturity"}, follow=True)
    assert "Accepted: GitHub: accepted a suggestion: maturity: emerging → legacy" in response.content.decode()
    assert list(github_entry.labels.values_list("slug", flat=True)) == ["legacy"]
    change = Change.objects.get(entry=github_entry)
    assert (change.values, change.source) == ({"labels": [["EMERGING"], ["LEGACY"]]}, "admin")


def test_a_stale_suggestion_is_refused_with_a_message(curator, github_entry):
    page = f"{CHANGELIST}{github_entry.pk}/change/"
    response = curator.post(page, {"_github_accept": "language"}, follow=True)
    assert "There is no such suggestion for this entry any more." in response.content.decode()
    assert Entry.objects.get(pk=github_entry.pk).language == ""


def test_bulk_rename_and_maturity_from_github(curator, github_entry, make):
    other = make.entry(url="https://example.org/not-github", title="Not on GitHub")
    html = act(curator, "apply_github_rename", github_entry, other)
    assert (
        "Moved 1 entry to the repository&#x27;s new name." in html
        or "Moved 1 entry to the repository's new name." in html
    )
    assert "“Not on GitHub”: GitHub has not reported a new name for this repository." in html
    assert Entry.objects.get(pk=github_entry.pk).url == "https://github.com/new-owner/thing"


def test_the_dashboard_counts_link_problems_and_links_to_them(curator, make):
    dead = make.entry(title="Dead one")
    moved = make.entry(title="Moved one")
    Entry.objects.filter(pk=dead.pk).update(link_state="dead")
    Entry.objects.filter(pk=moved.pk).update(link_state="redirected")
    html = curator.get("/admin/dashboard/").content.decode()
    assert '<a href="/admin/catalog/entry/?gap=link_dead">1</a>' in html
    assert '<a href="/admin/catalog/entry/?gap=link_redirected">1</a>' in html
    listed = curator.get("/admin/catalog/entry/", {"gap": "link_dead"}).content.decode()
    assert "Dead one" in listed and "Moved one" not in listed
