"""Reader experience: dense views, list controls, and each rough edge a new reader hit,
reproduced (the assertion that failed before the fix) and fixed."""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from catalog.contexts import page_numbers
from catalog.models import Entry, Placement, Topic

ATOM = "{http://www.w3.org/2005/Atom}"


def rows(html):
    return re.findall(r'<li class="entry" id="entry-(\d+)">', html)


@pytest.fixture(autouse=True)
def nocache(settings):
    settings.BROWSE_CACHE_SECONDS = 0


# --- density and views ----------------------------------------------------------------------


def test_topic_page_is_a_compact_list_with_the_entry_page_beside_each_title(client, seed):
    html = client.get("/topics/istio/").content.decode()
    assert 'class="entries entries--compact"' in html and "entries--cards" not in html
    assert len(rows(html)) == 53
    # No separate "Details" line: the entry page's link sits right after the title.
    assert ">Details<" not in html
    for pk in rows(html)[:10]:
        row = re.search(rf'id="entry-{pk}">(.*?)</li>\s*(?=<li class="entry"|</ul>)', html, re.S).group(1)
        assert re.search(
            rf'class="entry__title"[^>]*>.*?</a>\s*<a class="entry__info" href="/entries/{pk}/"', row, re.S
        )
    # The one-line description opens in place, without JavaScript.
    assert '<details class="entry__more"><summary>' in html


def test_card_view_is_kept_in_the_url_and_in_filter_links(client, seed):
    html = client.get("/topics/istio/?view=cards").content.decode()
    assert 'class="entries entries--cards"' in html and len(rows(html)) == 53
    assert 'href="/topics/istio/?view=cards&amp;kind=guide"' in html  # a facet link keeps the view
    assert 'href="/topics/istio/" data-facet-link>Compact' in html
    # The default view stays out of the URL: one address per view.
    response = client.get("/browse/?view=compact&kind=guide")
    assert response.status_code == 302 and response["Location"] == "/browse/?kind=guide"


def test_browse_table_view_sorts_by_its_columns(client, seed):
    html = client.get("/browse/?view=table&sort=stars").content.decode()
    table = re.search(r'<table class="entry-table">(.*?)</table>', html, re.S).group(1)
    heads = re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", table, re.S)
    assert [re.sub(r"<.*?>|\(sort by this column\)|\(reverse the order\)|[▲▼]", "", h).strip() for h in heads] == [
        "Year",
        "Title",
        "Stars",
        "Language",
        "Rating",
        "Labels",
        "Added",
    ]
    stars_head = '<a href="/browse/?view=table&amp;sort=-stars" data-facet-link>Stars <span aria-hidden="true">▼</span>'
    assert f'aria-sort="descending">{stars_head}' in table  # its link reverses the order
    assert 'href="/browse/?view=table&amp;sort=title"' in table
    assert 'href="/browse/?view=table"' in table  # Year: the default order
    body_rows = re.findall(r'<tr class="entry" id="entry-(\d+)">', table)
    stars = [Entry.objects.get(pk=pk).github_stars or -1 for pk in body_rows]
    assert len(body_rows) == 20 and stars == sorted(stars, reverse=True)
    # A topic page has no table view: its sections are the structure.
    assert ">Table<" not in client.get("/topics/istio/").content.decode()


def test_a_sorted_columns_heading_reverses_the_order(make, client):
    section = make.section(topic=make.topic(slug="istio"))
    for title, year, stars, rating in [
        ("alpha", 2019, 50, 3),
        ("bravo", 2023, None, 5),
        ("charlie", 2021, 900, None),
        ("delta", None, 10, 1),
    ]:  # made in this order: "added" follows it
        make.entry(title=title, year=year, github_stars=stars, rating=rating, section=section)

    def table(url):
        html = client.get(url).content.decode()
        heads = re.findall(r'<th scope="col"[^>]*?(?: aria-sort="(\w+)")?><a href="([^"]+)"[^>]*>(\w+)', html)
        titles = re.findall(r'<a class="entry__title" href="[^"]+"[^>]*>(\w+)</a>', html)
        return {label: (sort, href.replace("&amp;", "&")) for sort, href, label in heads}, titles

    # Each column: first order, reversed order (empty values last both ways); the first is the column's link.
    orders = {
        "Year": (["bravo", "charlie", "alpha", "delta"], ["alpha", "charlie", "bravo", "delta"]),
        "Title": (["alpha", "bravo", "charlie", "delta"], ["delta", "charlie", "bravo", "alpha"]),
        "Stars": (["charlie", "alpha", "delta", "bravo"], ["delta", "alpha", "charlie", "bravo"]),
        "Rating": (["bravo", "alpha", "delta", "charlie"], ["delta", "alpha", "bravo", "charlie"]),
        "Added": (["delta", "charlie", "bravo", "alpha"], ["alpha", "bravo", "charlie", "delta"]),
    }
    first_direction = {"Title": "ascending"}
    for label, (first, reversed_) in orders.items():
        heads, _ = table("/browse/?view=table&sort=stars" if label == "Year" else "/browse/?view=table")
        url = heads[label][1]
        heads, titles = table(url)
        direction = first_direction.get(label, "descending")
        assert titles == first and heads[label][0] == direction, label
        assert [h for h, (sort, _) in heads.items() if sort] == [label]  # aria-sort on the sorted column only
        reverse_url = heads[label][1]
        assert reverse_url != url
        heads, titles = table(reverse_url)
        assert titles == reversed_, label
        assert heads[label][0] == ("ascending" if direction == "descending" else "descending"), label
        assert heads[label][1] == url, label  # chosen again: back to the first order
    # The sort menu shows the reversed order in effect.
    _, chosen = sort_menu(client.get("/browse/?sort=-stars").content.decode())
    assert chosen == ["Fewest stars"]
    response = client.get("/browse/?view=table&sort=-nonsense")
    assert "is not a way to sort; sorted the default way instead." in response.content.decode()


