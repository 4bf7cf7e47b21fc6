"""Home, entry permalink and label pages."""

import json
import re

import pytest
from django.conf import settings

from catalog.models import Entry, Label, LinkState

from .conftest import DEFAULT_FIXTURES


def fixture_entry_count(edition, topic_slug):
    """Distinct entries a topic has in the committed fixtures, read from the JSON files themselves."""
    urls = set()
    for name in DEFAULT_FIXTURES:
        for obj in json.loads((settings.BASE_DIR / "fixtures" / f"{name}.json").read_text(encoding="utf-8")):
            if obj["model"] == "catalog.placement" and obj["fields"]["section"][:2] == [edition, topic_slug]:
                urls.add(obj["fields"]["entry"][0])
    return len(urls)


def test_home_lists_dimensions_topics_with_counts_and_newest(client, catalog_fixtures, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        html = client.get("/").content.decode()
    assert "Networking &amp; Service Mesh" in html
    assert re.search(r'href="/topics/istio/v2/">Istio - Service Mesh</a> <span class="count">53 entries</span>', html)
    # The related topics of the seed page now have the corpus's entries.
    for slug, title in [("cloudflare", "Cloudflare"), ("kubernetes-networking", "Kubernetes Networking")]:
        count = fixture_entry_count("v2", slug)
        assert count > 0
        assert re.search(rf'href="/topics/{slug}/v2/">{title}</a> <span class="count">{count} entries</span>', html)
    assert html.count('<li class="entry"') == 8


def test_home_counts_only_what_the_topic_page_lists(client, seed):
    """An unpublished entry or a dead link leaves the topic's count, as it leaves its page."""
    istio = Entry.objects.filter(
        placements__section__topic__slug="istio", placements__section__topic__edition__slug="v2"
    )
    gone, dead = istio.order_by("id")[:2]
    Entry.objects.filter(pk=gone.pk).update(published=False)
    Entry.objects.filter(pk=dead.pk).update(link_state=LinkState.DEAD)
    html = client.get("/").content.decode()
    assert re.search(r'href="/topics/istio/v2/">Istio - Service Mesh</a> <span class="count">51 entries</span>', html)


def test_home_of_the_v1_archive_lists_its_imported_topics(client, catalog_fixtures, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        html = client.get("/editions/v1/").content.decode()
    shown = re.findall(r'href="/topics/([\w-]+)/v1/">[^<]+</a> <span class="count">(\d+) entries</span>', html)
    expected = ["caching", "cloudflare", "istio", "kubernetes-networking", "networking", "servicemesh", "web-servers"]
    assert [slug for slug, _ in shown] == expected
    assert {slug: int(n) for slug, n in shown} == {slug: fixture_entry_count("v1", slug) for slug in expected}


def test_home_of_an_edition_without_topics(client, seed, make):
    empty = make.edition(name="Empty Edition", slug="empty")
    html = client.get(f"/editions/{empty.slug}/").content.decode()
    assert "The Empty Edition has no topics yet." in html
    assert client.get("/editions/v7/").status_code == 404


def test_home_on_an_empty_database(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "The catalog is empty" in response.content.decode()


def test_entry_permalink_shows_metadata_and_where_it_is_listed(client, seed, django_assert_max_num_queries):
    entry = Entry.objects.get(url="https://github.com/istio-ecosystem/admiral")
    with django_assert_max_num_queries(5):
        html = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "<h1>istio-ecosystem/admiral</h1>" in html
    assert "639" in html and "5 of 5" in html and ">Go<" in html and ">DE FACTO STANDARD</a>" in html
    assert "Istio - Service Mesh › Cloud Native Infrastructure › Multi-Cluster › Automation" in html
    assert 'href="/topics/istio/v2/#cloud-native-infrastructure-multi-cluster-automation"' in html
    assert client.get("/entries/999999/").status_code == 404


def test_label_page_lists_its_entries_once(client, seed, make, django_assert_max_num_queries):
    label = Label.objects.get(name="DE FACTO STANDARD")
    expected = set(Entry.objects.filter(labels=label).values_list("title", flat=True))
    assert len(expected) > 3
    with django_assert_max_num_queries(5):
        html = client.get(f"/labels/{label.slug}/").content.decode()
    assert f"{len(expected)} entries" in html
    shown = set(re.findall(r'class="entry__title" href="[^"]+" rel="noopener noreferrer">([^<]+)</a>', html))
    assert {t.replace("&#x27;", "'") for t in shown} == expected
    assert client.get("/labels/no-such-label/").status_code == 404


@pytest.mark.parametrize("count", [3, 120])
def test_label_page_is_paginated_with_constant_queries(client, make, django_assert_max_num_queries, count):
    label = make.label(name="PAGED", slug="paged")
    for i in range(count):
        make.entry(title=f"Paged {i:03d}", labels=[label], year=2000 + i % 20)
    with django_assert_max_num_queries(5):
        html = client.get("/labels/paged/").content.decode()
    assert html.count('<li class="entry"') == min(count, 50)
    assert f"{count} entries" in html
    if count > 50:
        assert 'href="/labels/paged/?page=2"' in html
        last = client.get("/labels/paged/?page=99").content.decode()
        assert last.count('<li class="entry"') == count - 100
        assert client.get("/labels/paged/?page=abc").status_code == 200


def test_labels_index_groups_labels_with_counts(client, seed, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        html = client.get("/labels/").content.decode()
    assert html.index("Maturity tier") < html.index("Content kind") < html.index("Level")
    guide = Label.objects.get(name="GUIDE")
    assert re.search(rf'>GUIDE</a> <span class="count">{guide.tagged_entries.count()} entr', html)
