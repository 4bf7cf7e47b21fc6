"""Reader submissions: create one, then approve it into the catalog or reject it.

Emails go out after the transaction commits (`transaction.on_commit`, robust:
a mail server that fails is logged and never undoes a decision).
"""

import secrets
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import notifications
from ..duplicates import catalog_entries_for, pending_submission_for
from ..models import Change, Entry, Placement, Submission
from ..urlnorm import InvalidURL, split_url, strip_tracking
from . import history
from .labels import validate_label_set

MAX_LABELS = 8
MODERATE_PERMISSION = "catalog.change_submission"

ALREADY_PENDING = "This link has already been suggested and is waiting for review."


class Approval(NamedTuple):
    submission: Submission
    entry: Entry
    placement: Placement
    entry_created: bool
    placement_created: bool


def _normalized(url):
    try:
        return split_url(url)
    except InvalidURL as exc:
        raise ValidationError(
            {"url": ValidationError("Enter an http:// or https:// URL.", code="invalid_url")}
        ) from exc


def _check_not_known(normalized):
    if catalog_entries_for(normalized):
        raise ValidationError({"url": ValidationError("This link is already in the catalog.", code="in_catalog")})
    if pending_submission_for(normalized.key):
        raise ValidationError({"url": ValidationError(ALREADY_PENDING, code="already_pending")})


def submission_create(
    *,
    url,
    title,
    topic=None,
    section=None,
    labels=(),
    description="",
    reason="",
    submitter_name="",
    submitter_email="",
):
    """Store a reader's suggestion as pending and tell the moderators.

    Refuses (ValidationError, code `in_catalog` or `already_pending`) a link
    that the catalog or the queue already holds under any spelling.
    """
    normalized = _normalized(url)
    labels = list(labels)
    if len(labels) > MAX_LABELS:
        raise ValidationError(
            {"labels": ValidationError(f"Choose at most {MAX_LABELS} labels.", code="too_many_labels")}
        )
    if section is not None and topic is None:
        topic = section.topic
    with transaction.atomic():
        _check_not_known(normalized)
        submission = Submission(
            url=strip_tracking(url),
            url_key=normalized.key,
            title=title.strip(),
            topic=topic,
            section=section,
            description=description.strip(),
            reason=reason.strip(),
            submitter_name=submitter_name.strip(),
            submitter_email=submitter_email.strip(),
            token=secrets.token_urlsafe(32),
        )
        submission.full_clean()
        try:
            with transaction.atomic():
                submission.save()
        except IntegrityError as exc:
            # Another request stored the same link since the check above.
            raise ValidationError({"url": ValidationError(ALREADY_PENDING, code="already_pending")}) from exc
        submission.labels.set(labels)
        transaction.on_commit(lambda: notifications.new_submission(submission), robust=True)
    return submission


def _lock_pending(submission, moderator):
    if moderator is None or not moderator.has_perm(MODERATE_PERMISSION):
        raise PermissionDenied("Only moderators decide on submissions.")
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.status != Submission.Status.PENDING:
        raise ValidationError(f"This submission was already {locked.get_status_display().lower()}.", code="not_pending")
    return locked


def submission_approve(
    *,
    submission,
    moderator,
    title=None,
    section=None,
    labels=None,
    description=None,
    year=None,
    language=None,
    rating=None,
):
    """Publish a pending submission: its Entry and Placement, in one transaction.

    `title`, `section`, `labels` and `description` override what the reader
    suggested; `year`, `language` and `rating`, when given, are the moderator's
    curation. When the catalog already has the link (under any spelling),
    that entry is reused: its curated title and description stay, the labels
    are added (refused if that would give it two labels of a single-choice
    group), and it gets a placement in the section. Records the moderator and
    the time, the entry's change in the history, and tells the submitter after
    the commit.
    """
    with transaction.atomic():
        locked = _lock_pending(submission, moderator)
        section = section or locked.section
        if section is None:
            raise ValidationError(
                {"section": ValidationError("Choose the section to list the link in.", code="section_required")}
            )
        labels = list(locked.labels.select_related("group")) if labels is None else list(labels)
        existing = catalog_entries_for(_normalized(locked.url))
        entry = existing[0] if existing else None
        curation = {
            name: value
            for name, value in (("year", year), ("language", language), ("rating", rating))
            if value not in (None, "")
        }
        actor = history.Actor.person(moderator, source=Change.Source.APPROVAL, note=f"Submission #{locked.pk}")
        with history.track(actor=actor, entries=[entry] if entry else []) as tracked:
            if entry is None:
                validate_label_set(labels)
                entry = Entry(
                    url=locked.url,
                    title=(title or locked.title).strip(),
                    description=(locked.description if description is None else description).strip(),
                    **curation,
                )
                entry.full_clean()
                entry.save()
                entry.labels.set(labels)
                tracked.add(entry.pk)
            else:
                if labels:
                    validate_label_set({*entry.labels.select_related("group"), *labels})
                    entry.labels.add(*labels)
                if curation:
                    for name, value in curation.items():
                        setattr(entry, name, value)
                    entry.full_clean()
                    entry.save()
            placement = Placement.objects.filter(section=section, entry=entry).first()
            placement_created = placement is None
            if placement_created:
                placement = Placement(section=section, entry=entry)
                placement.full_clean()
                placement.save()
        locked.status = Submission.Status.APPROVED
        locked.entry = entry
        locked.moderator = moderator
        locked.decided_at = timezone.now()
        locked.full_clean()
        locked.save(update_fields=["status", "entry", "moderator", "decided_at"])
        transaction.on_commit(lambda: notifications.decision(locked), robust=True)
    return Approval(locked, entry, placement, not existing, placement_created)


def submission_reject(*, submission, moderator, reason, note=""):
    """Decline a pending submission with a reason the submitter will read.

    `reason` is one of Submission.RejectionReason; `other` needs a note.
    """
    note = note.strip()
    if reason not in Submission.RejectionReason.values:
        raise ValidationError({"rejection_reason": ValidationError("Choose a reason.", code="reason_required")})
    if reason == Submission.RejectionReason.OTHER and not note:
        raise ValidationError(
            {"rejection_note": ValidationError("Explain the reason in a note.", code="note_required")}
        )
    with transaction.atomic():
        locked = _lock_pending(submission, moderator)
        locked.status = Submission.Status.REJECTED
        locked.rejection_reason = reason
        locked.rejection_note = note
        locked.moderator = moderator
        locked.decided_at = timezone.now()
        locked.full_clean()
        locked.save(update_fields=["status", "rejection_reason", "rejection_note", "moderator", "decided_at"])
        transaction.on_commit(lambda: notifications.decision(locked), robust=True)
    return locked
