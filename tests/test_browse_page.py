"""/browse/ and topic-page filtering: shareable URLs, formats, bad input, query counts."""

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Entry, Label

from .conftest import build_catalog

ATOM = "{http://www.w3.org/2005/Atom}"


def titles(html):
    return re.findall(r'class="entry__title" href="[^"]*" rel="noopener noreferrer">(.*?)</a>', html)


def plain(html_fragment):
    return re.sub(r"</?mark>", "", html_fragment).replace("&#x27;", "'").replace("&amp;", "&")


@pytest.fixture
def nocache(settings):
    settings.BROWSE_CACHE_SECONDS = 0


def test_browse_lists_the_catalog_with_facets_and_counts(client, seed):
    html = client.get("/browse/").content.decode()
    assert "53 entries, page 1 of 3" in html
    assert len(titles(html)) == 20
    kind = re.search(r'aria-labelledby="facet-kind">(.*?)</section>', html, re.S).group(1)
    guide_count = Entry.objects.filter(labels__slug="guide").count()
    assert re.search(rf'href="/browse/\?kind=guide"[^>]*>.*?GUIDE.*?<span class="count">{guide_count}<', kind, re.S)


def test_a_label_filter_is_a_shareable_url(client, seed):
    html = client.get("/browse/?kind=guide").content.decode()
    expected = set(Entry.objects.filter(labels__slug="guide").values_list("title", flat=True))
    assert {plain(t) for t in titles(html)} == expected
    assert "Content kind: GUIDE" in html  # the active filter as a chip
    assert 'href="/browse/"' in html  # its remove link / clear all


