"""Redirect records: old addresses that answer a permanent redirect to a topic page.

`nubenetes_redirects_create()` records every page address of the two Nubenetes
sites (their mkdocs navs) for the topic the page became; `topic_renamed()`
records a topic's old address when a curator changes its slug. Neither ever
changes a redirect that is already there: a curator may have pointed it elsewhere.
"""

from pathlib import Path

from django.db import transaction

from ..markdown_import import read_nav, topic_slug_for
from ..models import Edition, Redirect, Topic


def nubenetes_paths(page_name, edition_slug):
    """The addresses under which Nubenetes served a page of an edition: V1 at the
    site's root, V2 under /v2/; each as a folder (`/istio/`) and as a file (`/istio.html`)."""
    stem = Path(page_name).stem
    prefix = "/v2/" if edition_slug == "v2" else "/"
    return [f"{prefix}{stem}/", f"{prefix}{stem}.html"]


def _create_missing(pairs, source):
    """Create a Redirect for each (old path, topic) whose path has none yet; return how many."""
    taken = set(Redirect.objects.filter(old_path__in=[path for path, _ in pairs]).values_list("old_path", flat=True))
    new = []
    for path, topic in pairs:
        if path in taken:
            continue
        taken.add(path)
        redirect = Redirect(old_path=path, topic=topic, source=source)
        redirect.full_clean(exclude=["topic"], validate_unique=False)
        new.append(redirect)
    Redirect.objects.bulk_create(new)
    return len(new)


def nubenetes_redirects_create(*, corpus, editions=(("v1", "v1"), ("v2", "v2"))):
    """A redirect for every page path of each edition's nav whose topic exists.

    `editions` pairs an edition slug with its folder prefix in `corpus`
    (`v1-mkdocs.yml`). Returns the number of redirects created.
    """
    with transaction.atomic():
        pairs = []
        for edition_slug, folder in editions:
            topics = {t.slug: t for t in Topic.objects.filter(edition__slug=edition_slug).select_related("edition")}
            for name in read_nav(Path(corpus) / f"{folder}-mkdocs.yml"):
                topic = topics.get(topic_slug_for(name))
                if topic is not None:
                    pairs.extend((path, topic) for path in nubenetes_paths(name, edition_slug))
        return _create_missing(pairs, Redirect.Source.NUBENETES)


def topic_renamed(*, topic, old_slug):
    """Keep a renamed topic's old address working: a redirect from /topics/OLD/EDITION/
    (and /topics/OLD/ for the first edition) to the topic. Returns the number created."""
    if old_slug == topic.slug:
        return 0
    with transaction.atomic():
        paths = [f"/topics/{old_slug}/{topic.edition.slug}/"]
        if topic.edition_id == Edition.objects.values_list("pk", flat=True).first():
            paths.append(f"/topics/{old_slug}/")
        return _create_missing([(path, topic) for path in paths], Redirect.Source.RENAMED)
