"""Curators fix links in one click from the entry changelist; each fix is in the entry's history."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import LogEntry

from catalog.linkhealth.checker import Outcome
from catalog.models import Entry
from catalog.services.linkhealth import record_checks

CHANGELIST = "/admin/catalog/entry/"


@pytest.fixture
def curator(client, make):
    client.force_login(make.staff("curator"))
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
    log = LogEntry.objects.get(object_id=str(entry.pk))
    assert log.change_message == (
        "Link health (apply redirect): url: https://example.org/old → https://example.org/new; "
        "link_state: redirected → ok"
    )


def test_bulk_archived_copy_and_the_skipped_ones_are_named(curator, make):
    dead = checked(make.entry(url="https://gone.example.org/a", title="Gone A"), "failed")
    archived = make.entry(url="https://web.archive.org/web/https://x.example.org/", title="Already archived")
    html = act(curator, "use_archived_copy", dead, archived)
    assert "Replaced 1 entry with an archived copy." in html
    assert "“Already archived”: This entry already links to an archived copy." in html
    assert Entry.objects.get(pk=dead.pk).url == "https://web.archive.org/web/https://gone.example.org/a"


def test_checked_by_hand_and_unpublish(curator, make):
    flaky = checked(make.entry(), "failed")
    other = make.entry()
    act(curator, "mark_checked_by_hand", flaky)
    act(curator, "unpublish", other)
    assert Entry.objects.get(pk=flaky.pk).link_state == "ok"
    assert Entry.objects.get(pk=other.pk).published is False


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
