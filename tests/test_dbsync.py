"""The search index and data version, kept by database triggers, come back after a migrate."""

from django.core.management.sql import emit_post_migrate_signal
from django.db import connection

from catalog import search
from catalog.facet_index import current_version


def test_triggers_are_put_back_after_migrate(make):
    # SQLite drops a table's triggers when a migration rebuilds the table.
    drop = (
        "DROP TRIGGER catalog_entry_fts_insert"
        if connection.vendor == "sqlite"
        else "DROP TRIGGER catalog_entry_document ON catalog_entry"
    )
    with connection.cursor() as cursor:
        cursor.execute(drop)
    entry = make.entry(title="Linkerd viz dashboard", url="https://linkerd.io/viz")
    assert search.matching_ids("linkerd") == []

    emit_post_migrate_signal(0, False, "default")  # what every `manage.py migrate` ends with
    assert search.matching_ids("linkerd") == [entry.pk]
    before = current_version()
    make.entry(title="Another", url="https://example.org/another")
    assert current_version() != before


def test_every_catalog_write_changes_the_version(make):
    section = make.section()
    versions = {current_version()}
    entry = make.entry(section=section)
    versions.add(current_version())
    label = make.label()
    entry.labels.add(label)
    versions.add(current_version())
    section.title = "Renamed"
    section.save()
    versions.add(current_version())
    entry.placements.all().delete()
    versions.add(current_version())
    assert len(versions) == 5
