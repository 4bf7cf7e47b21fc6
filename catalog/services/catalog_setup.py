"""Building the initial catalog, and starting it over.

`make run` and `make db` call `catalog_load_initial()` on every start. Only into an
empty catalog, it loads the fixtures (the base data and the seed page) and then
imports the vendored Nubenetes corpus, every page of
both editions (`catalog.corpus.import_corpus`, keeping the seed's values); on a
catalog that has data it changes nothing, so a restart never reverts a curator's
edit. `catalog_reset()` (behind `make reset`, which asks first) deletes the
catalog's rows and builds it again; staff users and their roles stay.

Both record what they did in the history (`catalog.services.history`): every
entry the fixtures or the corpus made, and with a reset every entry deleted,
named by `actor` (by default the `setup_catalog` command).
"""

from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from catalog.corpus import import_corpus
from catalog.models import Change, Dimension, Edition, Entry, Label, LabelGroup, Redirect, Submission, Topic
from catalog.services import history
from catalog.services.redirects import nubenetes_redirects_create

# The fixtures a new catalog starts from, in loading order (base first: editions and labels),
# before the corpus is imported: the base data and the seed page.
INITIAL_FIXTURES = ("base", "istio")


@dataclass(frozen=True)
class CatalogCounts:
    editions: int
    topics: int
    entries: int

    @property
    def empty(self):
        return not (self.editions or self.topics or self.entries)

    def __str__(self):
        return f"{self.entries:,} entries in {self.topics:,} topics of {self.editions} editions"


def catalog_counts():
    """How much the catalog holds (three COUNT queries)."""
    return CatalogCounts(Edition.objects.count(), Topic.objects.count(), Entry.objects.count())


def default_actor():
    return history.Actor.job("setup_catalog", source=Change.Source.COMMAND)


def _build(fixtures, corpus, progress, actor):
    """Into an empty catalog: the fixtures, then the corpus; each entry made is in the history."""
    with history.track(actor=replace(actor, note=f"fixtures: {', '.join(fixtures)}")) as tracked:
        call_command("loaddata", *fixtures, verbosity=0)
        tracked.add(*Entry.objects.values_list("pk", flat=True))
    if corpus is not False:
        corpus = corpus or settings.CATALOG_CORPUS_DIR
        import_corpus(corpus, progress=progress, actor=replace(actor, note=f"corpus: {Path(corpus).name}"))
        nubenetes_redirects_create(corpus=corpus)  # every Nubenetes page address lands on its topic


def _analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics for the pages to come


def catalog_load_initial(*, fixtures=INITIAL_FIXTURES, corpus=None, progress=None, actor=None):
    """Build the catalog into an empty database; on one that has data, change nothing.

    Loads `fixtures`, then imports the whole `corpus` (a folder like data/nubenetes;
    by default settings.CATALOG_CORPUS_DIR; False: the fixtures alone),
    in one transaction. `progress(edition, stage, done, total, note)` is called
    while importing. Returns (loaded, counts): whether anything was loaded, and
    the catalog's counts after.
    """
    with transaction.atomic():
        if not catalog_counts().empty:
            return False, catalog_counts()
        _build(fixtures, corpus, progress, actor or default_actor())
    _analyze()
    return True, catalog_counts()


def catalog_reset(*, fixtures=INITIAL_FIXTURES, corpus=None, progress=None, actor=None):
    """Delete every catalog row (entries, topics, labels, submissions) and build the catalog again."""
    actor = actor or default_actor()
    with transaction.atomic():
        Submission.objects.all().delete()
        Redirect.objects.all().delete()
        entries = Entry.objects.values_list("pk", flat=True)
        with history.track(actor=replace(actor, note="the catalog deleted, to build it again"), entries=entries):
            Entry.objects.all().delete()
            Topic.objects.all().delete()
            Dimension.objects.all().delete()
            Edition.objects.all().delete()
            Label.objects.all().delete()
            LabelGroup.objects.all().delete()
        _build(fixtures, corpus, progress, actor)
    _analyze()
    return catalog_counts()
