"""The initial catalog is loaded only into an empty database; a restart never reverts a curator's edit."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import Entry, Placement, Topic
from catalog.services.catalog_setup import catalog_counts, catalog_load_initial, catalog_reset

from .conftest import SMALL_CORPUS_PAGES, copy_small_corpus

ROOT = Path(__file__).resolve().parent.parent
ISTIO_ENTRY = "https://github.com/envoyproxy/gateway"


def test_loads_into_an_empty_catalog_only(small_corpus):
    loaded, counts = catalog_load_initial()
    assert loaded and counts.editions == 2
    # The fixtures (the seed's 4 topics), then every page of the corpus, in both editions.
    assert counts.topics == 4 + 2  # the seed's V2 topics hold V2's two pages; V1's two pages are new
    for edition, names in SMALL_CORPUS_PAGES.items():
        for name in names:
            assert Topic.objects.filter(edition__slug=edition, slug=name.removesuffix(".md")).exists()
    Entry.objects.filter(url=ISTIO_ENTRY).update(rating=2)
    loaded_again, counts_again = catalog_load_initial()
    assert not loaded_again and counts_again == counts
    assert Entry.objects.get(url=ISTIO_ENTRY).rating == 2


def test_command_says_what_it_did(small_corpus, capsys):
    call_command("setup_catalog")
    out = capsys.readouterr().out
    assert "Building the catalog: V1 Historical Archive, parsing..." in out  # progress, one line per step
    assert out.splitlines()[-1].startswith("Catalog loaded from the fixtures and the corpus: ")
    call_command("setup_catalog")
    out = capsys.readouterr().out
    assert out.startswith("Catalog kept as it is (") and "make reset" in out and out.count("\n") == 1


def test_the_seed_keeps_its_words_and_values_after_the_corpus(small_corpus):
    """The corpus lists seed links with other words: they become those pages' listings, never the seed's."""
    catalog_load_initial()
    seed_listings = Placement.objects.filter(section__topic__slug="istio", section__topic__edition__slug="v2")
    assert seed_listings.count() == 53
    # The seed's listings have no words of their own: they show the seed entries' words.
    assert not seed_listings.filter(title__isnull=False).exists()
    assert not seed_listings.filter(description__isnull=False).exists()
    assert Entry.objects.get(url=ISTIO_ENTRY).rating == 5


def test_reset_needs_confirmation_and_restores_the_fixtures(small_corpus):
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


def _make(target, database_url, *extra, corpus):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MAKE"))}
    env["DATABASE_URL"] = database_url
    env["MESHPORTAL_CORPUS_DIR"] = str(corpus)
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
    corpus = copy_small_corpus(tmp_path / "corpus")
    assert "Catalog loaded from the fixtures and the corpus" in _make("db", url, corpus=corpus)
    _sqlite(url, "UPDATE catalog_entry SET rating = 2 WHERE url = ?", ISTIO_ENTRY)
    out = _make("db", url, corpus=corpus)
    assert "Catalog kept as it is" in out
    assert _sqlite(url, "SELECT rating FROM catalog_entry WHERE url = ?", ISTIO_ENTRY) == [(2,)]
    out = _make("reset", url, "CONFIRM=yes", corpus=corpus)
    assert "Catalog reset" in out
    assert _sqlite(url, "SELECT rating FROM catalog_entry WHERE url = ?", ISTIO_ENTRY) == [(5,)]
