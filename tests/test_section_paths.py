"""Sections are told apart: wherever a curator chooses one, it is shown by its full path,
and the autocomplete matches any part of that path."""

import pytest

from catalog.models import Section


@pytest.fixture
def twins(little_catalog, make):
    """Two sections titled "API Gateway", on two topics."""
    first = make.section(parent=little_catalog.security, title="API Gateway", slug="security-api-gateway")
    second = make.section(topic=little_catalog.other, title="API Gateway", slug="api-gateway")
    return first, second


def autocomplete(client, term):
    params = {"app_label": "catalog", "model_name": "placement", "field_name": "section", "term": term}
    response = client.get("/admin/autocomplete/", params)
    assert response.status_code == 200
    return [row["text"] for row in response.json()["results"]]


def test_autocomplete_shows_full_paths_and_matches_any_part(client, make, twins):
    client.force_login(make.staff("curator"))
    assert sorted(autocomplete(client, "API Gateway")) == [
        "V2 Elite › Istio - Service Mesh › Security › API Gateway",
        "V2 Elite › Linkerd › API Gateway",
    ]
    assert autocomplete(client, "security gateway") == ["V2 Elite › Istio - Service Mesh › Security › API Gateway"]
    assert autocomplete(client, "linkerd gateway") == ["V2 Elite › Linkerd › API Gateway"]


def test_an_entrys_placements_show_their_section_paths(client, make, twins, little_catalog):
    client.force_login(make.staff("curator"))
    entry = make.entry(title="Placed twice", section=twins[0])
    html = client.get(f"/admin/catalog/entry/{entry.pk}/change/").content.decode()
    assert "V2 Elite › Istio - Service Mesh › Security › API Gateway" in html
    assert Section.objects.filter(title="API Gateway").count() == 2
