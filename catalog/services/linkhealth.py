"""Link health writes: storing checks, and the curators' one-click fixes.

`record_checks` stores a batch of checker outcomes (every check is kept) and
moves each entry's `link_state`. The curator actions change an entry only
when asked, one entry or many in one transaction; each is recorded in the
entries' history (`catalog.services.history`, old and new values, who, which
action) and returns what changed (`LinkChange`) for the admin's message.
"""

import functools
from collections import defaultdict
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..linkhealth.states import DeadPolicy, apply_check
from ..linkhealth.wayback import archived_copy_url, is_archived_copy
from ..models import Change, Entry, LinkCheck, LinkHealth, LinkState
from . import history


class LinkChange(NamedTuple):
    """One curator action on one entry: what it did and each field's old and new value."""

    entry: Entry
    action: str
    changes: dict  # field -> (old, new)


class BulkResult(NamedTuple):
    done: list  # [LinkChange]
    skipped: list  # [(entry, reason)]


def _truncate(value, size):
    return (value or "")[:size]


@transaction.atomic
def record_checks(*, outcomes, run=None, policy=None):
    """Store checker outcomes [(entry_id, Outcome)] and move each entry's link state.

    Every check is stored. An entry deleted meanwhile is skipped; an entry
    whose URL changed since the check was queued keeps the check in its
    history but not its verdict. Returns [(entry_id, old_state, new_state)]
    for the entries whose state changed.
    """
    policy = policy or DeadPolicy.from_settings()
    ids = [entry_id for entry_id, _ in outcomes]
    entries = Entry.objects.only("id", "url", "link_state").in_bulk(ids)
    healths = LinkHealth.objects.in_bulk(ids)
    checks, new_healths, changed_healths, moves = [], [], [], []
    new_state_ids = defaultdict(list)
    for entry_id, outcome in outcomes:
        entry = entries.get(entry_id)
        if entry is None:
            continue
        check = LinkCheck(
            entry_id=entry_id,
            run=run,
            url=_truncate(outcome.url, 2000),
            checked_at=outcome.checked_at,
            result=outcome.result,
            status_code=outcome.status_code if outcome.status_code and outcome.status_code < 1000 else None,
            final_url=_truncate(outcome.final_url, 2000),
            redirects=min(outcome.redirects, 100),
            elapsed_ms=max(0, outcome.elapsed_ms),
            error=_truncate(outcome.error, 40),
            detail=_truncate(outcome.detail, 300),
        )
        check.full_clean(exclude=["entry", "run", "url", "final_url"], validate_unique=False)
        checks.append(check)
        if outcome.url != entry.url:
            continue
        health = healths.get(entry_id)
        if health is None:
            health = healths[entry_id] = LinkHealth(entry_id=entry_id)
            new_healths.append(health)
        elif health not in changed_healths:
            changed_healths.append(health)
        state = apply_check(health, check, entry_url=entry.url, state=entry.link_state, policy=policy)
        if state != entry.link_state:
            health.state_since = check.checked_at
            moves.append((entry_id, entry.link_state, state))
            new_state_ids[state].append(entry_id)
            entry.link_state = state
    LinkCheck.objects.bulk_create(checks, batch_size=500)
    LinkHealth.objects.bulk_create(new_healths, batch_size=500)
    LinkHealth.objects.bulk_update(
        changed_healths,
        [
            "url",
            "last_checked_at",
            "last_result",
            "last_status_code",
            "last_error",
            "detail",
            "failures_in_row",
            "failing_since",
            "redirect_target",
            "state_since",
        ],
        batch_size=500,
    )
    # Only entries whose state moved are written: each write changes the catalog version.
    for state, entry_ids in new_state_ids.items():
        Entry.objects.filter(pk__in=entry_ids).update(link_state=state)
    return moves


def _health(entry):
    health, _ = LinkHealth.objects.get_or_create(entry=entry)
    return health


def _set_url(entry, url):
    old = entry.url
    entry.url = url
    try:
        entry.full_clean()
    except ValidationError as exc:
        entry.url = old
        if "url" in exc.message_dict and Entry.objects.filter(url=url).exclude(pk=entry.pk).exists():
            raise ValidationError(
                {"url": ValidationError(f"Another entry already has the URL {url}.", code="duplicate_url")}
            ) from exc
        raise
    return old


def _locked(entry):
    return Entry.objects.select_for_update().get(pk=entry.pk)


