"""The topic page: every entry with its metadata, under the right heading, in order."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import yaml
from django.utils import timezone

from catalog import facet_index, pages
from catalog.models import Edition, Entry, GitHubRepo, Placement, Topic

from .conftest import SEED_YAML, needs_shared


class Outline(HTMLParser):
    """Collects headings (level, text) and entry titles (text, href) in document order,
    leaving out text meant for screen readers only and permalink signs."""

    def __init__(self):
        super().__init__()
        self.items, self._open, self._text, self._skip = [], None, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if self._skip or "visually-hidden" in classes or "anchor" in classes:
            self._skip.append(tag)
        elif re.fullmatch(r"h[1-6]", tag):
            self._open, self._text = ("h", int(tag[1]), tag), []
        elif "entry__title" in classes:
            self._open, self._text = ("entry", attrs.get("href"), tag), []

    def handle_endtag(self, tag):
        if self._skip:
            self._skip.pop()
        elif self._open and tag == self._open[2]:
            text = " ".join("".join(self._text).split())
            kind, extra, _ = self._open
            self.items.append(("h", extra, text) if kind == "h" else ("entry", text, extra))
            self._open = None

    def handle_data(self, data):
        if self._open and not self._skip:
            self._text.append(data)


def parse(html):
    parser = Outline()
    parser.feed(html)
    return parser.items


def test_topic_page_shows_title_context_and_edition_switch(client, seed):
    response = client.get("/topics/istio/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "<h1>Istio - Service Mesh</h1>" in html
    assert "Architectural Context" in html
    assert "Detailed reference for Istio - Service Mesh in the context of Networking &amp; Service Mesh." in html
    assert 'href="/topics/istio/v1/"' in html and "V1 Historical Archive" in html
    assert 'aria-current="page" class="is-current">V2 Elite' in html
    # Explore related: the three topics of the same dimension, by title and link.
    related = re.search(r'<nav class="related".*?</nav>', html, re.S).group(0)
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', related) == [
        ("/topics/cloudflare/", "Cloudflare"),
        ("/topics/kubernetes-networking/", "Kubernetes Networking"),
        ("/topics/servicemesh/", "Servicemesh"),
    ]


def test_istio_in_the_v1_archive_is_the_imported_page(
    client, catalog_fixtures, settings, django_assert_max_num_queries
):
    settings.BROWSE_CACHE_SECONDS = 0  # measure the page, not the cache
    topic = Topic.objects.get(edition__slug="v1", slug="istio")
    placed = Placement.objects.filter(section__topic=topic)
    client.get("/browse/")  # builds the facet index once for this data version
    with django_assert_max_num_queries(8):
        v1 = client.get("/topics/istio/v1/")
    assert v1.status_code == 200
    html = v1.content.decode()
    assert "<h1>Istio - Service Mesh</h1>" in html
    assert 'aria-current="page" class="is-current">V1 Historical Archive' in html
    assert "has no “istio” page yet" not in html
    assert html.count('<li class="entry"') == placed.count() > 100
    # The sections, after the drawers (filters, contents) that come first on a phone.
    outline = parse(html.split('id="topic-results"', 1)[1])
    headings = [text for kind, level, text in outline if kind == "h" and level == 2]
    assert headings[:3] == ["Docs", "API Access Control", "Maistra Istio"]
    # The V1 page links back to the seed's V2 page.
    assert 'href="/topics/istio/"' in html


def test_related_topics_have_content(client, catalog_fixtures):
    for slug in ("cloudflare", "kubernetes-networking", "servicemesh"):
        html = client.get(f"/topics/{slug}/").content.decode()
        count = Placement.objects.filter(section__topic__edition__slug="v2", section__topic__slug=slug).count()
        assert count > 0
        assert html.count('<li class="entry"') == count
        assert "has no entries" not in html


def test_edition_in_url_and_honest_empty_states(client, catalog_fixtures, make):
    v2 = Edition.objects.get(slug="v2")
    only_in_v2 = make.topic(dimension=v2.dimensions.get(), slug="only-in-v2", title="Only in V2")
    html = client.get("/topics/only-in-v2/v1/").content.decode()
    assert "The V1 Historical Archive has no “only-in-v2” page yet." in html
    assert 'href="/topics/only-in-v2/"' in html
    assert 'class="entry"' not in html

    empty = client.get(only_in_v2.get_absolute_url())
    assert empty.status_code == 200
    assert "This topic page has no entries in the V2 Elite yet." in empty.content.decode()

    assert client.get("/topics/istio/v9/").status_code == 404
    assert client.get("/topics/no-such-topic/").status_code == 404


def test_every_seed_entry_is_shown_with_its_metadata(client, seed):
    html = client.get("/topics/istio/").content.decode()
    assert html.count('<li class="entry"') == 53
    for entry in Entry.objects.all():
        card = re.search(
            rf'<li class="entry" id="entry-{entry.pk}">(.*?)</li>\s*(?=<li class="entry"|</ul>)', html, re.S
        )
        assert card, entry.title
        text = card.group(1)
        assert f'href="{entry.url}"'.replace("&", "&amp;") in text
        assert f"({entry.year})" in text
        if entry.github_stars is not None:
            assert f"{entry.github_stars:,}" in text
        if entry.language:
            assert f">{entry.language}<" in text
        if entry.rating:
            assert f"Rated {entry.rating} of 5" in text
        assert ("Featured" in text) == entry.featured
        for name in entry.labels.names():
            assert f">{name}</a>" in text


@needs_shared
def test_entries_under_the_right_headings_newest_year_first(client, seed):
    data = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))

    def expected(sections, level):
        for section in sections:
            yield ("h", level, section["title"])
            # Newest year first; the seed's own order among entries of one year.
            ordered = sorted(enumerate(section.get("entries", [])), key=lambda p: (-p[1]["year"], p[0]))
            for _, entry in ordered:
                yield ("entry", entry["title"], entry["url"])
            yield from expected(section.get("children", []), level + 1)

    html = client.get("/topics/istio/").content.decode()
    # The outline: the page's sections and entries, before "Explore related".
    outline = parse(html.split('id="topic-results"', 1)[1].split('<nav class="related"', 1)[0])
    assert outline == list(expected(data["sections"], 2))


def test_heading_levels_follow_depth(client, make):
    topic = make.topic(slug="deep", title="Deep")
    parent = None
    for depth in range(1, 8):
        parent = make.section(topic=topic, parent=parent, title=f"Level {depth}", slug=f"level-{depth}")
    make.entry(section=parent, title="Deepest entry")
    html = client.get(f"/topics/deep/{topic.edition.slug}/").content.decode()
    levels = [int(m) for m in re.findall(r'<h([1-6]) id="level-\d"', html)]
    assert levels == [2, 3, 4, 5, 6, 6, 6]
    assert "Deepest entry" in html


def _catalog(make, sections, entries_per_section):
    topic = make.topic(slug="big", title="Big")
    labels = [make.label() for _ in range(3)]
    related = make.topic(edition=topic.edition, dimension=topic.dimension)
    topic.related.add(related)
    for _ in range(sections):
        top = make.section(topic=topic)
        child = make.section(topic=topic, parent=top)
        for e in range(entries_per_section):
            make.entry(section=child, labels=labels[: e % 4], year=2015 + e % 10, position=e)
    return topic


@pytest.mark.parametrize("sections,per_section", [(1, 2), (12, 25)])
def test_topic_page_query_count_is_constant(
    client, make, settings, django_assert_max_num_queries, sections, per_section
):
    settings.BROWSE_CACHE_SECONDS = 0  # measure the page, not the cache
    topic = _catalog(make, sections, per_section)
    client.get("/browse/")  # builds the facet index once for this data version
    with django_assert_max_num_queries(8):
        response = client.get(f"/topics/big/{topic.edition.slug}/")
    assert response.content.decode().count('<li class="entry"') == sections * per_section


def test_the_same_entry_appears_in_each_section_it_is_placed_in(client, make):
    topic = make.topic(slug="shared", title="Shared")
    a, b = make.section(topic=topic, title="Alpha"), make.section(topic=topic, title="Beta")
    entry = make.entry(section=a, title="Twice listed")
    entry.placements.create(section=b)
    html = client.get(f"/topics/shared/{topic.edition.slug}/").content.decode()
    assert html.count(">Twice listed</a>") == 2
    assert Topic.objects.with_entry_counts().get(pk=topic.pk).entry_count == 1


def test_without_curated_relations_the_page_shows_the_topics_sharing_most_entries(client, make):
    topic = make.topic(slug="mesh", title="Mesh")
    edition = topic.edition
    near = make.topic(edition=edition, dimension=topic.dimension, slug="near", title="Near")
    far = make.topic(edition=edition, dimension=topic.dimension, slug="far", title="Far")
    make.topic(edition=edition, dimension=topic.dimension, slug="unrelated", title="Unrelated")
    here, near_section, far_section = make.section(topic=topic), make.section(topic=near), make.section(topic=far)
    for i in range(3):
        entry = make.entry(section=here, url=f"https://shared.example/{i}")
        Placement.objects.create(section=near_section, entry=entry)
        if i == 0:
            Placement.objects.create(section=far_section, entry=entry)
    html = client.get(topic.get_absolute_url()).content.decode()
    related = re.search(r'<nav class="related".*?</nav>', html, re.S).group(0)
    assert "Topics sharing the most entries" in related and "Explore related" not in related
    assert re.findall(r'<a href="[^"]+">([^<]+)</a>', related) == ["Near", "Far"]
    # Curated relations win, under their own heading.
    topic.related.add(far)
    related = re.search(r'<nav class="related".*?</nav>', client.get(topic.get_absolute_url()).content.decode(), re.S)
    assert "Explore related" in related.group(0) and re.findall(r'">([^<]+)</a>', related.group(0)) == ["Far"]


def _big_topic(make, sizes):
    """A topic page whose sections hold `sizes` entries each (newest year first within a section)."""
    topic = make.topic(slug="huge", title="Huge")
    sections = []
    for n, size in enumerate(sizes):
        section = make.section(topic=topic, title=f"Part {n}", slug=f"part-{n}")
        Entry.objects.bulk_create(
            Entry(title=f"Link {n}-{i}", url=f"https://huge.example/{n}/{i}", year=2000 + i % 20) for i in range(size)
        )
        entries = Entry.objects.filter(url__startswith=f"https://huge.example/{n}/")
        Placement.objects.bulk_create(Placement(section=section, entry=e) for e in entries)
        sections.append(section)
    return topic, sections


def test_a_long_topic_page_shows_at_most_500_listings_and_links_to_the_rest(
    client, make, settings, django_assert_max_num_queries
):
    settings.BROWSE_CACHE_SECONDS = 0
    topic, sections = _big_topic(make, [700, 300, 12])
    client.get("/browse/")  # builds the facet index once for this data version
    with django_assert_max_num_queries(8):
        html = client.get(f"/topics/huge/{topic.edition.slug}/").content.decode()
    assert html.count('<li class="entry"') <= 500
    # Each section shows its first ones; the long ones link to all of theirs, without JavaScript.
    shown = {s.slug: len(re.findall(rf'href="https://huge.example/{n}/', html)) for n, s in enumerate(sections)}
    assert shown["part-2"] == 12 and 0 < shown["part-0"] < 700 and 0 < shown["part-1"] < 300
    assert "Show all 700 links of “Part 0”" in html and "Show all 300 links of “Part 1”" in html
    assert "Show all 12" not in html
    assert 'href="/topics/huge/' + topic.edition.slug + '/?expand=part-0#part-0"' in html
    # The table of contents still names every section with its count.
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    assert re.findall(r'>(Part \d)</a> <span class="count">(\d+)<', toc) == [
        ("Part 0", "700"),
        ("Part 1", "300"),
        ("Part 2", "12"),
    ]


def test_show_all_pages_a_long_section_500_at_a_time(client, make, settings):
    settings.BROWSE_CACHE_SECONDS = 0
    topic, sections = _big_topic(make, [700, 30])
    base = f"/topics/huge/{topic.edition.slug}/"
    first = client.get(base, {"expand": "part-0"}).content.decode()
    assert first.count('<li class="entry"') == 500
    assert "Listings 1–500 of 700 in “Part 0”" in first
    assert f'href="{base}"' in first  # back to the whole page
    assert "https://huge.example/1/" not in first  # only the chosen section
    assert f'href="{base}?expand=part-0&amp;page=2"' in first
    second = client.get(base, {"expand": "part-0", "page": "2"}).content.decode()
    assert second.count('<li class="entry"') == 200 and "Listings 501–700 of 700" in second
    ids = set(re.findall(r'href="https://huge.example/0/(\d+)"', first)) | set(
        re.findall(r'href="https://huge.example/0/(\d+)"', second)
    )
    assert len(ids) == 700  # every listing, once
    # The table of contents links back to the whole page's sections.
    assert f'href="{base}#part-1"' in second
    # An unknown section shows the whole page.
    assert client.get(base, {"expand": "nope"}).content.decode().count('<li class="entry"') <= 500


def test_explore_related_ranks_by_shared_published_entries(client, make, settings):
    """Without curated relations, "Explore related" lists the edition's topics sharing the most
    published entries, most first; an unpublished entry links nothing, nor does another edition.
    The facet index's count and the SQL's agree."""
    settings.BROWSE_CACHE_SECONDS = 0
    dimension = make.dimension()
    here, little, much, hidden_only = (make.topic(dimension=dimension, title=t) for t in ("Here", "B", "A", "C"))
    elsewhere = make.topic(title="Other edition")
    sections = {t: make.section(topic=t) for t in (here, little, much, hidden_only, elsewhere)}
    for n in range(3):
        entry = make.entry(section=sections[here], title=f"Shared {n}")
        Placement.objects.create(section=sections[much], entry=entry)
        Placement.objects.create(section=sections[elsewhere], entry=entry)
        if n == 0:
            Placement.objects.create(section=sections[little], entry=entry)
    draft = make.entry(section=sections[here], published=False)
    Placement.objects.create(section=sections[hidden_only], entry=draft)

    html = client.get(here.get_absolute_url()).content.decode()
    related = re.search(r'<nav class="related".*?</nav>', html, re.S).group(0)
    assert re.findall(r'<a href="[^"]+">([^<]+)</a>', related) == ["A", "B"]

    index = facet_index.get_index()
    assert index.shared_entries(here.pk) == {much.pk: 3, little.pk: 1, elsewhere.pk: 3}
    by_sql, _ = pages.related_topics(here)
    by_index, _ = pages.related_topics(here, shared=index.shared_entries(here.pk))
    assert [(t.title, t.shared) for t in by_sql] == [(t.title, t.shared) for t in by_index] == [("A", 3), ("B", 1)]


def _seen(outline):
    """What a reader gets of an outline: the body's sections with their counts and listings
    (nested) in order, and the table of contents."""

    def listing(row):
        return (row["pk"], row["title"], [listing(child) for child in row["children"]])

    body = [(n.slug, n.depth, n.count, n.total, n.hidden, [listing(row) for row in n.entries]) for n in outline.body]
    return body, [(n.slug, n.total) for n in outline.toc], outline.listings, outline.collapsed


def _by_index_and_sql(topic, **kwargs):
    index = facet_index.get_index()
    sections = [s for s in index.tree.sections if s.topic_id == topic.pk]
    listings = index.topic_listings(topic.pk, kwargs.get("only"))
    return _seen(pages.topic_outline(topic, sections=sections, listings=listings, **kwargs)), _seen(
        pages.topic_outline(topic, **kwargs)
    )


def test_the_outline_from_the_index_is_the_one_from_sql_after_each_write(make, monkeypatch):
    """The facet index orders a topic's listings as the database would (newest year first,
    none last, then position and id; nested listings after their parent; unpublished entries
    never, dead links only when filtering), with the same counts, collapsed and expanded,
    and follows every kind of write to them."""
    monkeypatch.setattr(pages, "PAGE_LISTINGS", 12)  # collapsed and paged with a small page
    topic = make.topic(slug="order", title="Order")
    top, other = make.section(topic=topic), make.section(topic=topic)
    child = make.section(topic=topic, parent=top)
    years = [2021, None, 2024, 2021, 2019, 2024, None, 2020]
    entries = [make.entry(section=top, title=f"Top {i}", year=y, position=i % 3) for i, y in enumerate(years)]
    for i in range(20):
        make.entry(section=other, title=f"Other {i}", year=2000 + i % 4, position=(7 * i) % 5)
    make.entry(section=child, title="Child 0", year=2022)
    draft = make.entry(section=top, title="Draft", year=2025, published=False)
    dead = make.entry(section=top, title="Dead", year=2025, link_state="dead")
    placement = {p.entry_id: p for p in Placement.objects.filter(section__topic=topic)}
    placement[entries[3].pk].parent = placement[entries[1].pk]  # nested under an older listing
    placement[entries[3].pk].save()
    placement[entries[4].pk].parent = placement[entries[3].pk]
    placement[entries[4].pk].save()

    index = facet_index.get_index()
    sections = [s for s in index.tree.sections if s.topic_id == topic.pk]
    outline = pages.topic_outline(topic, sections=sections, listings=index.topic_listings(topic.pk), expand=top.slug)
    top_rows = outline.body[0].entries
    # 2024 (the same position: by id), 2021, 2020, then no year (by position); Top 3 and Top 4 under Top 1.
    assert [(row["title"], [c["title"] for c in row["children"]]) for row in top_rows] == [
        ("Top 2", []),
        ("Top 5", []),
        ("Top 0", []),
        ("Top 7", []),
        ("Top 6", []),
        ("Top 1", ["Top 3"]),
    ]
    assert top_rows[5]["children"][0]["children"][0]["title"] == "Top 4"

    def edit_year():
        Entry.objects.filter(pk=entries[6].pk).update(year=2030)

    def move_and_nest():
        Placement.objects.filter(pk=placement[entries[0].pk].pk).update(position=9, parent=placement[entries[2].pk])

    def delete_a_parent():  # its children are nested no more (SET_NULL)
        Placement.objects.filter(pk=placement[entries[1].pk].pk).delete()

    def publish_and_kill():
        Entry.objects.filter(pk=draft.pk).update(published=True)
        Entry.objects.filter(pk=entries[5].pk).update(link_state="dead")

    def add_listings():
        for i in range(3):
            make.entry(section=child, title=f"New {i}", year=None, position=1)

    def move_to_another_section():
        Placement.objects.filter(pk=placement[entries[2].pk].pk).update(section=other)

    writes = (edit_year, move_and_nest, delete_a_parent, publish_and_kill, add_listings, move_to_another_section)
    for write in (None, *writes):
        if write:
            write()
        ids = set(Entry.objects.filter(title__contains="2").values_list("id", flat=True)) | {dead.pk}
        for kwargs in ({}, {"expand": other.slug}, {"expand": other.slug, "page": "2"}, {"only": ids}):
            by_index, by_sql = _by_index_and_sql(topic, **kwargs)
            assert by_index == by_sql, (write and write.__name__, kwargs)
        assert _by_index_and_sql(topic)[0][3], "collapsed: more listings than a page holds"


def test_a_list_row_shows_every_badge_note_and_nested_listing_escaped(client, make, settings):
    """The compact row (written in Python) and the card (a template) show the same facts,
    labels and notes of a listing, every value escaped."""
    settings.BROWSE_CACHE_SECONDS = 0
    topic = make.topic(slug="rows", title="Rows")
    section = make.section(topic=topic)
    tool = make.label(name="Tool <x>", slug="tool-x")
    repo = GitHubRepo.objects.create(
        key="o/r", owner="o", name="r", stars=12345, fetched_at=timezone.now() - timedelta(days=3), archived=True
    )
    entry = make.entry(
        section=section, title="Mesh <b>&", year=2021, description="Less < more", language="C++ <x>", rating=4,
        featured=True, labels=[tool], url="https://web.archive.org/web/2020/https://gone.example/", github_repo=repo,
    )  # fmt: skip
    listing = Placement.objects.get(entry=entry)
    Placement.objects.filter(pk=listing.pk).update(highlight="Look <here>", note="A *note*")
    child = make.entry(title="Child link", year=2020, url="https://child.example/", link_state="ok")
    Placement.objects.create(section=section, entry=child, parent=listing)

    for view in ("compact", "cards"):
        html = client.get(f"/topics/rows/{topic.edition.slug}/", {"view": view} if view == "cards" else {}).content
        row = re.search(rf'<li class="entry" id="entry-{entry.pk}">.*?</li>\s*</ul>\s*</li>', html.decode(), re.S)
        row = row.group(0)
        assert 'href="https://web.archive.org/web/2020/https://gone.example/"' in row
        assert "Mesh &lt;b&gt;&amp;" in row and "<b>" not in row
        assert "Less &lt; more" in row
        assert 'title="Featured: a curator\'s pick"' in row
        assert "12,345" in row and "refreshed 3\xa0days ago" in row and "archived on GitHub" in row
        assert ">C++ &lt;x&gt;<" in row and "Rated 4 of 5" in row and "★★★★☆" in row
        assert ">Tool &lt;x&gt;</a>" in row and 'href="/labels/tool-x/"' in row
        assert "Archived copy: the original page is gone." in row
        assert "<mark>Look &lt;here&gt;</mark>" in row and "<em>note</em>" in row
        nested = row.split('<ul class="entries', 2)[-1]  # the child, inside its parent's row
        assert f'id="entry-{child.pk}"' in nested and "Child link" in nested
