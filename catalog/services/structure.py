"""Writes of the catalog's structure that change entries: a label renamed, a label,
section, topic or edition deleted. Each runs in one transaction and records, in
the history, every entry it changed (an entry's labels are kept by name, its
placements by section), with who or what made the change.

    label_save(label=label, actor=actor)                 # a rename shows in each entry's labels
    structure_delete(objects=queryset, actor=actor)      # labels, sections, topics, dimensions, editions

The entries a deletion touches are found by Django's own deletion collector,
so whatever cascades (subsections, the placements in them, the labellings) is
followed without a list of its own here.
"""

from django.db import router
from django.db.models.deletion import Collector

from ..models import Entry, Placement, TaggedEntry
from . import history

# For each model whose rows name an entry, the field that does.
ENTRY_OF = {Entry: "pk", Placement: "entry_id", TaggedEntry: "content_object_id"}


def entries_touched_by_delete(objects):
    """Ids of the entries that deleting `objects` (a queryset or a list of one model)
    deletes or changes: those losing a placement or a label, and deleted ones."""
    objects = list(objects)
    if not objects:
        return []
    collector = Collector(using=router.db_for_write(type(objects[0])))
    collector.collect(objects)
    ids = set()
    for model, rows in collector.data.items():
        if model in ENTRY_OF:
            ids.update(getattr(row, ENTRY_OF[model]) for row in rows)
    for queryset in collector.fast_deletes:
        if queryset.model in ENTRY_OF:
            ids.update(queryset.values_list(ENTRY_OF[queryset.model], flat=True))
    return sorted(ids)


def structure_delete(*, objects, actor):
    """Delete `objects` (a queryset or list of labels, label groups, sections, topics,
    dimensions or editions) and record each entry that lost a label or a placement.
    Returns the history's Changes."""
    objects = list(objects)
    with history.track(actor=actor, entries=entries_touched_by_delete(objects)) as tracked:
        for obj in objects:
            obj.delete()
    return tracked.changes


def label_save(*, label, actor):
    """Validate and save `label`; a new name shows in the labels of every entry that has
    it, each recorded in the history. Returns the Changes."""
    entries = TaggedEntry.objects.filter(tag_id=label.pk).values_list("content_object_id", flat=True)
    with history.track(actor=actor, entries=entries if label.pk else []) as tracked:
        label.full_clean()
        label.save()
    return tracked.changes
