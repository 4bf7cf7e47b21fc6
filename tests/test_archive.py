"""The whole catalog as `make run` builds it from the vendored corpus: both editions, every
page in its own words, every Nubenetes address redirected.

The catalog is built once for this module (about a minute) in a transaction that is
rolled back at the end; each test runs in a savepoint inside it.
"""

import json
from collections import Counter

import pytest
from django.conf import settings
from django.db import transaction

from catalog.corpus import EDITIONS, edition_pages
from catalog.coverage import round_trip_differences
from catalog.markdown_export import export_topic
from catalog.markdown_import import parse_page, read_nav, topic_slug_for
from catalog.models import Placement, Topic
from catalog.seed import section_slug
from catalog.services.catalog_setup import catalog_load_initial
from catalog.services.imports import import_pages
from catalog.services.redirects import nubenetes_paths

from .conftest import CORPUS

EDITION_SLUGS = {"V1 Historical Archive": "v1", "V2 Elite": "v2"}


@pytest.fixture(scope="module")
def whole_catalog(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        loaded, counts = catalog_load_initial(corpus=CORPUS)
        assert loaded
        yield counts
        transaction.set_rollback(True)


@pytest.fixture
def catalog(whole_catalog, db):
    return whole_catalog


def listing_words(edition_slug):
    """(topic, section, url) -> (title, description) as each page of the edition shows them."""
    listings = Placement.objects.filter(section__topic__edition__slug=edition_slug).select_related("entry")
    rows = listings.values_list("section__topic__slug", "section__slug", "entry__url", "title", "description")
    entry_words = dict(listings.values_list("entry__url", "entry__title"))
    entry_descriptions = dict(listings.values_list("entry__url", "entry__description"))
    return {
        (topic, section, url): (
            entry_words[url] if title is None else title,
            entry_descriptions[url] if description is None else description,
        )
        for topic, section, url, title, description in rows
    }


def test_both_editions_hold_every_page_of_their_nav(catalog):
    assert catalog.entries > 14000 and catalog.editions == 2
    for edition, folder, _ in EDITIONS:
        slugs = {topic_slug_for(name) for name in read_nav(CORPUS / f"{folder}-mkdocs.yml")}
        stored = set(Topic.objects.filter(edition__slug=EDITION_SLUGS[edition]).values_list("slug", flat=True))
        assert slugs <= stored, sorted(slugs - stored)


def test_each_page_lists_its_links_in_its_own_words(catalog):
    """What a topic page shows for each link is what that page's markdown says: its first
    line for the link in that section (the seed's V2 Istio page is the seed's own text)."""
    for edition, folder, skipped in EDITIONS:
        shown = listing_words(EDITION_SLUGS[edition])
        expected = {}
        for page, _ in edition_pages(CORPUS, folder, skipped):
            taken, slugs = set(), {}
            for path, _, section in page.walk():
                slugs[path] = section_slug(path, taken)
                for item in section.entries:
                    expected.setdefault((page.slug, slugs[path], item.url), (item.title, item.description))
        assert len(expected) > 5000
        wrong = {key: (words, shown.get(key)) for key, words in expected.items() if shown.get(key) != words}
        assert not wrong, f"{len(wrong)} of {len(expected)} listings of {edition}, e.g. {list(wrong.items())[:3]}"


def test_the_seed_page_is_exactly_the_seed(catalog):
    fixture = json.loads((settings.BASE_DIR / "fixtures" / "istio.json").read_text(encoding="utf-8"))
    seed_urls = {o["fields"]["entry"][0] for o in fixture if o["model"] == "catalog.placement"}
    seed_words = {
        o["fields"]["url"]: (o["fields"]["title"], o["fields"]["description"])
        for o in fixture
        if o["model"] == "catalog.entry"
    }
    listings = Placement.objects.filter(section__topic__edition__slug="v2", section__topic__slug="istio")
    assert {p.entry.url for p in listings.select_related("entry")} == seed_urls and len(seed_urls) == 53
    for p in listings.select_related("entry"):
        assert (p.shown_title, p.shown_description) == seed_words[p.entry.url]


def test_importing_one_edition_never_changes_the_other_editions_words(catalog):
    v1, v2 = listing_words("v1"), listing_words("v2")
    v1_pages = edition_pages(CORPUS, "v1")
    v2_pages = edition_pages(CORPUS, "v2", {"istio.md"})
    import_pages(pages=v2_pages, edition_name="V2 Elite", keep_curator_values=True)
    assert listing_words("v1") == v1
    report = import_pages(pages=v1_pages, edition_name="V1 Historical Archive", keep_curator_values=True)
    assert listing_words("v2") == v2 and listing_words("v1") == v1
    assert not report.changed  # the second import of V1 finds everything as it left it


def test_every_nubenetes_address_of_both_editions_redirects_to_its_topic(catalog, client):
    checked = 0
    for edition, folder, _ in EDITIONS:
        slug = EDITION_SLUGS[edition]
        for name in read_nav(CORPUS / f"{folder}-mkdocs.yml"):
            target = f"/topics/{topic_slug_for(name)}/{slug}/"
            for path in nubenetes_paths(name, slug):
                response = client.get(path)
                assert (response.status_code, response.get("Location")) == (301, target), path
                checked += 1
    assert checked == 2 * (161 + 156)  # every page of both navs, as a folder and as a file
    assert client.get("/istio/")["Location"] == "/topics/istio/v1/"
    assert client.get("/v2/kubernetes-networking.html")["Location"] == "/topics/kubernetes-networking/v2/"


def repeated_in_a_section(page):
    """(section path, url) of the links a page lists more than once in one section: placed
    once, with the words and nesting of their first occurrence."""
    repeated = set()
    for path, _, section in page.walk():
        counts = Counter(entry.url for entry in section.entries)
        repeated |= {(path, url) for url, n in counts.items() if n > 1}
    return repeated


def test_export_markdown_reproduces_each_imported_page(catalog):
    """Exporting every imported page and reading it back gives the page's links, headings,
    nesting, wording and prose; what differs is what docs/archive.md lists."""
    for edition, folder, skipped in EDITIONS:
        slug = EDITION_SLUGS[edition]
        topics = {t.slug: t for t in Topic.objects.filter(edition__slug=slug)}
        lost, other = Counter(), Counter()
        for page, _ in edition_pages(CORPUS, folder, skipped):
            again = parse_page(export_topic(topics[page.slug]), path=page.path)
            repeated = repeated_in_a_section(page)
            for kind, (gone, added) in round_trip_differences(page, again).items():
                if kind in ("nesting", "wording"):
                    gone = {fact for fact in gone if fact[:2] not in repeated}
                    added = {fact for fact in added if fact[:2] not in repeated}
                lost[kind] += len(gone) if kind in ("links", "headings") else 0
                other[kind] += len(gone) + len(added)
        assert not +lost, (edition, lost)  # no link nor heading is lost
        assert other["headings"] == 0 and other["nesting"] <= 1, (edition, other)
        # The few listings and sections docs/archive.md lists: highlights across a link's title and
        # description, a note of tab-indented code, a section's prose whose link reads back as a listing.
        assert sum(other.values()) <= (12 if slug == "v1" else 0), (edition, other)