def test_the_year_slider_spans_the_years_of_the_year_facet(client, seed):
    """The two-handle slider (built by JavaScript) gets the facet's first and last year;
    the From/to fields stay the whole control without it."""
    years = Entry.objects.listed().exclude(year=None).values_list("year", flat=True)
    for url in ("/browse/", "/topics/istio/", "/browse/?year_min=2022&year_max=2023"):
        html = client.get(url).content.decode()
        assert f'data-year-slider data-first="{min(years)}" data-last="{max(years)}" hidden>' in html, url


def test_no_year_slider_when_there_is_one_year(make, client):
    section = make.section(topic=make.topic(slug="istio"))
    make.entry(year=2020, section=section)
    make.entry(year=None, section=section)
    assert "data-year-slider" not in client.get("/browse/").content.decode()
    make.entry(year=2024, section=section)
    assert 'data-year-slider data-first="2020" data-last="2024"' in client.get("/browse/").content.decode()


# --- the sort menu ---------------------------------------------------------------------------


def sort_menu(html):
    select = re.search(r'<select name="sort" id="id_sort"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)
    return [(value, label) for value, _, label in options], [label for _, chosen, label in options if chosen]


def test_one_sort_menu_that_shows_the_sort_in_effect(client, seed):
    # Before: a blank "Best match" beside "Relevance", shown while sorting newest first.
    options, chosen = sort_menu(client.get("/browse/").content.decode())
    assert options[:2] == [("", "Newest"), ("stars", "Most stars")] and chosen == ["Newest"]
    assert "Relevance" not in dict(options).values() and "Best match" not in html_of(client, "/browse/")
    options, chosen = sort_menu(client.get("/browse/?q=istio").content.decode())
    assert options[:2] == [("", "Relevance"), ("newest", "Newest")] and chosen == ["Relevance"]
    # Choosing "Newest" with a search keeps it (it used to flip back to "Best match").
    _, chosen = sort_menu(client.get("/browse/?q=istio&sort=newest").content.decode())
    assert chosen == ["Newest"]
    _, chosen = sort_menu(client.get("/browse/?sort=stars").content.decode())
    assert chosen == ["Most stars"]
    # A search typed on a page sorted by its default gets the search's default, relevance.
    response = client.get("/browse/", {"q": "istio", "sort": "", "per_page": "20"})
    assert response.status_code == 302 and response["Location"] == "/browse/?q=istio"


def html_of(client, url):
    return client.get(url).content.decode()


# --- bad values, in the reader's words --------------------------------------------------------


def test_bad_list_options_are_reported_not_silently_replaced(client, seed):
    data = client.get("/browse/?per_page=7&sort=bogus&view=wide&format=json").json()
    assert data["per_page"] == 20 and data["sort"] == "newest" and data["count"] == 53
    assert data["errors"] == {
        "per_page": ["“7” is not offered (choose 20, 50 or 100); showing 20 a page."],
        "sort": ["“bogus” is not a way to sort; sorted the default way instead."],
        "view": ["“wide” is not a view (compact, cards or table); showing the compact list."],
    }
    html = client.get("/browse/?per_page=7").content.decode()
    assert "Per page: “7” is not offered (choose 20, 50 or 100); showing 20 a page." in html


def test_a_backwards_year_range_is_explained_and_changes_nothing(client, seed):
    data = client.get("/browse/?year_min=2025&year_max=2020&format=json").json()
    assert data["errors"] == {"year_max": ["2020 is before 2025 (Year from); the year range was not applied."]}
    assert data["count"] == Entry.objects.count()
    assert client.get("/browse/?language=nonexistent&format=json").json()["errors"] == {
        "language": ["no “nonexistent” in the catalog; this filter was not applied."]
    }


# --- empty states ---------------------------------------------------------------------------


def test_every_suggestion_of_an_empty_result_has_its_count(client, seed):
    # Before: "Without Without: LEGACY", and no count for the search or an excluded label.
    base = "/browse/?q=kiali&kind=guide&not_label=community-tool"
    html = client.get(base).content.decode()
    assert "Without Without" not in html and "→" not in html

    def count(query):
        return client.get(f"/browse/?{query}&format=json").json()["count"]

    assert count(base.split("?", 1)[1]) == 0
    without_kind, without_search = (
        count("q=kiali&not_label=community-tool"),
        count("kind=guide&not_label=community-tool"),
    )
    without_exclusion = count("q=kiali&kind=guide")
    assert without_kind + without_exclusion > 0
    assert f"Remove <strong>Content kind: GUIDE</strong></a> (gives {without_kind} entr" in html
    assert f"Remove <strong>Excluding: COMMUNITY-TOOL</strong></a> (gives {without_exclusion} entr" in html
    assert f"Remove <strong>Search: “kiali”</strong></a> (gives {without_search} entr" in html
    assert f"Remove them all</a> (gives {Entry.objects.count()} entries)" in html


# --- pagination ------------------------------------------------------------------------------


def test_page_numbers_keep_first_last_and_a_window():
    assert page_numbers(1, 1) == [1]
    assert page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(1, 30) == [1, 2, 3, None, 30]
    assert page_numbers(15, 30) == [1, None, 13, 14, 15, 16, 17, None, 30]
    assert page_numbers(30, 30) == [1, None, 28, 29, 30]
    assert page_numbers(5, 30) == [1, 2, 3, 4, 5, 6, 7, None, 30]  # no gap of a single page


def test_numbered_pagination_with_first_and_last(client, seed):
    html = client.get("/browse/?page=2").content.decode()
    nav = re.search(r'<nav class="pagination" aria-label="Pages">(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'<a (?:rel="\w+" )?href="([^"]*)"( aria-current="page")?>(.*?)</a>', nav, re.S)
    texts = [re.sub(r"<.*?>", "", text).strip() for _, _, text in links]
    assert texts == ["« First page", "‹ Previous page", "Page 1", "Page 2", "Page 3", "Next page ›", "Last page (3) »"]
    assert [href for href, current, _ in links if current] == ["/browse/?page=2"]
    assert links[0][0] == "/browse/" and links[-1][0] == "/browse/?page=3"


