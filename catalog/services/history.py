"""History of entries: every change of an entry's fields, labels and placements,
with the old and new values, who or what made it, and when; and reverting one.

Any service that writes entries records what it did in three steps, inside its
own transaction:

    from catalog.services import history

    actor = history.Actor.person(request.user, source=Change.Source.BULK, note="Set rating 4")
    # or history.Actor.job("check_links", "--all", note="link health")   (no user)
    with history.track(actor=actor, entries=[entry.pk, ...]) as tracked:
        ...write...                      # any ORM writes, bulk ones included
        tracked.add(new_entry.pk)        # entries created inside the block
    # on leaving the block: one Change row per entry whose values differ

`track()` snapshots the entries before and after (three queries per 500
entries: fields, labels, placements) and stores only the differences, so it
costs the same whatever wrote the rows, and nothing for an entry left as it
was. Where the caller already holds the snapshots, `record()` stores them.
`revert()` undoes one change with a new change.

Snapshot values: the fields in FIELDS as stored; `labels` a sorted list of
label names; `placements` a sorted list of section ids (shown as their paths by
`describe()`).
"""

from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import Change, Entry, Label, Placement, Section, TaggedEntry

FIELDS = (
    "title", "url", "year", "description", "github_stars", "language", "rating", "featured", "published", "logo_id"
)  # fmt: skip
SETS = ("labels", "placements")
CHUNK = 500


@dataclass(frozen=True)
class Actor:
    """Who or what makes a change: a user, or a command with its arguments (jobs)."""

    source: str
    user: object = None
    command: str = ""
    note: str = ""

    @classmethod
    def person(cls, user, *, source=Change.Source.ADMIN, note=""):
        return cls(source=source, user=user if getattr(user, "pk", None) else None, note=note)

    @classmethod
    def job(cls, command, *args, source=Change.Source.JOB, note=""):
        """A command or job, e.g. `Actor.job("import_markdown", "v1/*.md", "--edition", "v1")`."""
        return cls(source=source, command=" ".join(str(part) for part in (command, *args))[:1000], note=note[:500])


def _chunks(items, size=CHUNK):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def snapshots(entry_ids):
    """{entry id: {field: value, "labels": [...], "placements": [...]}} for the entries that exist."""
    found = {}
    for ids in _chunks(list(dict.fromkeys(entry_ids))):
        for row in Entry.objects.filter(pk__in=ids).values("pk", *FIELDS):
            found[row.pop("pk")] = {**row, "labels": [], "placements": []}
        for entry_id, name in TaggedEntry.objects.filter(content_object_id__in=ids).values_list(
            "content_object_id", "tag__name"
        ):
            found[entry_id]["labels"].append(name)
        for entry_id, section_id in Placement.objects.filter(entry_id__in=ids).values_list("entry_id", "section_id"):
            found[entry_id]["placements"].append(section_id)
    for snapshot in found.values():
        snapshot["labels"].sort()
        snapshot["placements"].sort()
    return found


def diff(old, new):
    """{field: [old, new]} for each value that differs; a missing side counts as blank."""
    old, new = old or {}, new or {}
    changed = {}
    for name in (*FIELDS, *SETS):
        if name in old or name in new:
            before, after = old.get(name), new.get(name)
            if name in SETS:
                before, after = before or [], after or []
            if before != after:
                changed[name] = [before, after]
    return changed


def record(*, actor, before, after, at=None):
    """Store one Change per entry whose snapshot differs between `before` and `after`
    ({entry id: snapshot or None}); returns the Changes (one bulk insert)."""
    at = at or timezone.now()
    rows = []
    for entry_id in dict.fromkeys([*before, *after]):
        old, new = before.get(entry_id), after.get(entry_id)
        values = diff(old, new)
        if not values:
            continue
        action = Change.Action.CREATED if old is None else Change.Action.DELETED if new is None else None
        shown = new or old
        rows.append(
            Change(
                entry_id=entry_id if new is not None else None,
                entry_title=(shown.get("title") or "")[:500],
                entry_url=(shown.get("url") or "")[:2000],
                action=action or Change.Action.CHANGED,
                values=values,
                at=at,
                source=actor.source,
                user=actor.user,
                command=actor.command,
                note=actor.note,
            )
        )
    return Change.objects.bulk_create(rows, batch_size=CHUNK)