NOTES = {
    "apply_redirect": "Link: applied the permanent redirect",
    "archived_copy": "Link: replaced with the archived copy",
    "checked_by_hand": "Link: checked by hand, fine",
    "unpublish": "Unpublished",
}


def actor_for(user, action, source=Change.Source.ADMIN):
    """Who made a curator action, for the history: the user, the admin path, and the action's name."""
    return history.Actor.person(user, source=source, note=NOTES.get(action, action.replace("_", " ")))


def recorded(action):
    """A curator action on one entry, run in one transaction and recorded in the entry's history.

    The wrapped service takes `entry` and `user`, plus `source` (admin form or
    bulk action) for the history record.
    """

    def wrap(service):
        @functools.wraps(service)
        def run(*, entry, user, source=Change.Source.ADMIN, **kwargs):
            with transaction.atomic(), history.track(actor=actor_for(user, action, source), entries=[entry.pk]):
                return service(entry=entry, user=user, **kwargs)

        return run

    return wrap


@recorded("apply_redirect")
def link_apply_redirect(*, entry, user):
    """Make the permanent redirect's target the entry's URL (the chain ended in a good answer)."""
    entry = _locked(entry)
    health = _health(entry)
    if not health.redirect_target:
        raise ValidationError("This entry's link has no permanent redirect to apply.", code="no_redirect")
    target, old_state = health.redirect_target, entry.link_state
    old_url = _set_url(entry, target)
    entry.link_state = LinkState.OK
    entry.save()
    health.redirect_target = ""
    health.state_since = timezone.now()
    health.save()
    return LinkChange(entry, "apply_redirect", {"url": (old_url, target), "link_state": (old_state, entry.link_state)})


@recorded("archived_copy")
def link_use_archived_copy(*, entry, user):
    """Replace the entry's URL by its archived copy on the Wayback Machine; it is checked again next run."""
    entry = _locked(entry)
    if is_archived_copy(entry.url):
        raise ValidationError("This entry already links to an archived copy.", code="already_archived")
    old_state = entry.link_state
    new_url = archived_copy_url(entry.url)
    old_url = _set_url(entry, new_url)
    entry.link_state = LinkState.UNCHECKED
    entry.save()
    health = _health(entry)
    health.failures_in_row, health.failing_since, health.redirect_target = 0, None, ""
    health.state_since = timezone.now()
    health.save()
    return LinkChange(entry, "archived_copy", {"url": (old_url, new_url), "link_state": (old_state, entry.link_state)})


@recorded("checked_by_hand")
def link_mark_fine(*, entry, user):
    """A curator checked the link by hand: ok until the URL changes, whatever the checker says."""
    entry = _locked(entry)
    health = _health(entry)
    old_state = entry.link_state
    health.hand_checked_url, health.hand_checked_by, health.hand_checked_at = entry.url, user, timezone.now()
    health.failures_in_row, health.failing_since = 0, None
    health.state_since = timezone.now()
    health.full_clean(exclude=["entry"])
    health.save()
    entry.link_state = LinkState.OK
    entry.save(update_fields=["link_state", "updated_at"])
    return LinkChange(entry, "checked_by_hand", {"link_state": (old_state, LinkState.OK)})


@recorded("unpublish")
def entry_unpublish(*, entry, user):
    """Hide the entry from readers; it stays in the admin and can be published again."""
    entry = _locked(entry)
    if not entry.published:
        raise ValidationError("This entry is already unpublished.", code="already_unpublished")
    entry.published = False
    entry.save(update_fields=["published", "updated_at"])
    return LinkChange(entry, "unpublish", {"published": (True, False)})


ACTIONS = {
    "apply_redirect": link_apply_redirect,
    "archived_copy": link_use_archived_copy,
    "checked_by_hand": link_mark_fine,
    "unpublish": entry_unpublish,
}


def link_action_bulk(*, action, entries, user):
    """Run one curator action on many entries in one transaction.

    Entries the action does not apply to (no redirect, already archived, a
    URL another entry has) are skipped with the reason; the others change.
    """
    service = ACTIONS[action]
    done, skipped = [], []
    with transaction.atomic():
        for entry in entries:
            try:
                with transaction.atomic():
                    done.append(service(entry=entry, user=user, source=Change.Source.BULK))
            except ValidationError as exc:
                skipped.append((entry, " ".join(exc.messages)))
    return BulkResult(done, skipped)