# --- wording --------------------------------------------------------------------------------


def test_counts_are_pluralised_for_screen_readers(client, seed):
    html = client.get("/topics/istio/").content.decode()
    assert "> 1 entries<" not in html
    assert re.search(r'<span class="count">1<span class="visually-hidden"> entry</span>', html)


def test_edition_banner_reads_as_a_sentence(client, seed):
    html = client.get("/topics/istio/").content.decode()
    assert "edition: The curated edition" not in html
    assert "You are browsing the <strong>V2 Elite</strong>. The curated edition: rated, labelled and described." in html


# --- formats on every list -------------------------------------------------------------------


def test_label_pages_answer_json_csv_and_atom(client, seed):
    guides = list(Entry.objects.filter(labels__slug="guide").order_by("-year", "title", "id"))
    data = client.get("/labels/guide/?format=json").json()
    assert data["count"] == len(guides) and [r["title"] for r in data["results"]] == [e.title for e in guides]
    text = client.get("/labels/guide/?format=csv").content.decode().lstrip("\ufeff")
    assert [r["title"] for r in csv.DictReader(io.StringIO(text))] == [e.title for e in guides]
    feed = ET.fromstring(client.get("/labels/guide/?format=atom").content)  # noqa: S314 - our own response
    assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == [e.title for e in guides]
    assert 'type="application/json" href="/labels/guide/?format=json"' in client.get("/labels/guide/").content.decode()


def test_home_newest_list_answers_json_and_atom(client, seed):
    newest = list(Entry.objects.order_by("-created_at", "-year", "-id")[:8])
    data = client.get("/?format=json").json()
    assert [r["title"] for r in data["results"]] == [e.title for e in newest]
    feed = ET.fromstring(client.get("/?format=atom").content)  # noqa: S314 - our own response
    assert len(feed.findall(f"{ATOM}entry")) == 8


