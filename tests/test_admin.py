"""Curators can list, filter, search and edit every catalog model in the admin."""

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Entry, Label, Section

MODELS = ["edition", "dimension", "topic", "section", "labelgroup", "label", "entry", "placement"]


@pytest.fixture
def curator_client(client, db):
    user = get_user_model().objects.create_superuser("curator", "curator@example.org", "pw-not-used-elsewhere")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_changelist_and_add_form(curator_client, seed, model, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        changelist = curator_client.get(f"/admin/catalog/{model}/")
    assert changelist.status_code == 200
    assert curator_client.get(f"/admin/catalog/{model}/add/").status_code == 200


def test_entry_changelist_search_and_filter(curator_client, seed):
    html = curator_client.get("/admin/catalog/entry/", {"q": "admiral"}).content.decode()
    assert "istio-ecosystem/admiral" in html and "1 result" in html
    featured = curator_client.get("/admin/catalog/entry/", {"featured__exact": "1"}).content.decode()
    assert f"{Entry.objects.filter(featured=True).count()} entries" in featured


def test_curator_edits_an_entry_and_the_page_shows_it(curator_client, seed, client):
    entry = Entry.objects.get(url="https://github.com/envoyproxy/gateway")
    data = {
        "title": "Envoy Gateway (renamed)",
        "url": entry.url,
        "year": 2024,
        "description": "Edited by a curator.",
        "github_stars": 3000,
        "language": "Go",
        "rating": 4,
        "labels_maturity": Label.objects.get(name="DE FACTO STANDARD").pk,
        "labels_kind": [Label.objects.get(name="GUIDE").pk],
        "placements-TOTAL_FORMS": 0,
        "placements-INITIAL_FORMS": 0,
        "placements-MIN_NUM_FORMS": 0,
        "placements-MAX_NUM_FORMS": 1000,
    }
    response = curator_client.post(f"/admin/catalog/entry/{entry.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert (entry.title, entry.year, entry.rating, entry.github_stars) == ("Envoy Gateway (renamed)", 2024, 4, 3000)
    assert set(entry.labels.names()) == {"DE FACTO STANDARD", "GUIDE"}
    assert "Envoy Gateway (renamed)" in client.get("/topics/istio/").content.decode()


def test_admin_refuses_a_javascript_url_with_a_message(curator_client, seed):
    before = Entry.objects.count()
    response = curator_client.post(
        "/admin/catalog/entry/add/",
        {
            "title": "Evil",
            "url": "javascript:alert(1)",
            "placements-TOTAL_FORMS": 0,
            "placements-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["url"] == ["Enter a valid URL."]
    assert Entry.objects.count() == before


def test_admin_refuses_a_section_inside_itself(curator_client, seed):
    child = Section.objects.filter(parent__isnull=False).select_related("parent").first()
    parent = child.parent
    response = curator_client.post(
        f"/admin/catalog/section/{parent.pk}/change/",
        {
            "topic": parent.topic_id,
            "parent": child.pk,
            "title": parent.title,
            "slug": parent.slug,
            "position": parent.position,
            "placements-TOTAL_FORMS": 0,
            "placements-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "A section cannot be inside itself." in response.content.decode()
    parent.refresh_from_db()
    assert parent.parent_id != child.pk


def test_anonymous_users_cannot_open_the_admin(client, seed):
    response = client.get("/admin/catalog/entry/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_model_rules_carry_error_codes(make):
    from django.core.exceptions import ValidationError

    topic = make.topic()
    other_edition_dimension = make.dimension()
    topic.dimension = other_edition_dimension
    with pytest.raises(ValidationError) as info:
        topic.full_clean()
    assert info.value.error_dict["dimension"][0].code == "edition_mismatch"

    parent = make.section(topic=topic)
    child = make.section(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError) as info:
        parent.clean()
    assert info.value.error_dict["parent"][0].code == "cycle"
    stranger = make.section()
    child.parent = stranger
    with pytest.raises(ValidationError) as info:
        child.clean()
    assert info.value.error_dict["parent"][0].code == "topic_mismatch"
