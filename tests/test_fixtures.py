"""The committed fixtures: the seed page exactly, the imported corpus pages, loading idempotently."""

import io
import json
from collections import Counter

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from catalog import seed as seed_module
from catalog.models import Dimension, Edition, Entry, Label, Placement, Section, TaggedEntry, Topic

from .conftest import DEFAULT_FIXTURES, SEED_YAML, needs_shared


def table_counts():
    return {
        m.__name__: m.objects.count()
        for m in (Edition, Dimension, Topic, Section, Entry, Label, TaggedEntry, Placement)
    }


def test_loaddata_twice_creates_no_duplicates(db):
    call_command("loaddata", "base", "istio", verbosity=0)
    first = table_counts()
    call_command("loaddata", "base", "istio", verbosity=0)
    assert table_counts() == first
    assert first == {
        "Edition": 2,
        "Dimension": 1,
        "Topic": 4,
        "Section": 64,
        "Entry": 53,
        "Label": 8,
        "TaggedEntry": 73,
        "Placement": 53,
    }


def test_handful_of_seed_entries(seed):
    gateway = Entry.objects.get(url="https://github.com/envoyproxy/gateway")
    assert (gateway.title, gateway.year, gateway.github_stars, gateway.language, gateway.rating, gateway.featured) == (
        "Envoy Gateway",
        2023,
        2800,
        "Go",
        5,
        False,
    )
    assert set(gateway.labels.names()) == {"DE FACTO STANDARD"}
    assert gateway.description.startswith("The official Envoy Gateway project")

    example = Entry.objects.get(url="https://istiobyexample.dev")
    assert example.featured and example.rating is None and example.github_stars is None
    assert set(example.labels.names()) == {"COMMUNITY-TOOL", "GUIDE"}
    assert list(example.placements.values_list("section__title", "section__parent__title")) == [
        ("Istio Examples", "Service Mesh")
    ]

    legacy = Entry.objects.get(title__startswith="allthingsdistributed.com")
    assert legacy.year == 2019 and set(legacy.labels.names()) == {"LEGACY"}
    assert Label.objects.get(name="LEGACY").group.slug == "maturity"
    assert Label.objects.get(name="ADVANCED LEVEL").group.slug == "level"


def test_seed_topic_and_related(seed):
    istio = Topic.objects.get(edition__slug="v2", slug="istio")
    assert istio.title == "Istio - Service Mesh"
    assert istio.dimension.name == "Networking & Service Mesh"
    assert istio.context == "Detailed reference for Istio - Service Mesh in the context of Networking & Service Mesh."
    assert [t.title for t in istio.related.order_by("position")] == [
        "Cloudflare",
        "Kubernetes Networking",
        "Servicemesh",
    ]
    assert {t.dimension_id for t in istio.related.all()} == {istio.dimension_id}
    assert list(Edition.objects.values_list("name", flat=True)) == ["V2 Elite", "V1 Historical Archive"]


def _yaml_entries(sections, path=()):
    for section in sections:
        here = (*path, section["title"])
        for entry in section.get("entries", []):
            yield here, entry
        yield from _yaml_entries(section.get("children", []), here)


def _section_path(section):
    path = []
    while section is not None:
        path.append(section.title)
        section = section.parent
    return tuple(reversed(path))


@needs_shared
def test_fixture_equals_the_seed_yaml_field_by_field(seed):
    data = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))
    expected = list(_yaml_entries(data["sections"]))
    assert len(expected) == 53 == Entry.objects.count()
    for path, item in expected:
        entry = Entry.objects.get(url=item["url"])
        assert entry.title == item["title"]
        assert entry.year == item["year"]
        assert entry.description == item["description"]
        assert entry.github_stars == item.get("github_stars")
        assert entry.language == item.get("language", "")
        assert entry.rating == item.get("rating")
        assert entry.featured == item.get("featured", False)
        assert sorted(entry.labels.names()) == sorted(item.get("labels", []))
        placements = [_section_path(p.section) for p in entry.placements.select_related("section")]
        assert path in placements, f"{item['url']} not under {' > '.join(path)}"
    # Sections: 64, in the seed's order among siblings.
    assert Section.objects.count() == 64

    def titles(sections):
        return [(s["title"], titles(s.get("children", []))) for s in sections]

    def db_titles(parent):
        rows = Section.objects.filter(parent=parent).order_by("position")
        return [(s.title, db_titles(s)) for s in rows]

    assert db_titles(None) == titles(data["sections"])


@needs_shared
def test_committed_fixture_is_what_the_builder_makes(tmp_path):
    call_command("build_seed_fixture", str(SEED_YAML), out=tmp_path, stdout=io.StringIO())
    for name in ("base.json", "istio.json"):
        committed = json.loads((settings.BASE_DIR / "fixtures" / name).read_text(encoding="utf-8"))
        assert json.loads((tmp_path / name).read_text(encoding="utf-8")) == committed, f"fixtures/{name} is stale"


def test_section_slugs_stay_unique_for_repeated_titles():
    taken = set()
    assert seed_module.section_slug(("Service Mesh",), taken) == "service-mesh"
    assert seed_module.section_slug(("Multi-Cluster", "Service Mesh"), taken) == "multi-cluster-service-mesh"
    assert seed_module.section_slug(("Service Mesh",), taken) == "service-mesh-2"


def test_build_seed_fixture_reports_unreadable_seed(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="cannot read the seed"):
        call_command("build_seed_fixture", str(tmp_path / "missing.yaml"), out=tmp_path)


def test_the_default_fixtures_load_twice_without_duplicates(db):
    call_command("loaddata", *DEFAULT_FIXTURES, verbosity=0)
    first = table_counts()
    call_command("loaddata", *DEFAULT_FIXTURES, verbosity=0)
    assert table_counts() == first
    networking = json.loads((settings.BASE_DIR / "fixtures" / "networking.json").read_text(encoding="utf-8"))
    added = Counter(obj["model"] for obj in networking)
    assert first["Entry"] == 53 + added["catalog.entry"]
    assert first["Placement"] == 53 + added["catalog.placement"]
    assert first["Topic"] == 4 + 10  # the seed's four, plus 3 new V2 and 7 V1 pages
    # The seed's V2 Istio page is exactly the seed's.
    assert Placement.objects.filter(section__topic__edition__slug="v2", section__topic__slug="istio").count() == 53