def test_entry_page_as_json(client, seed):
    entry = Entry.objects.filter(github_stars__isnull=False).first()
    data = client.get(f"/entries/{entry.pk}/?format=json").json()
    assert data["title"] == entry.title and data["github_stars"] == entry.github_stars
    placements = Placement.objects.filter(entry=entry)
    assert len(data["listed_in"]) == placements.count() >= 1
    assert data["listed_in"][0]["url"].startswith("http://testserver/topics/")
    assert data["listed_in"][0]["title"] == placements.get().shown_title


# --- download a whole result -----------------------------------------------------------------


def test_download_all_streams_every_matching_entry(client, seed):
    total = Entry.objects.count()
    html = client.get("/browse/").content.decode()
    assert f"Download all {total} entries:</strong>" in html
    assert 'href="/browse/?download=csv"' in html
    response = client.get("/browse/?download=csv")
    assert response.streaming and response["X-Entry-Count"] == str(total)
    text = b"".join(response.streaming_content).decode()
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(table) == total > 20  # every entry, not one page
    newest_first = client.get("/browse/?per_page=100&format=json").json()["results"]
    assert [r["title"] for r in table[:53]] == [r["title"] for r in newest_first]

    response = client.get("/browse/?download=jsonl&kind=guide")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == Entry.objects.filter(labels__slug="guide").count()
    assert all("GUIDE" in json.loads(line)["labels"] for line in lines)


def test_download_of_a_topic_page_holds_only_its_entries(client, catalog_fixtures):
    topic = Topic.objects.get(slug="istio", edition__slug="v2")
    expected = Entry.objects.filter(placements__section__topic=topic).distinct().count()
    response = client.get("/topics/istio/?download=jsonl")
    assert len(b"".join(response.streaming_content).decode().splitlines()) == expected


def test_download_queries_stay_bounded(client, db, django_assert_max_num_queries):
    Entry.objects.bulk_create(Entry(title=f"Bulk {i}", url=f"https://bulk.example.org/{i}") for i in range(1200))
    client.get("/browse/")
    with django_assert_max_num_queries(12):  # two a batch of 500, whatever the size
        response = client.get("/browse/?download=csv")
        body = b"".join(response.streaming_content)
    assert body.count(b"\n") == 1201


# --- the headline query ----------------------------------------------------------------------


def test_the_headline_query_finds_entries_in_the_shipped_catalog(client, catalog_fixtures):
    guide = (Path(__file__).resolve().parents[1] / "docs" / "reader-guide.md").read_text(encoding="utf-8")
    query = re.search(r"a test runs it\):\n\n    (.+)\n", guide).group(1)
    assert f'placeholder="e.g. {query}"' in client.get("/browse/").content.decode()
    response = client.get("/browse/", {"q": query})
    assert response.status_code == 302  # the operators become filters
    html = client.get(response["Location"]).content.decode()
    data = client.get(response["Location"] + "&format=json").json()
    assert data["count"] > 0 and data["errors"] == {}
    assert f"{data['count']} entr" in html
    for record in data["results"]:
        assert "COMMUNITY-TOOL" in record["labels"] and "LEGACY" not in record["labels"]
        assert 2020 <= record["year"] <= 2023


# --- a topic page's section filter ------------------------------------------------------------


def test_topic_section_filter_offers_and_counts_only_the_pages_own_sections(client, catalog_fixtures):
    from catalog import tree
    from catalog.models import Section

    topic = Topic.objects.get(slug="istio", edition__slug="v2")
    sections = list(Section.objects.filter(topic=topic).values_list("id", "parent_id", "slug"))
    children = tree.children_of(sections, parent=lambda s: s[1])
    below = {
        sid: tree.descendants([sid], {k: [c[0] for c in v] for k, v in children.items()}) for sid, _, _ in sections
    }
    expected = {}
    for sid, _, slug in sections:
        n = Entry.objects.filter(placements__section_id__in=below[sid]).distinct().count()
        if n:
            expected[f"istio/{slug}"] = n
    data = client.get("/topics/istio/?format=json").json()
    facet = next(f for f in data["facets"] if f["name"] == "section")
    offered = {v["value"]: v["count"] for v in facet["values"]}
    # Before: V1-only sections ("Docs") were offered, with counts from the V1 page.
    assert "istio/docs" not in offered
    assert offered == expected
    for key, count in list(expected.items())[:5]:
        html = client.get(f"/topics/istio/?section={key}").content.decode()
        assert f"{count} of this page's entries match" in html
        shown = {int(pk) for pk in rows(html)}
        placed = set(
            Placement.objects.filter(section__topic=topic, section__slug=key.split("/")[1]).values_list(
                "entry_id", flat=True
            )
        )
        assert placed <= shown
