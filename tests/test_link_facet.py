"""The "Link status" facet: counts equal the database's answer (the browse
property test, over a catalog with every link state and some unpublished
entries), dead links out of the default list, and a way to show them."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import facet_index
from catalog.models import Entry, LinkState

from .conftest import build_catalog
from .test_browse_facets import PARAMS, browse, check_against_database, database_ids

pytestmark = pytest.mark.django_db

STATES = [key for key, _ in LinkState.choices]


@pytest.fixture
def catalog(make):
    build_catalog(make)
    for i, pk in enumerate(Entry.objects.order_by("id").values_list("id", flat=True)):
        Entry.objects.filter(pk=pk).update(link_state=STATES[(i * 7) % len(STATES)], published=i % 13 != 4)
    return facet_index.get_index()


def test_the_default_list_leaves_out_dead_and_unpublished_links(catalog):
    result = check_against_database(catalog, {})
    listed = Entry.objects.filter(published=True).exclude(link_state="dead")
    assert result.count == listed.count() > 0
    assert not any(e.link_state == "dead" or not e.published for e in browse(catalog, {}).entries)
    panel = next(p for p in result.facets if p.name == "link")
    counts = {v.value: v.count for v in panel.values}
    assert counts["dead"] == Entry.objects.filter(published=True, link_state="dead").count() > 0
    assert not any(v.selected for v in panel.values)
    assert not [c for c in browse(catalog, {}, fmt=None).chips if c.label.startswith("Link status")]


def test_choosing_dead_shows_the_dead_links_with_a_chip(catalog):
    result = check_against_database(catalog, {"link": ["dead"]})
    assert result.count == Entry.objects.filter(published=True, link_state="dead").count()
    assert {e.link_state for e in result.entries} == {"dead"}
    chips = browse(catalog, {"link": ["dead"]}, fmt=None).chips
    assert [c.label for c in chips] == ["Link status: Dead"]


def test_every_state_can_be_shown_at_once(catalog):
    result = check_against_database(catalog, {"link": STATES})
    assert result.count == Entry.objects.filter(published=True).count()


def test_the_browse_page_offers_the_facet(client, catalog):
    html = client.get("/browse/").content.decode()
    assert "Link status" in html
    assert "link=dead" in html


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(PARAMS, st.lists(st.sampled_from(STATES), max_size=3, unique=True))
def test_random_filters_with_link_states_match_the_database(catalog, params, states):
    if states:
        params = {**params, "link": states}
    check_against_database(catalog, params)
    assert len(database_ids(catalog, params)) == check_against_database(catalog, params).count


def test_the_index_follows_a_state_change_and_an_unpublish(catalog):
    before = browse(catalog, {}).count
    alive = Entry.objects.filter(published=True).exclude(link_state="dead").order_by("id")
    first, second = alive[0], alive[1]
    Entry.objects.filter(pk=first.pk).update(link_state="dead")
    Entry.objects.filter(pk=second.pk).update(published=False)
    index = facet_index.get_index()
    assert index is not catalog
    result = check_against_database(index, {})
    assert result.count == before - 2
    assert first.pk in database_ids(index, {"link": ["dead"]})
    assert first.pk in {e.id for e in browse(index, {"link": ["dead"]}).entries}
