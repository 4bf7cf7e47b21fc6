"""The initial catalog is loaded only into an empty database; a restart never reverts a curator's edit."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Entry, Topic
from catalog.services.catalog_setup import catalog_counts, catalog_load_initial, catalog_reset

ROOT = Path(__file__).resolve().parent.parent
ISTIO_ENTRY = "https://github.com/envoyproxy/gateway"


def test_loads_into_an_empty_catalog_only(db):
    loaded, counts = catalog_load_initial()
    assert loaded and counts.entries > 500 and counts.editions == 2
    Entry.objects.filter(url=ISTIO_ENTRY).update(rating=2)
    loaded_again, counts_again = catalog_load_initial()
    assert not loaded_again and counts_again == counts
    assert Entry.objects.get(url=ISTIO_ENTRY).rating == 2


def test_command_says_what_it_did(db, capsys):
    call_command("setup_catalog")
    assert capsys.readouterr().out.startswith("Catalog loaded from the fixtures: ")
    call_command("setup_catalog")
    out = capsys.readouterr().out
    assert out.startswith("Catalog kept as it is (") and "make reset" in out and out.count("\n") == 1


def test_reset_needs_confirmation_and_restores_the_fixtures(db):
    catalog_load_initial()
    before = catalog_counts()
    Entry.objects.filter(url=ISTIO_ENTRY).update(rating=2)
    Topic.objects.filter(slug="istio").update(title="Renamed by a curator")
    with pytest.raises(CommandError, match="--yes"):
        call_command("setup_catalog", "--reset")  # no terminal under pytest: refuses instead of asking
    assert Entry.objects.get(url=ISTIO_ENTRY).rating == 2
    assert catalog_reset() == before
    assert Entry.objects.get(url=ISTIO_ENTRY).rating == 5
    assert not Topic.objects.filter(title="Renamed by a curator").exists()


def _make(target, database_url, *extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MAKE"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [shutil.which("make") or "make", "--no-print-directory", target, f"PY={sys.executable}", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout


def _sqlite(database_url, sql, *params):
    import sqlite3

    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as con:
        return con.execute(sql, params).fetchall()


def test_make_db_twice_keeps_a_curators_edit(tmp_path):
    """The Makefile's own `db` target, run as `make run` runs it, on a throwaway SQLite file."""
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    assert "Catalog loaded from the fixtures" in _make("db", url)
    _sqlite(url, "UPDATE catalog_entry SET rating = 2 WHERE url = ?", ISTIO_ENTRY)
    out = _make("db", url)
    assert "Catalog kept as it is" in out
    assert _sqlite(url, "SELECT rating FROM catalog_entry WHERE url = ?", ISTIO_ENTRY) == [(2,)]
    out = _make("reset", url, "CONFIRM=yes")
    assert "Catalog reset" in out
    assert _sqlite(url, "SELECT rating FROM catalog_entry WHERE url = ?", ISTIO_ENTRY) == [(5,)]
