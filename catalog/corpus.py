"""The "Networking & Service Mesh" fixture, imported from the Nubenetes corpus.

`networking_fixture_objects(corpus)` imports, in a transaction that is always
rolled back, the pages that the V2 nav lists under "Networking & Service
Mesh" into both editions, on top of the committed seed fixtures, and returns
the rows that import made, as fixture objects with natural keys. So the
fixture is reproducible from the corpus and the database is left as it was.

The seed's rich V2 Istio page stays exactly as the seed has it: V2 `istio.md`
(a thinner list of the same links) is not imported, and every page is
imported with `keep_curator_values`, so links of the seed that other pages
list too get new placements but keep the seed's titles, descriptions and
labels.
"""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.db import transaction

from .markdown_import import read_nav, read_page
from .models import Dimension, Entry, Label, LabelGroup, Placement, Section, TaggedEntry, Topic
from .services.imports import import_pages

# The Nubenetes markdown of both editions and their mkdocs navs, vendored (Apache-2.0; see NOTICE).
CORPUS_DIR = settings.BASE_DIR / "data" / "nubenetes"
DIMENSION = "Networking & Service Mesh"
# (edition name, folder of the corpus, pages not to import)
EDITIONS = [
    ("V1 Historical Archive", "v1", set()),
    # The seed page is the curated V2 Istio page; the corpus's istio.md would only dilute it.
    ("V2 Elite", "v2", {"istio.md"}),
]
# The corpus's commit date (PROVENANCE.md); loaddata does not run auto_now.
CORPUS_TIMESTAMP = "2026-05-18T00:00:00Z"


UNLISTED_DIMENSION = "Other pages"


def _read(job):
    path, nav_title = job
    return read_page(path, nav_title=nav_title)


def _edition_jobs(corpus, folder, skipped):
    """[(path, nav title)] of one edition's pages in nav order, and their dimensions."""
    corpus = Path(corpus)
    nav = read_nav(corpus / f"{folder}-mkdocs.yml")
    order = {name: i for i, name in enumerate(nav)}
    files = sorted(
        (path for path in (corpus / folder).glob("*.md") if path.name not in skipped),
        key=lambda path: (order.get(path.name, len(order)), path.name),
    )
    jobs = [(path, nav[path.name].title if path.name in nav else None) for path in files]
    dimensions = [nav[path.name].dimension if path.name in nav else UNLISTED_DIMENSION for path in files]
    return jobs, dimensions


def _collect(jobs, dimensions, parsed, progress):
    pages = []
    for done, ((path, _), page, dimension) in enumerate(zip(jobs, parsed, dimensions, strict=True), start=1):
        if progress:
            progress("parsing", done, len(jobs), path.name)
        pages.append((page, dimension))
    return pages


def _pool(workers, jobs):
    workers = min(workers or os.cpu_count() or 1, max(1, jobs))
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) if workers > 1 else None


def edition_pages(corpus, folder, skipped=(), *, progress=None, workers=None):
    """Every page of one edition's folder, parsed, as [(ParsedPage, dimension)] in nav order.

    A page the nav does not list goes under UNLISTED_DIMENSION, after the listed ones.
    Parsing is pure Python, so with several CPUs the pages are parsed in
    `workers` processes (default: one per CPU).
    """
    jobs, dimensions = _edition_jobs(corpus, folder, skipped)
    pool = _pool(workers, len(jobs))
    try:
        parsed = pool.map(_read, jobs, chunksize=4) if pool else map(_read, jobs)
        return _collect(jobs, dimensions, parsed, progress)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)


def import_corpus(corpus, *, progress=None, actor=None):
    """Import every page of both editions, keeping curator values (the seed's among them);
    returns the ImportReport of each edition. The caller owns the transaction. `actor`
    (a `history.Actor`) is who the history names; by default the import itself.

    Every edition's pages go to the parsing processes at once, so the next edition is
    parsed while this process writes the one before."""
    editions = [(edition, *_edition_jobs(corpus, folder, skipped)) for edition, folder, skipped in EDITIONS]
    pool = _pool(None, sum(len(jobs) for _, jobs, _ in editions))
    try:
        parsed = [pool.map(_read, jobs, chunksize=4) if pool else map(_read, jobs) for _, jobs, _ in editions]
        reports = []
        for (edition, jobs, dimensions), results in zip(editions, parsed, strict=True):
            step = (
                (lambda stage, done, total, note="", e=edition: progress(e, stage, done, total, note))
                if progress
                else None
            )
            pages = _collect(jobs, dimensions, results, step)
            reports.append(
                import_pages(pages=pages, edition_name=edition, keep_curator_values=True, progress=step, actor=actor)
            )
        return reports
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)


def dimension_pages(corpus):
    """The file names that the V2 nav groups under DIMENSION, in nav order."""
    nav = read_nav(Path(corpus) / "v2-mkdocs.yml")
    return [name for name, page in nav.items() if page.dimension == DIMENSION]


class _RollBack(Exception):
    pass


def import_dimension(corpus):
    """Import the dimension's pages into both editions, keeping curator values;
    returns [(edition name, topic slug)] of the pages imported."""
    corpus = Path(corpus)
    names = dimension_pages(corpus)
    topics = []
    for edition, folder, skipped in EDITIONS:
        pages = [(read_page(corpus / folder / name), DIMENSION) for name in names if name not in skipped]
        import_pages(pages=pages, edition_name=edition, keep_curator_values=True)
        topics += [(edition, page.slug) for page, _ in pages]
    return topics


def networking_fixture_objects(corpus):
    """Fixture objects for the dimension's pages of both editions (see the module docstring)."""
    objects = []
    try:
        with transaction.atomic():
            call_command("loaddata", "base", "istio", verbosity=0)
            first_new_entry = (Entry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
            first_new_label = (Label.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
            topics = import_dimension(corpus)
            objects = _rows_as_fixture(topics, first_new_entry, first_new_label)
            raise _RollBack
    except _RollBack:
        pass
    return objects


def _rows_as_fixture(topic_keys, first_new_entry, first_new_label):
    topic_ids = [Topic.objects.get(edition__name=edition, slug=slug).pk for edition, slug in topic_keys]
    topics = Topic.objects.filter(pk__in=topic_ids).order_by("edition__position", "position", "slug")
    entries = Entry.objects.filter(pk__gte=first_new_entry, placements__section__topic__in=topic_ids).distinct()
    labels = Label.objects.filter(pk__gte=first_new_label).order_by("name")
    querysets = [
        LabelGroup.objects.filter(labels__in=labels).distinct().order_by("slug"),
        labels,
        Dimension.objects.filter(topics__in=topic_ids).distinct().order_by("edition__position", "slug"),
        topics,
        # Parents were created before their children: id order loads them first.
        Section.objects.filter(topic__in=topic_ids).order_by("topic__edition__position", "topic__slug", "id"),
        entries.order_by("url"),
        TaggedEntry.objects.filter(content_object__in=entries).order_by("content_object__url", "tag__name"),
        Placement.objects.filter(section__topic__in=topic_ids).order_by(
            "section__topic__edition__position", "section__topic__slug", "section_id", "position", "entry__url"
        ),
    ]
    objects = []
    for queryset in querysets:
        text = serializers.serialize("json", queryset, use_natural_foreign_keys=True, use_natural_primary_keys=True)
        for obj in json.loads(text):
            obj.pop("pk", None)
            fields = obj["fields"]
            for name in ("created_at", "updated_at"):
                if name in fields:
                    fields[name] = CORPUS_TIMESTAMP
            objects.append(obj)
    return objects