class Tracked:
    """The entries a `track()` block watches; `add()` those it creates."""

    def __init__(self, entry_ids):
        self.ids = list(dict.fromkeys(entry_ids))
        self.before = snapshots(self.ids)
        self.changes = []

    def add(self, *entry_ids):
        self.ids.extend(pk for pk in entry_ids if pk not in self.before)


@contextmanager
def track(*, actor, entries=()):
    """Record the changes made inside the block to `entries` (ids or Entry objects)
    and to those passed to `Tracked.add()`. Runs in a transaction."""
    with transaction.atomic():
        tracked = Tracked(getattr(e, "pk", e) for e in entries)
        yield tracked
        tracked.changes = record(actor=actor, before=tracked.before, after=snapshots(tracked.ids))


def describe(changes):
    """Readable rows for a list of Changes: [(change, [(field, old items, new items)])], each
    side a list of texts (one for a field, one per label or placement; placements shown
    as their section paths, with one lookup for all the changes)."""
    section_ids = {pk for change in changes for side in change.values.get("placements", ([], [])) for pk in side or ()}
    paths = Section.objects.filter(pk__in=section_ids).paths() if section_ids else {}

    def items(name, value):
        if name == "placements":
            return [paths.get(pk, f"section #{pk} (deleted)") for pk in value or ()] or ["—"]
        if name == "labels":
            return list(value or ()) or ["—"]
        return ["—" if value is None or value == "" else str(value)]

    return [
        (change, [(name, items(name, old), items(name, new)) for name, (old, new) in change.values.items()])
        for change in changes
    ]


def revert(*, change, actor):
    """Undo `change` with a new change (source "revert") that puts back its old values.

    Fields get their old value; labels and placements the change added are
    removed and those it removed come back, leaving later additions alone.
    Refused (ValidationError) for a creation or a deletion, and when a value
    can no longer be restored (a deleted section, a label that is gone).
    """
    if change.entry_id is None or change.action != Change.Action.CHANGED:
        raise ValidationError(
            "Only a change of an existing entry can be reverted (not its creation or deletion).",
            code="cannot_revert",
        )
    from .labels import validate_label_set  # labels imports history

    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=change.entry_id)
        with track(actor=actor, entries=[entry.pk]) as tracked:
            fields = {name: old for name, (old, _) in change.values.items() if name in FIELDS}
            for name, old in fields.items():
                setattr(entry, name, old)
            entry.full_clean()
            entry.save()
            if "labels" in change.values:
                old, new = (set(side or ()) for side in change.values["labels"])
                names = (set(tracked.before[entry.pk]["labels"]) - (new - old)) | (old - new)
                labels = list(Label.objects.filter(name__in=names).select_related("group"))
                if missing := names - {label.name for label in labels}:
                    raise ValidationError(
                        f"The labels {', '.join(sorted(missing))} no longer exist.", code="label_gone"
                    )
                validate_label_set(labels)
                entry.labels.set(labels)
            if "placements" in change.values:
                old, new = (set(side or ()) for side in change.values["placements"])
                Placement.objects.filter(entry=entry, section_id__in=new - old).delete()
                restore = old - new - set(tracked.before[entry.pk]["placements"])
                sections = set(Section.objects.filter(pk__in=restore).values_list("pk", flat=True))
                if restore - sections:
                    raise ValidationError("A section it was placed in no longer exists.", code="section_gone")
                for section_id in sorted(sections):
                    placement = Placement(entry=entry, section_id=section_id)
                    placement.full_clean()
                    placement.save()
        for new_change in tracked.changes:
            new_change.reverts = change
            new_change.save(update_fields=["reverts"])
    return tracked.changes[0] if tracked.changes else None
