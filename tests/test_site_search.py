"""The header search: topics, sections and entries, grouped; the query operators on the database in use."""

import pytest

from catalog.models import Entry, LinkState
from catalog.search import matching_ids, parse_query


@pytest.fixture
def little_mesh(make):
    """Two topics with sections and entries whose words the queries below pick apart."""
    mesh = make.topic(slug="service-mesh", title="Service Mesh", context="Sidecars and the data plane of a mesh.")
    gateways = make.topic(slug="gateways", title="API Gateways", edition=mesh.edition)
    observability = make.section(topic=mesh, title="Observability with Kiali", slug="observability")
    proxies = make.section(topic=gateways, title="Envoy based proxies", slug="proxies")
    entries = {
        "istio": make.entry(section=observability, title="Istio service mesh", url="https://istio.io"),
        "kiali": make.entry(section=observability, title="Kiali console for Istio", url="https://kiali.io"),
        "envoy": make.entry(section=proxies, title="Envoy proxy", url="https://envoyproxy.io"),
        "linkerd": make.entry(section=observability, title="Linkerd, a mesh service", url="https://linkerd.io"),
    }
    return mesh, gateways, entries


def urls(ids, entries):
    by_id = {entry.pk: name for name, entry in entries.items()}
    return {by_id[i] for i in ids}


def test_parse_query_reads_the_three_operators():
    query = parse_query('istio "service mesh" -kiali envoy OR linkerd')
    assert [[t.words for t in clause] for clause in query.clauses] == [
        [("istio",)],
        [("service", "mesh")],
        [("envoy",), ("linkerd",)],
    ]
    assert [t.words for t in query.excluded] == [("kiali",)]
    assert not parse_query("OR") and not parse_query('""') and not parse_query("!!! ---")
    # Quotes and operators inside a word cannot change the database query's shape.
    assert parse_query('a"b OR').fts5() == '("a"*) AND ("b"*)'


def test_operators_on_entries(little_mesh):
    _, _, entries = little_mesh
    assert urls(matching_ids("istio"), entries) == {"istio", "kiali"}
    assert urls(matching_ids("istio -kiali"), entries) == {"istio"}
    assert urls(matching_ids('"service mesh"'), entries) == {"istio"}  # Linkerd's words are "mesh service"
    assert urls(matching_ids("mesh service"), entries) == {"istio", "linkerd"}
    assert urls(matching_ids("envoy OR linkerd"), entries) == {"envoy", "linkerd"}
    assert urls(matching_ids("-kiali -envoy"), entries) == {"istio", "linkerd"}
    assert matching_ids("   ") is None


def test_results_page_groups_topics_sections_and_entries(client, little_mesh, django_assert_max_num_queries):
    mesh, gateways, _ = little_mesh
    matching_ids("kiali")  # the process's search index is read once (catalog/search_index.py)
    with django_assert_max_num_queries(8):
        html = client.get("/search/", {"q": "kiali"}).content.decode()
    assert 'id="hits-topics"' in html and 'id="hits-sections"' in html and 'id="hits-entries"' in html
    assert 'Topics <span class="count">(0)</span>' in html
    assert 'Sections <span class="count">(1)</span>' in html and "<mark>Kiali</mark></a>" in html
    assert 'Entries <span class="count">(1)</span>' in html and "https://kiali.io" in html


def test_topic_prose_and_section_headings_are_found(client, little_mesh):
    mesh, gateways, _ = little_mesh
    data = client.get("/search/", {"q": "sidecars", "format": "json"}).json()  # only in the topic's context
    assert [hit["title"] for hit in data["topics"]["results"]] == ["Service Mesh"]
    assert data["topics"]["results"][0]["url"] == mesh.get_absolute_url()
    data = client.get("/search/", {"q": "proxies -kiali", "format": "json"}).json()
    assert data["sections"]["count"] == 1 and data["sections"]["results"][0]["url"].endswith("#proxies")
    data = client.get("/search/", {"q": "gateways OR observability", "format": "json"}).json()
    assert (data["topics"]["count"], data["sections"]["count"]) == (1, 1)


def test_every_page_has_the_header_search_box(client, little_mesh):
    mesh, _, entries = little_mesh
    for path in ["/", "/browse/", mesh.get_absolute_url(), entries["istio"].get_absolute_url(), "/labels/"]:
        html = client.get(path).content.decode()
        assert 'role="search" action="/search/"' in html and 'id="site-search-q"' in html, path


def test_a_query_without_words_shows_no_results_and_a_long_one_is_cut(client, little_mesh):
    response = client.get("/search/", {"q": "-- !!"})
    assert response.status_code == 200 and "result" not in response.content.decode().split("<h1>Search</h1>")[1][:10]
    data = client.get("/search/", {"q": "istio " * 200, "format": "json"}).json()
    assert len(data["query"]) == 200 and data["entries"]["count"] == 2


def test_unpublished_entries_and_dead_links_are_never_found(client, little_mesh):
    _, _, entries = little_mesh
    entries["istio"].published = False
    entries["istio"].save()
    data = client.get("/search/", {"q": "istio", "format": "json"}).json()
    assert [hit["title"] for hit in data["entries"]["results"]] == ["Kiali console for Istio"]
    assert "Istio service mesh" not in client.get("/search/", {"q": "istio"}).content.decode()
    Entry.objects.filter(pk=entries["envoy"].pk).update(link_state=LinkState.DEAD)
    assert client.get("/search/", {"q": "envoy", "format": "json"}).json()["entries"]["count"] == 0