def test_every_format_lists_the_same_entries(client, seed):
    url = "/browse/?maturity=de-facto-standard&sort=stars&per_page=50"
    html = client.get(url).content.decode()
    shown = [plain(t) for t in titles(html)]
    assert len(shown) > 3

    data = client.get(url + "&format=json").json()
    assert data["count"] == len(shown)
    assert [r["title"] for r in data["results"]] == shown
    first = data["results"][0]
    assert set(first) >= {"title", "url", "year", "github_stars", "language", "rating", "featured", "labels"}
    assert first["github_stars"] == max(r["github_stars"] or 0 for r in data["results"])
    assert first["permalink"].startswith("http://testserver/entries/")
    maturity = next(f for f in data["facets"] if f["name"] == "maturity")
    chosen = next(v for v in maturity["values"] if v["value"] == "de-facto-standard")
    assert chosen["selected"] and chosen["count"] == len(shown)
    assert "format=json" in chosen["toggle_url"] and "maturity=" not in chosen["toggle_url"]
    other = next(v for v in maturity["values"] if not v["selected"])
    assert client.get(other["toggle_url"]).json()["count"] == chosen["count"] + other["count"]

    response = client.get(url + "&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["title"] for r in rows] == shown

    atom = client.get(url + "&format=atom")
    assert atom["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom.content)  # noqa: S314 - our own response
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == shown
    for e in entries:
        assert e.find(f"{ATOM}id").text and e.find(f"{ATOM}updated").text

    for fmt, kind in (("json", "application/json"), ("csv", "text/csv"), ("atom", "application/atom+xml")):
        assert re.search(rf'<link rel="alternate" type="{re.escape(kind)}" href="[^"]*format={fmt}', html)


def test_csv_refuses_formula_injection(client, make):
    make.entry(title='=HYPERLINK("http://evil")', url="https://example.org/f", description="+cmd|' /C calc'!A0")
    rows = list(csv.reader(io.StringIO(client.get("/browse/?format=csv").content.decode().lstrip("\ufeff"))))
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'
    assert rows[1][8] == "'+cmd|' /C calc'!A0"


def test_query_syntax_maps_onto_the_facet_parameters(client, seed):
    response = client.get("/browse/", {"q": "kiali label:guide lang:go year:2021..2023 -label:legacy is:featured"})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/browse/?")
    params = dict(re.findall(r"([a-z_]+)=([^&]*)", location.split("?", 1)[1]))
    assert params == {
        "q": "kiali",
        "language": "go",
        "year_min": "2021",
        "year_max": "2023",
        "not_label": "legacy",
        "featured": "1",
        "kind": "guide",
    }


def test_old_parameter_names_keep_working(client, seed):
    response = client.get("/browse/?lang=go&tag=guide")
    assert response.status_code == 302
    assert response["Location"] == "/browse/?language=go&kind=guide"


def test_search_ranks_title_matches_first_and_highlights_safely(client, make):
    make.entry(title="Kiali dashboards", url="https://kiali.io/a", description="Observability console.")
    make.entry(title="Some other tool", url="https://example.org/b", description="Works with kiali too.")
    make.entry(title="<script>alert('kiali')</script>", url="https://example.org/c", description="x")
    make.entry(title="Nothing", url="https://example.org/d", description="Unrelated.")
    data = client.get("/browse/?q=kiali&format=json").json()
    assert data["count"] == 3
    assert data["results"][0]["title"] == "Kiali dashboards"
    html = client.get("/browse/?q=kiali").content.decode()
    assert "<mark>Kiali</mark> dashboards" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;<mark>kiali</mark>&#x27;)&lt;/script&gt;" in html


def test_search_index_follows_every_write(client, make):
    label = make.label(name="OBSERVABILITY", slug="observability")
    entry = make.entry(title="Tracing with Jaeger", url="https://jaegertracing.io", description="Spans.")

    def found(text):
        return client.get("/browse/", {"q": text, "format": "json"}).json()["count"]

    assert found("jaeger") == 1 and found("observability") == 0
    entry.labels.add(label)
    assert found("observability") == 1
    Label.objects.filter(pk=label.pk).update(name="TELEMETRY")
    assert found("telemetry") == 1 and found("observability") == 0
    Entry.objects.filter(pk=entry.pk).update(title="Distributed spans")
    assert found("jaeger") == 1  # still in the URL
    assert found("distributed") == 1
    label.refresh_from_db()
    entry.labels.remove(label)
    assert found("telemetry") == 0
    Entry.objects.filter(pk=entry.pk).delete()
    assert found("distributed") == 0


def test_cached_page_changes_after_a_write(client, seed, settings):
    settings.BROWSE_CACHE_SECONDS = 600
    first = client.get("/browse/?kind=guide&format=json").json()["count"]
    assert client.get("/browse/?kind=guide&format=json").json()["count"] == first
    entry = Entry.objects.exclude(labels__slug="guide").first()
    entry.labels.add(Label.objects.get(slug="guide"))
    assert client.get("/browse/?kind=guide&format=json").json()["count"] == first + 1


def test_unknown_parameters_are_ignored(client, seed):
    plain_page = client.get("/browse/?kind=guide&format=json").json()
    noisy = client.get("/browse/?kind=guide&format=json&utm_source=x&foo=bar").json()
    assert noisy["count"] == plain_page["count"] and noisy["errors"] == {}


def test_an_invalid_value_is_an_error_on_its_field_and_the_rest_applies(client, seed):
    response = client.get("/browse/?kind=guide&year_min=abc&edition=nope")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Some filters were not applied" in html
    assert "Year from: that is not a year; this filter was not applied." in html
    assert "Edition: no “nope” in the catalog; this filter was not applied." in html
    assert "Select a valid choice" not in html
    assert len(titles(html)) == Entry.objects.filter(labels__slug="guide").count()
    data = client.get("/browse/?kind=guide&rating_min=9&format=json").json()
    assert set(data["errors"]) == {"rating_min"}
    assert data["count"] == Entry.objects.filter(labels__slug="guide").count()


def test_a_page_past_the_end_gives_the_last_page(client, seed):
    html = client.get("/browse/?page=999").content.decode()
    assert "page 3 of 3" in html and len(titles(html)) == 13
    assert "page 1 of 3" in client.get("/browse/?page=abc").content.decode()


def test_a_huge_query_is_trimmed(client, seed):
    response = client.get("/browse/", {"q": "istio " * 2000})
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 200
    assert len(response["Location"]) < 400


def test_no_results_offers_to_drop_each_filter(client, seed):
    html = client.get("/browse/?kind=documentation&maturity=legacy").content.decode()
    assert "No entry matches all 2 of these filters. Remove one to see entries:" in html
    docs = Entry.objects.filter(labels__slug="documentation").count()
    legacy = Entry.objects.filter(labels__slug="legacy").count()
    assert f"Remove <strong>Content kind: DOCUMENTATION</strong></a> (gives {legacy} entr" in html
    assert f"Remove <strong>Maturity tier: LEGACY</strong></a> (gives {docs} entr" in html
    assert f"Remove them all</a> (gives {Entry.objects.count()} entries)" in html


def test_long_facets_show_the_top_values_then_more(client, make):
    for i in range(15):
        make.entry(url=f"https://site{i:02d}.example.org/x", title=f"Site {i}")
    html = client.get("/browse/").content.decode()
    site = re.search(r'aria-labelledby="facet-site">(.*?)</section>', html, re.S).group(1)
    assert site.count('<a class="facet__value') == 10
    assert "Show 5 more" in site
    more = client.get("/browse/?more=site").content.decode()
    site = re.search(r'aria-labelledby="facet-site">(.*?)</section>', more, re.S).group(1)
    assert site.count('<a class="facet__value') == 15 and "Show fewer" in site


@pytest.mark.parametrize("entries", [20, 200])
@pytest.mark.parametrize(
    "url",
    [
        "/browse/",
        "/browse/?kind=guide",
        "/browse/?edition=e1&maturity=standard&language=go",
        "/browse/?q=istio",
        "/browse/?q=istio&kind=tool&year_min=2020",
        "/browse/?page=3&format=json",
        "/topics/topic-0-0/e1/?kind=guide",
    ],
)
def test_browse_query_count_is_bounded(client, make, nocache, django_assert_max_num_queries, entries, url):
    build_catalog(make, entries=entries)
    client.get("/labels/")  # no index yet
    client.get(url)  # builds the facet index for this data version (and the search's, for a query)
    with django_assert_max_num_queries(8):
        response = client.get(url)
    assert response.status_code == 200


def test_topic_page_filters_within_the_topic(client, seed):
    html = client.get("/topics/istio/?maturity=legacy").content.decode()
    legacy = set(Entry.objects.filter(labels__slug="legacy").values_list("title", flat=True))
    shown = {
        plain(t) for t in re.findall(r'class="entry__title" href="[^"]*" rel="noopener noreferrer">(.*?)</a>', html)
    }
    assert shown == legacy
    assert f"{len(legacy)} of this page's entries match" in html
    outline = html.split('id="topic-results"', 1)[1].split('<nav class="related"', 1)[0]
    assert 'id="cloud-native-service-mesh-istio-examples"' not in outline  # a section without a match is left out
    assert 'id="cloud-native-infrastructure-service-mesh-aws"' in outline
    assert client.get("/topics/istio/?maturity=legacy&format=json").json()["count"] == len(legacy)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "q",
                    "kind",
                    "edition",
                    "year_min",
                    "year_max",
                    "stars_min",
                    "rating_min",
                    "page",
                    "sort",
                    "per_page",
                    "format",
                    "more",
                    "section",
                    "label",
                    "lang",
                    "featured",
                    "site",
                    "zzz",
                ]
            ),
            st.text(max_size=30),
        ),
        max_size=6,
    )
)
def test_no_input_gives_a_server_error(client, seed, pairs):
    response = client.get("/browse/", pairs)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert client.get(response["Location"]).status_code == 200


def test_a_cached_page_costs_one_query(client, seed, settings, django_assert_num_queries):
    settings.BROWSE_CACHE_SECONDS = 600
    first = client.get("/browse/?kind=guide")
    with django_assert_num_queries(1):  # the data version
        again = client.get("/browse/?kind=guide")
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] and again["X-Frame-Options"] == "DENY"
    client.cookies["sessionid"] = "signed-in"
    with CaptureQueriesContext(connection) as queries:
        signed_in = client.get("/browse/?kind=guide")
    assert len(queries) > 1  # rendered again for a signed-in user, not served from the cache
    assert signed_in.content == first.content
