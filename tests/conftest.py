"""Small factories for catalog rows, and the seed fixtures."""

import itertools
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.models import Dimension, Edition, Entry, Label, LabelGroup, Placement, Section, Topic

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SEED_YAML = SHARED / "seed" / "istio.yaml"
CORPUS = SHARED / "corpus" / "nubenetes"
needs_shared = pytest.mark.skipif(
    not SEED_YAML.exists(), reason=f"../shared is absent: {SEED_YAML} not found (the seed is not on this machine)"
)
needs_corpus = pytest.mark.skipif(
    not (CORPUS / "v1").is_dir(), reason=f"../shared is absent: {CORPUS} not found (the corpus is not on this machine)"
)
# What `make run` loads (the Makefile's FIXTURES), in order.
DEFAULT_FIXTURES = ("base", "istio", "networking")

_seq = itertools.count(1)


@pytest.fixture
def seed(db):
    """The committed fixtures: editions, labels and the seed's Istio page."""
    call_command("loaddata", "base", "istio", verbosity=0)


@pytest.fixture
def editions(db):
    """The editions, label groups and labels of base.json, without the seed page."""
    call_command("loaddata", "base", verbosity=0)


@pytest.fixture
def catalog_fixtures(db):
    """Every committed fixture, as `make run` loads them: the seed and the imported corpus pages."""
    call_command("loaddata", *DEFAULT_FIXTURES, verbosity=0)


class Factory:
    """Creates valid catalog rows with sensible defaults; every argument can be overridden."""

    def edition(self, **kw):
        n = next(_seq)
        kw.setdefault("name", f"Edition {n}")
        kw.setdefault("slug", f"ed{n}")
        kw.setdefault("position", n)
        return Edition.objects.create(**kw)

    def dimension(self, edition=None, **kw):
        n = next(_seq)
        kw.setdefault("name", f"Dimension {n}")
        kw.setdefault("slug", f"dimension-{n}")
        return Dimension.objects.create(edition=edition or self.edition(), **kw)

    def topic(self, edition=None, dimension=None, **kw):
        n = next(_seq)
        if dimension is None:
            dimension = self.dimension(edition=edition)
        kw.setdefault("title", f"Topic {n}")
        kw.setdefault("slug", f"topic-{n}")
        return Topic.objects.create(edition=dimension.edition, dimension=dimension, **kw)

    def section(self, topic=None, parent=None, **kw):
        n = next(_seq)
        kw.setdefault("title", f"Section {n}")
        kw.setdefault("slug", f"section-{n}")
        kw.setdefault("position", n)
        topic = topic or (parent.topic if parent else self.topic())
        return Section.objects.create(topic=topic, parent=parent, **kw)

    def entry(self, section=None, labels=(), position=0, **kw):
        n = next(_seq)
        kw.setdefault("title", f"Entry {n}")
        kw.setdefault("url", f"https://example.org/entry/{n}")
        kw.setdefault("year", 2020)
        entry = Entry.objects.create(**kw)
        if labels:
            entry.labels.add(*labels)
        if section is not None:
            Placement.objects.create(section=section, entry=entry, position=position)
        return entry

    def label(self, name=None, group=None, **kw):
        n = next(_seq)
        if group is None:
            group, _ = LabelGroup.objects.get_or_create(slug="kind", defaults={"name": "Content kind"})
        return Label.objects.create(name=name or f"LABEL {n}", slug=kw.pop("slug", f"label-{n}"), group=group, **kw)


@pytest.fixture
def make(db):
    return Factory()
