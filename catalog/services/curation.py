"""Bulk curation of entries: one service for every bulk action of the entry list.

`entries_bulk_edit(entries=..., operation=..., actor=..., **params)` runs one
operation over many entries in one transaction, recorded in the history (one
Change per entry that changed). Any refusal (a second label of a single-choice
group, a rating out of range) raises a ValidationError naming the entries, and
nothing is written. `entries_bulk_preview()` runs the very same operation and
rolls it back, so the confirmation page shows exactly what applying will do.

Operations and their parameters:

    add_labels(labels)            remove_labels(labels)
    set_choice(group, label)      the single-choice group's label, or none (label=None)
    set_featured(featured)        set_rating(rating)   (None clears it)
    place(section)                unplace(section)     move(source, target)
"""

from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Entry, Placement, TaggedEntry
from . import history
from .labels import validate_label_set


class BulkResult(NamedTuple):
    selected: int
    changes: list  # the Change rows, one per entry that changed

    @property
    def changed(self):
        return len(self.changes)

    @property
    def unchanged(self):
        return self.selected - self.changed


def _ids(entries):
    return list(dict.fromkeys(getattr(e, "pk", e) for e in entries))


def _labels_of(ids):
    found = {pk: [] for pk in ids}
    for tagged in TaggedEntry.objects.filter(content_object_id__in=ids).select_related("tag__group"):
        found[tagged.content_object_id].append(tagged.tag)
    return found


def _check_label_sets(label_sets, titles):
    refused = []
    for pk, labels in label_sets.items():
        try:
            validate_label_set(labels)
        except ValidationError as exc:
            refused.append(f"“{titles[pk]}”: {' '.join(exc.messages)}")
    if refused:
        shown = "; ".join(refused[:10]) + (f"; and {len(refused) - 10} more" if len(refused) > 10 else "")
        raise ValidationError(f"Nothing was changed. {shown}", code="single_choice")


def _add_labels(ids, *, labels):
    current = _labels_of(ids)
    titles = dict(Entry.objects.filter(pk__in=ids).values_list("pk", "title"))
    _check_label_sets({pk: [*have, *(lb for lb in labels if lb not in have)] for pk, have in current.items()}, titles)
    TaggedEntry.objects.bulk_create(
        [TaggedEntry(content_object_id=pk, tag=lb) for pk, have in current.items() for lb in labels if lb not in have],
        batch_size=history.CHUNK,
    )


def _remove_labels(ids, *, labels):
    TaggedEntry.objects.filter(content_object_id__in=ids, tag__in=labels).delete()


def _set_choice(ids, *, group, label=None):
    if not group.single_choice:
        raise ValidationError(f"{group.name} is not a single-choice group.", code="not_single_choice")
    if label is not None and label.group_id != group.pk:
        raise ValidationError(f"{label.name} is not a {group.name} label.", code="wrong_group")
    TaggedEntry.objects.filter(content_object_id__in=ids, tag__group=group).exclude(tag=label).delete()
    if label is not None:
        have = set(
            TaggedEntry.objects.filter(content_object_id__in=ids, tag=label).values_list("content_object_id", flat=True)
        )
        TaggedEntry.objects.bulk_create(
            [TaggedEntry(content_object_id=pk, tag=label) for pk in ids if pk not in have], batch_size=history.CHUNK
        )


def _update(ids, **values):
    probe = Entry(title="x", url="https://example.org", **values)
    probe.full_clean(exclude=[f.name for f in Entry._meta.fields if f.name not in values])
    Entry.objects.filter(pk__in=ids).exclude(**values).update(**values, updated_at=timezone.now())


def _set_featured(ids, *, featured):
    _update(ids, featured=bool(featured))


def _set_rating(ids, *, rating=None):
    _update(ids, rating=rating)


def _place(ids, *, section):
    have = set(Placement.objects.filter(section=section, entry_id__in=ids).values_list("entry_id", flat=True))
    Placement.objects.bulk_create(
        [Placement(section=section, entry_id=pk) for pk in ids if pk not in have], batch_size=history.CHUNK
    )


def _unplace(ids, *, section):
    Placement.objects.filter(section=section, entry_id__in=ids).delete()


def _move(ids, *, source, target):
    if source == target:
        raise ValidationError("Choose two different sections.", code="same_section")
    moving = list(Placement.objects.filter(section=source, entry_id__in=ids).values_list("entry_id", flat=True))
    _unplace(moving, section=source)
    _place(moving, section=target)


OPERATIONS = {
    "add_labels": _add_labels,
    "remove_labels": _remove_labels,
    "set_choice": _set_choice,
    "set_featured": _set_featured,
    "set_rating": _set_rating,
    "place": _place,
    "unplace": _unplace,
    "move": _move,
}


def entries_bulk_edit(*, entries, operation, actor, **params):
    """Apply one bulk operation to `entries` (Entry objects, ids or a queryset), atomically,
    recorded in the history; returns a BulkResult."""
    if operation not in OPERATIONS:
        raise ValidationError(f"Unknown bulk operation {operation!r}.", code="unknown_operation")
    ids = _ids(entries)
    with transaction.atomic(), history.track(actor=actor, entries=ids) as tracked:
        OPERATIONS[operation](ids, **params)
    return BulkResult(len(ids), tracked.changes)


def entries_bulk_preview(*, entries, operation, actor, **params):
    """What `entries_bulk_edit` would do, as its BulkResult (Changes not saved): it runs
    and is rolled back. Raises the same ValidationErrors."""
    with transaction.atomic():
        result = entries_bulk_edit(entries=entries, operation=operation, actor=actor, **params)
        transaction.set_rollback(True)
    return result
