"""Bulk curation on the entry list: each action shows what will change, applies it in one
transaction through one service, and records it in the history."""

import pytest
from django.contrib.admin import helpers

from catalog.models import Change, Entry, Placement

URL = "/admin/catalog/entry/"


@pytest.fixture
def curator(make, client):
    user = make.staff("curator", username="cleo")
    client.force_login(user)
    return user


@pytest.fixture
def three(little_catalog, make):
    """Three entries: two in mTLS (one is little_catalog's Envoy Gateway), one in Security."""
    a = little_catalog.entry
    b = make.entry(title="Bravo", section=little_catalog.mtls, rating=2)
    c = make.entry(title="Charlie", section=little_catalog.security, featured=True)
    return [a, b, c]


def post(client, action, entries, step=None, **params):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [e.pk for e in entries], **params}
    if step:
        data[step] = "1"
    return client.post(URL, data)


def state(entries):
    return [
        (
            e.title,
            e.rating,
            e.featured,
            sorted(e.labels.names()),
            sorted(Placement.objects.filter(entry=e).values_list("section_id", flat=True)),
        )
        for e in Entry.objects.filter(pk__in=[x.pk for x in entries]).order_by("pk")
    ]


def apply(client, action, entries, **params):
    """The three steps a curator takes: choose, see what will change, confirm."""
    first = post(client, action, entries)
    assert first.status_code == 200
    before = state(entries)
    preview = post(client, action, entries, step="_preview", **params)
    assert preview.status_code == 200, preview.content.decode()[:3000]
    assert state(entries) == before  # the preview changes nothing
    done = post(client, action, entries, step="_apply", **params)
    assert done.status_code == 302, done.content.decode()[:3000]
    return first.content.decode(), preview.content.decode()


def test_set_rating(three, curator, client):
    first, preview = apply(client, "set_rating", three, rating=4)
    assert "Bravo" in first and "Set the rating" in first
    assert "3</strong> of 3 selected entries will change" in preview
    assert [e.rating for e in Entry.objects.filter(pk__in=[e.pk for e in three]).order_by("pk")] == [4, 4, 4]
    changes = Change.objects.filter(source="bulk")
    assert changes.count() == 3 and {c.user for c in changes} == {curator}
    assert changes.get(entry=three[1]).values == {"rating": [2, 4]}
    assert changes.get(entry=three[0]).note == "Set the rating"


def test_clear_rating(three, curator, client):
    apply(client, "set_rating", three, rating="")
    assert not Entry.objects.filter(rating__isnull=False).exists()
    assert Change.objects.get().values == {"rating": [2, None]}  # only Bravo had one


def test_featured_on_and_off_confirm_first(three, curator, client):
    page = post(client, "set_featured", three).content.decode()
    assert "2</strong> of 3 selected entries will change; 1 already is so" in page
    assert not Entry.objects.filter(pk=three[0].pk, featured=True).exists()
    post(client, "set_featured", three, step="_apply")
    assert Entry.objects.filter(featured=True).count() == 3
    post(client, "clear_featured", three, step="_apply")
    assert Entry.objects.filter(featured=True).count() == 0
    assert Change.objects.filter(source="bulk").count() == 5


def test_add_and_remove_labels(three, curator, client, little_catalog):
    guide, emerging = little_catalog.labels["GUIDE"], little_catalog.labels["EMERGING"]
    _, preview = apply(client, "add_labels", three, labels=[guide.pk, emerging.pk])
    assert "GUIDE" in preview and "EMERGING" in preview
    assert all(set(e.labels.names()) == {"GUIDE", "EMERGING"} for e in Entry.objects.all())
    assert Change.objects.get(entry=three[0]).values == {"labels": [["GUIDE"], ["EMERGING", "GUIDE"]]}
    apply(client, "remove_labels", three[:2], labels=[guide.pk])
    assert [sorted(e.labels.names()) for e in Entry.objects.order_by("pk")] == [
        ["EMERGING"],
        ["EMERGING"],
        ["EMERGING", "GUIDE"],
    ]


def test_set_the_maturity_tier_replaces_the_old_one(three, curator, client, little_catalog):
    three[0].labels.add(little_catalog.labels["EMERGING"])
    standard = little_catalog.labels["DE FACTO STANDARD"]
    first, _ = apply(client, "set_choice", three, choice=f"maturity:{standard.pk}")
    assert "no maturity tier" in first
    assert [sorted(e.labels.names()) for e in Entry.objects.order_by("pk")] == [
        ["DE FACTO STANDARD", "GUIDE"],
        ["DE FACTO STANDARD"],
        ["DE FACTO STANDARD"],
    ]
    apply(client, "set_choice", three[:1], choice="maturity:none")
    assert sorted(Entry.objects.get(pk=three[0].pk).labels.names()) == ["GUIDE"]


def test_place_move_and_unplace_with_full_section_paths(three, curator, client, little_catalog):
    mtls, other = little_catalog.mtls, little_catalog.other_section
    first, preview = apply(client, "place", three, section=other.pk)
    assert "V2 Elite › Istio - Service Mesh › Security › mTLS" in first  # the choices are full paths
    assert "V2 Elite › Linkerd › Getting started" in preview
    assert Placement.objects.filter(section=other).count() == 3
    first, _ = apply(client, "move", three, source=mtls.pk, target=little_catalog.security.pk)
    assert Placement.objects.filter(section=mtls).count() == 0
    assert Placement.objects.filter(section=little_catalog.security).count() == 3
    apply(client, "unplace", three, section=other.pk)
    assert not Placement.objects.filter(section=other).exists()
    moved = Change.objects.filter(entry=three[1], note="Move from one section to another").get()
    assert moved.values == {"placements": [sorted([mtls.pk, other.pk]), sorted([little_catalog.security.pk, other.pk])]}


def test_a_refusal_midway_changes_nothing(three, curator, client, little_catalog):
    """The last entry already has a tier: adding another to all three is refused as a whole."""
    three[2].labels.add(little_catalog.labels["EMERGING"])
    before = state(three)
    response = post(client, "add_labels", three, step="_apply", labels=[little_catalog.labels["DE FACTO STANDARD"].pk])
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was changed." in page and "“Charlie”: An entry has at most one Maturity tier label" in page
    assert state(three) == before and not Change.objects.exists()


def test_a_failure_inside_the_transaction_leaves_nothing(three, curator, little_catalog, monkeypatch):
    from catalog.services import curation, history

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "record", explode)
    before = state(three)
    with pytest.raises(RuntimeError):
        curation.entries_bulk_edit(
            entries=three,
            operation="place",
            actor=history.Actor.person(curator),
            section=little_catalog.other_section,
        )
    assert state(three) == before


def test_bad_parameters_are_refused_with_a_message(three, curator, client):
    response = post(client, "place", three, step="_apply", section="99999")
    assert response.status_code == 422
    assert "is not one of the sections offered" in response.content.decode()
    response = post(client, "set_rating", three, step="_preview")
    assert response.status_code == 422 and "Choose a rating" in response.content.decode()
    assert not Change.objects.exists()


def test_moderators_have_no_bulk_actions(three, make, client):
    client.force_login(make.staff("moderator"))
    assert post(client, "set_rating", three, step="_apply", rating=1).status_code == 403
    assert not Change.objects.exists()
