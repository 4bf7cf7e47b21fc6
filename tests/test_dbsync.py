"""The search index and data version, kept by database triggers, come back after a migrate."""

import pytest
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


@pytest.mark.django_db(transaction=True)
def test_the_change_log_keeps_its_last_rows_only(make):
    from catalog.dbsync import CHANGE_LOG_KEPT
    from catalog.models import CatalogChange

    with connection.cursor() as cursor:  # a long history, written in one statement
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO catalog_catalogchange (entry_id, token) SELECT NULL, n FROM generate_series(1, %s) n",
                [CHANGE_LOG_KEPT + 500],
            )
        else:
            cursor.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)"
                " INSERT INTO catalog_catalogchange (entry_id, token) SELECT NULL, i FROM n",
                [CHANGE_LOG_KEPT + 500],
            )
    assert CatalogChange.objects.count() >= CHANGE_LOG_KEPT + 500
    entry = make.entry(title="After a long history", url="https://example.org/after")
    newest = CatalogChange.objects.order_by("-id").values_list("entry_id", flat=True).first()
    assert newest == entry.pk
    assert CatalogChange.objects.count() <= CHANGE_LOG_KEPT + 5
