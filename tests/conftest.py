"""Small factories for catalog rows, and the seed fixtures."""

import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command

from catalog.models import Dimension, Edition, Entry, Label, LabelGroup, Placement, Section, Submission, Topic
from catalog.services.catalog_setup import INITIAL_FIXTURES
from catalog.services.staff import staff_user_create
from catalog.urlnorm import normalize_url

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
# Only the seed's original text stays outside the repository (its structured form is fixtures/istio.json).
SEED_YAML = SHARED / "seed" / "istio.yaml"
needs_shared = pytest.mark.skipif(
    not SEED_YAML.exists(), reason=f"../shared is absent: {SEED_YAML} not found (the seed is not on this machine)"
)
# The Nubenetes corpus, vendored in the repository.
CORPUS = ROOT / "data" / "nubenetes"
# A few pages of each edition, for tests of what builds the catalog (the whole corpus takes a minute).
SMALL_CORPUS_PAGES = {"v1": ("istio.md", "kubernetes-networking.md"), "v2": ("servicemesh.md", "cloudflare.md")}


def copy_small_corpus(folder):
    """A corpus folder like data/nubenetes with only SMALL_CORPUS_PAGES; returns it."""
    folder = Path(folder)
    for edition, names in SMALL_CORPUS_PAGES.items():
        (folder / edition).mkdir(parents=True, exist_ok=True)
        (folder / f"{edition}-mkdocs.yml").write_bytes((CORPUS / f"{edition}-mkdocs.yml").read_bytes())
        for name in names:
            (folder / edition / name).write_bytes((CORPUS / edition / name).read_bytes())
    return folder


@pytest.fixture
def small_corpus(db, tmp_path, settings):
    """The catalog is built from a few pages of each edition in this test."""
    settings.CATALOG_CORPUS_DIR = copy_small_corpus(tmp_path / "corpus")
    return settings.CATALOG_CORPUS_DIR


# Every committed fixture, in loading order: what `make run` loads before importing the corpus
# (base data and the seed), then the "Networking & Service Mesh" slice of both editions.
DEFAULT_FIXTURES = (*INITIAL_FIXTURES, "networking")

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
    """Every committed fixture: the seed and the corpus's Networking & Service Mesh pages."""
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

    def submission(self, labels=(), **kw):
        """A stored submission (pending unless told), bypassing the form and its checks."""
        n = next(_seq)
        kw.setdefault("title", f"Suggestion {n}")
        kw.setdefault("url", f"https://example.net/suggested/{n}")
        kw.setdefault("token", f"test-token-{n}-{'x' * 30}")
        if kw.get("section") is not None:
            kw.setdefault("topic", kw["section"].topic)
        submission = Submission.objects.create(url_key=normalize_url(kw["url"]), **kw)
        submission.labels.set(labels)
        return submission

    def staff(self, role, username=None, **kw):
        """A staff user in a role ("moderator" or "curator"), or a superuser for role "superuser"."""
        username = username or f"{role}{next(_seq)}"
        password = kw.pop("password", "a-Long-test-passw0rd")
        if role == "superuser":
            return get_user_model().objects.create_superuser(username, f"{username}@example.org", password)
        return staff_user_create(username=username, role=role, password=password, email=f"{username}@example.org")


@pytest.fixture
def make(db):
    return Factory()


LANGUAGES = ["Go", "Python", "TypeScript", "Rust", "go"]
HOSTS = [
    "https://github.com/org{n}/p{i}",
    "https://www.istio.io/docs/{i}",
    "https://medium.com/@a/{i}",
    "http://blog{n}.example.org/{i}",
]
WORDS = ["istio", "envoy", "kiali", "gateway", "mesh", "tracing", "jaeger", "ambient", "sidecar", "policy"]


def build_catalog(make, seed=7, entries=60):
    """A small catalog with every kind of attribute, shared URLs and nested sections."""
    import random

    rng = random.Random(seed)
    groups = {
        "maturity": LabelGroup.objects.get_or_create(
            slug="maturity", defaults={"name": "Maturity tier", "position": 1}
        )[0],
        "kind": LabelGroup.objects.get_or_create(slug="kind", defaults={"name": "Content kind", "position": 2})[0],
    }
    labels = [
        make.label(name=name, slug=name.lower().replace(" ", "-"), group=groups[group])
        for name, group in [("STANDARD", "maturity"), ("LEGACY", "maturity"), ("GUIDE", "kind"), ("TOOL", "kind")]
    ]
    sections = []
    for e in range(2):
        edition = make.edition(slug=f"e{e + 1}", name=f"Edition {e + 1}")
        for d in range(2):
            dimension = make.dimension(edition=edition, slug=f"dim-{d}", name=f"Dimension {d}")
            for t in range(2):
                topic = make.topic(dimension=dimension, slug=f"topic-{d}-{t}", title=f"Topic {d}.{t}")
                top = make.section(topic=topic, slug="top", title="Top")
                child = make.section(topic=topic, parent=top, slug="top-child", title="Child")
                other = make.section(topic=topic, slug="other", title="Other")
                sections += [top, child, other]
    for i in range(entries):
        n = rng.randrange(4)
        github = rng.random() < 0.4
        entry = make.entry(
            title=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {i}",
            url=HOSTS[n].format(n=i % 3, i=i),
            description=" ".join(rng.choice(WORDS) for _ in range(6)),
            year=rng.choice([None, 2018, 2020, 2021, 2022, 2023, 2024]),
            github_stars=rng.choice([5, 50, 500, 5000, 50000]) if github else None,
            language=rng.choice(LANGUAGES) if github else "",
            rating=rng.choice([None, 1, 3, 4, 5]),
            featured=rng.random() < 0.2,
            labels=rng.sample(labels, rng.randrange(3)),
        )
        for section in rng.sample(sections, rng.randrange(0, 3)):
            Placement.objects.create(section=section, entry=entry, position=i)
    return labels


@pytest.fixture
def little_catalog(make):
    """A topic page with nested sections, labels in two groups and one entry.

    Enough for the submission tests, and much quicker to set up than the seed.
    """
    edition = make.edition(name="V2 Elite", slug="v2", position=0)
    dimension = make.dimension(edition=edition, name="Networking & Service Mesh", slug="networking")
    topic = make.topic(dimension=dimension, title="Istio - Service Mesh", slug="istio")
    security = make.section(topic=topic, title="Security", slug="security")
    mtls = make.section(parent=security, title="mTLS", slug="security-mtls")
    other = make.topic(dimension=dimension, title="Linkerd", slug="linkerd")
    other_section = make.section(topic=other, title="Getting started", slug="getting-started")
    maturity = LabelGroup.objects.create(name="Maturity tier", slug="maturity", position=0, single_choice=True)
    kind = LabelGroup.objects.create(name="Content kind", slug="kind", position=1)
    labels = {
        name: make.label(name=name, group=group, slug=slug)
        for name, slug, group in [
            ("EMERGING", "emerging", maturity),
            ("DE FACTO STANDARD", "de-facto-standard", maturity),
            ("GUIDE", "guide", kind),
        ]
    }
    entry = make.entry(
        section=mtls, url="https://github.com/envoyproxy/gateway", title="Envoy Gateway", labels=[labels["GUIDE"]]
    )
    return SimpleNamespace(
        topic=topic, security=security, mtls=mtls, other=other, other_section=other_section, labels=labels, entry=entry
    )


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (the rate limit counts live there)."""
    cache.clear()
    yield
    cache.clear()
