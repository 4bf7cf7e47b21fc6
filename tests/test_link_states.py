"""Link states from stored checks: transitions, "dead" only after N failures
over D days, recovery, the history kept, and the curator actions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from catalog.linkhealth.checker import Outcome
from catalog.linkhealth.wayback import original_of_archived
from catalog.models import Change, Entry, LinkCheck, LinkHealth
from catalog.services.linkhealth import (
    link_action_bulk,
    link_apply_redirect,
    link_mark_fine,
    link_use_archived_copy,
    record_checks,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def policy(settings):
    settings.LINK_DEAD_AFTER_FAILURES = 3
    settings.LINK_DEAD_AFTER_DAYS = 14


def outcome(entry, result, *, day=0, status=200, final_url=None, error=""):
    return Outcome(
        url=entry.url,
        checked_at=T0 + timedelta(days=day),
        result=result,
        status_code=status,
        final_url=final_url or entry.url,
        error=error,
        redirects=1 if result == "redirected" else 0,
    )


def state_after(entry, *outcomes):
    for item in outcomes:
        record_checks(outcomes=[(entry.pk, item)])
    entry.refresh_from_db()
    return entry.link_state


def fail(entry, day):
    return outcome(entry, "failed", day=day, status=None, error="timeout")


def test_a_new_entry_is_unchecked(make):
    assert make.entry().link_state == "unchecked"


@pytest.mark.parametrize(("result", "state"), [("ok", "ok"), ("suspect", "suspect"), ("redirected", "redirected")])
def test_one_check_sets_the_state(make, result, state):
    entry = make.entry()
    assert state_after(entry, outcome(entry, result, final_url="https://example.org/new")) == state


def test_a_failure_is_broken_not_dead(make):
    entry = make.entry()
    assert state_after(entry, fail(entry, 0)) == "broken"


def test_dead_needs_n_failures_in_a_row(make):
    entry = make.entry()
    # Three failures but within 10 days: still broken; the fourth, 20 days after the first: dead.
    assert state_after(entry, fail(entry, 0), fail(entry, 5), fail(entry, 10)) == "broken"
    assert state_after(entry, fail(entry, 20)) == "dead"


def test_dead_needs_the_days_as_well_as_the_count(make):
    entry = make.entry()
    assert state_after(entry, fail(entry, 0), fail(entry, 30)) == "broken"  # 30 days, two failures
    assert state_after(entry, fail(entry, 31)) == "dead"


def test_one_good_answer_ends_the_streak_and_recovers(make):
    entry = make.entry()
    state_after(entry, fail(entry, 0), fail(entry, 10), fail(entry, 20))
    assert entry.link_state == "dead"
    assert state_after(entry, outcome(entry, "ok", day=21)) == "ok"
    assert state_after(entry, fail(entry, 22), fail(entry, 23), fail(entry, 24)) == "broken"
    assert entry.link_health.failures_in_row == 3


def test_an_inconclusive_check_changes_nothing(make):
    entry = make.entry()
    state_after(entry, fail(entry, 0))
    assert state_after(entry, outcome(entry, "inconclusive", day=1, status=429, error="rate_limited")) == "broken"
    assert LinkHealth.objects.get(entry=entry).failures_in_row == 1


def test_every_check_is_kept_as_history(make):
    entry = make.entry()
    state_after(entry, fail(entry, 0), outcome(entry, "ok", day=1), outcome(entry, "suspect", day=2))
    history = list(entry.link_checks.values_list("result", "error"))
    assert history == [("suspect", ""), ("ok", ""), ("failed", "timeout")]


def test_a_check_of_an_old_url_is_kept_but_does_not_judge_the_new_one(make):
    entry = make.entry(url="https://example.org/old")
    stale = outcome(entry, "failed", status=404)
    Entry.objects.filter(pk=entry.pk).update(url="https://example.org/new")
    assert record_checks(outcomes=[(entry.pk, stale)]) == []
    entry.refresh_from_db()
    assert entry.link_state == "unchecked"
    assert entry.link_checks.count() == 1


def test_apply_redirect_moves_the_url(make):
    entry = make.entry(url="https://example.org/old")
    state_after(entry, outcome(entry, "redirected", final_url="https://example.org/new"))
    change = link_apply_redirect(entry=entry, user=None)
    entry.refresh_from_db()
    assert (entry.url, entry.link_state) == ("https://example.org/new", "ok")
    assert change.changes["url"] == ("https://example.org/old", "https://example.org/new")
    recorded = Change.objects.get(entry=entry)
    assert (recorded.values, recorded.note) == (
        {"url": ["https://example.org/old", "https://example.org/new"]},
        "Link: applied the permanent redirect",
    )


def test_apply_redirect_refuses_without_a_redirect_and_changes_nothing(make):
    entry = make.entry(url="https://example.org/here")
    state_after(entry, outcome(entry, "ok"))
    with pytest.raises(ValidationError) as raised:
        link_apply_redirect(entry=entry, user=None)
    assert raised.value.code == "no_redirect"
    entry.refresh_from_db()
    assert entry.url == "https://example.org/here"
    assert not Change.objects.filter(entry=entry).exists()


def test_apply_redirect_refuses_a_url_another_entry_has(make):
    make.entry(url="https://example.org/new")
    entry = make.entry(url="https://example.org/old")
    state_after(entry, outcome(entry, "redirected", final_url="https://example.org/new"))
    with pytest.raises(ValidationError) as raised:
        link_apply_redirect(entry=entry, user=None)
    assert raised.value.error_dict["url"][0].code == "duplicate_url"
    entry.refresh_from_db()
    assert (entry.url, entry.link_state) == ("https://example.org/old", "redirected")


def test_archived_copy_replaces_the_url_and_the_link_is_checked_again(make):
    entry = make.entry(url="https://gone.example.org/post")
    state_after(entry, fail(entry, 0), fail(entry, 10), fail(entry, 20))
    link_use_archived_copy(entry=entry, user=None)
    entry.refresh_from_db()
    assert entry.url == "https://web.archive.org/web/https://gone.example.org/post"
    assert entry.link_state == "unchecked"
    assert original_of_archived(entry.url) == "https://gone.example.org/post"
    with pytest.raises(ValidationError) as raised:
        link_use_archived_copy(entry=entry, user=None)
    assert raised.value.code == "already_archived"


def test_checked_by_hand_suppresses_failures_until_the_url_changes(make):
    entry = make.entry(url="https://example.org/flaky")
    state_after(entry, fail(entry, 0))
    link_mark_fine(entry=entry, user=None)
    entry.refresh_from_db()
    assert entry.link_state == "ok"
    assert state_after(entry, fail(entry, 1), fail(entry, 30), fail(entry, 60)) == "ok"
    Entry.objects.filter(pk=entry.pk).update(url="https://example.org/elsewhere")
    entry.refresh_from_db()
    assert state_after(entry, fail(entry, 61)) == "broken"


def test_bulk_actions_change_what_applies_and_skip_the_rest(make):
    moved = make.entry(url="https://example.org/a")
    fine = make.entry(url="https://example.org/b")
    state_after(moved, outcome(moved, "redirected", final_url="https://example.org/a2"))
    state_after(fine, outcome(fine, "ok"))
    result = link_action_bulk(action="apply_redirect", entries=[moved, fine], user=None)
    assert [c.entry.pk for c in result.done] == [moved.pk]
    assert [(e.pk, reason) for e, reason in result.skipped] == [
        (fine.pk, "This entry's link has no permanent redirect to apply.")
    ]
    moved.refresh_from_db()
    assert moved.url == "https://example.org/a2"


def test_unpublish_hides_and_refuses_twice(make):
    entry = make.entry()
    result = link_action_bulk(action="unpublish", entries=[entry], user=None)
    assert len(result.done) == 1
    entry.refresh_from_db()
    assert entry.published is False
    again = link_action_bulk(action="unpublish", entries=[entry], user=None)
    assert [reason for _, reason in again.skipped] == ["This entry is already unpublished."]


def test_state_changes_are_returned_for_the_summary(make):
    entry = make.entry()
    assert record_checks(outcomes=[(entry.pk, outcome(entry, "ok"))]) == [(entry.pk, "unchecked", "ok")]
    assert record_checks(outcomes=[(entry.pk, outcome(entry, "ok", day=1))]) == []
    assert LinkCheck.objects.filter(entry=entry).count() == 2
