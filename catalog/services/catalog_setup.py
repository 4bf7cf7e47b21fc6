"""Loading the initial catalog, and starting it over.

`make run` and `make db` call `catalog_load_initial()` on every start: it loads the
fixtures only into an empty catalog, so a curator's edits are never reverted by a
restart. `catalog_reset()` (behind `make reset`, which asks first) deletes the
catalog's rows and loads the fixtures again; staff users and their roles stay.
"""

from dataclasses import dataclass

from django.core.management import call_command
from django.db import transaction

from catalog.models import Dimension, Edition, Entry, Label, LabelGroup, Submission, Topic

# What a new catalog holds, in loading order (base first: editions and labels).
INITIAL_FIXTURES = ("base", "istio", "networking")


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


def catalog_load_initial(*, fixtures=INITIAL_FIXTURES):
    """Load the fixtures into an empty catalog; on one that has data, change nothing.

    Returns (loaded, counts): whether anything was loaded, and the catalog's counts after.
    """
    with transaction.atomic():
        if not catalog_counts().empty:
            return False, catalog_counts()
        call_command("loaddata", *fixtures, verbosity=0)
    return True, catalog_counts()


def catalog_reset(*, fixtures=INITIAL_FIXTURES):
    """Delete every catalog row (entries, topics, labels, submissions) and load the fixtures again."""
    with transaction.atomic():
        Submission.objects.all().delete()
        Entry.objects.all().delete()
        Topic.objects.all().delete()
        Dimension.objects.all().delete()
        Edition.objects.all().delete()
        Label.objects.all().delete()
        LabelGroup.objects.all().delete()
        call_command("loaddata", *fixtures, verbosity=0)
    return catalog_counts()
