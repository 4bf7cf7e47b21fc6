"""export_markdown: the markdown it writes imports back to the same data."""

import io
import textwrap

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.markdown_export import entry_line, export_topic
from catalog.markdown_import import parse_page
from catalog.models import Edition, Entry, Placement, Section, Topic
from catalog.services.imports import import_pages

from .test_import_markdown import snapshot

SAMPLE = """
    # Service Mesh & Friends

    !!! info "Architectural Context"
        Meshes, proxies and their tools.

    - [Loose link](https://loose.example.org) before any heading

    ## Docs
    - [Istio 🌟](https://mesh.example.org/istio) The *mesh*, with `istioctl` [GUIDE] [COMMUNITY-TOOL]
        - [Istio by example](https://mesh.example.org/examples) (2024) ⭐ 1,234 · 💻 Go · ★★★☆☆ — Ex_am_ple
    - [Brackets \\[x\\] and \\<tags\\> & stars\\*](https://mesh.example.org/odd) - 50% off: #1 | pipes!
    - [](https://mesh.example.org/untitled)
    - [Parens](https://en.example.org/wiki/Mesh_(networking))

    **Proxies**

    - [Envoy](https://mesh.example.org/envoy) <span class='md-tag'>[beginner]</span>
    - Sidecars
        - [Sidecar one](https://mesh.example.org/sidecar)

    | Tool | Link |
    | --- | --- |
    | Kiali | [kiali](https://mesh.example.org/kiali) |

    ## Docs
    - [Second docs](https://mesh.example.org/second) (1999)
    ### A
    #### B
    ##### C
    ###### D
    - [Six deep](https://mesh.example.org/six)
    - Seventh
        - [Seven deep](https://mesh.example.org/seven)
        - Eighth
            - [Eight deep](https://mesh.example.org/eight)
"""


def import_text(text, *, edition="v1", slug="mesh", dimension="Networking"):
    page = parse_page(textwrap.dedent(text).lstrip("\n"), path=f"{slug}.md")
    return import_pages(pages=[(page, dimension)], edition_name=edition)


def test_import_export_import_changes_nothing(editions):
    first = import_text(SAMPLE)
    assert first.entries.created == 13
    odd = Entry.objects.get(url="https://mesh.example.org/odd")
    assert (odd.title, odd.description) == ("Brackets [x] and <tags> & stars*", "50% off: #1 | pipes!")
    assert Entry.objects.get(url="https://mesh.example.org/untitled").title == "https://mesh.example.org/untitled"
    istio = Entry.objects.get(url="https://mesh.example.org/istio")
    assert (istio.description, sorted(istio.labels.names())) == ("The mesh, with istioctl", ["COMMUNITY-TOOL", "GUIDE"])
    assert list(Entry.objects.get(url="https://mesh.example.org/envoy").labels.names()) == ["beginner"]
    assert Entry.objects.filter(url="https://en.example.org/wiki/Mesh_(networking)").exists()
    topic = Topic.objects.get(slug="mesh")
    before = snapshot()
    again = import_text(export_topic(topic))
    assert not again.changed and not again.conflicts and not again.disappeared
    assert (again.entries.unchanged, again.sections.unchanged) == (13, first.sections.created)
    assert snapshot() == before


def test_the_export_imports_into_another_edition_as_the_same_page(editions):
    import_text(SAMPLE)
    copy = Edition.objects.create(name="Copy", slug="copy", position=9)
    import_text(export_topic(Topic.objects.get(edition__slug="v1", slug="mesh")), edition="copy")

    def page(edition):
        topic = Topic.objects.get(edition__slug=edition, slug="mesh")
        sections = list(
            Section.objects.filter(topic=topic)
            .order_by("slug")
            .values_list("slug", "title", "parent__slug", "position")
        )
        placed = sorted(
            Placement.objects.filter(section__topic=topic).values_list("section__slug", "entry__url", "position")
        )
        return topic.title, topic.context, sections, placed

    assert page("copy") == page("v1")
    assert copy.topics.get().title == "Service Mesh & Friends"


def test_the_seed_page_round_trips_without_a_change(seed):
    topic = Topic.objects.get(edition__slug="v2", slug="istio")
    before = snapshot()
    report = import_text(export_topic(topic), edition="v2", slug="istio", dimension=topic.dimension.name)
    assert not report.changed, report
    assert not report.conflicts and not report.disappeared
    assert report.entries.unchanged == 53 and report.placements.unchanged == 53
    assert snapshot() == before


def test_entry_lines_carry_every_field(seed):
    gateway = Entry.objects.with_card_data().get(url="https://github.com/envoyproxy/gateway")
    assert entry_line(gateway) == (
        "- [Envoy Gateway](https://github.com/envoyproxy/gateway) (2023) ⭐ 2,800 · 💻 Go · ★★★★★ "
        "[DE FACTO STANDARD] — " + gateway.description
    )
    example = Entry.objects.with_card_data().get(url="https://istiobyexample.dev")
    assert entry_line(example).startswith("- [istiobyexample.dev 🌟](https://istiobyexample.dev) (2024) [GUIDE]")


def test_deep_sections_become_list_items(editions):
    import_text(SAMPLE)
    text = export_topic(Topic.objects.get(slug="mesh"))
    assert "###### D\n\n- [Six deep](https://mesh.example.org/six)\n" in text
    assert "- Seventh\n    - [Seven deep](https://mesh.example.org/seven)\n    - Eighth\n        - [Eight deep]" in text


def test_export_command_writes_pages_and_a_nav_that_imports_back(tmp_path, catalog_fixtures):
    out = io.StringIO()
    call_command("export_markdown", edition="V1 Historical Archive", out=tmp_path, stdout=out)
    topics = list(Topic.objects.filter(edition__slug="v1").values_list("slug", flat=True))
    assert sorted(p.stem for p in tmp_path.glob("*.md")) == sorted(topics)
    assert f"Wrote {len(topics)} pages and mkdocs.yml to {tmp_path}/." in out.getvalue()
    nav = yaml.safe_load((tmp_path / "mkdocs.yml").read_text(encoding="utf-8"))
    assert nav["nav"][0]["Networking & Service Mesh"][2] == {"Istio - Service Mesh": "istio.md"}

    before = snapshot()
    result = io.StringIO()
    call_command("import_markdown", str(tmp_path), edition="v1", nav=str(tmp_path / "mkdocs.yml"), stdout=result)
    assert "Nothing changed." in result.getvalue()
    assert snapshot() == before


def test_export_command_one_topic_and_errors(tmp_path, seed):
    call_command("export_markdown", edition="v2", topic="istio", out=tmp_path, stdout=io.StringIO())
    assert [p.name for p in tmp_path.iterdir()] == ["istio.md"]
    assert (tmp_path / "istio.md").read_text(encoding="utf-8").startswith("# Istio - Service Mesh\n")
    with pytest.raises(CommandError, match="No edition named 'v9'"):
        call_command("export_markdown", edition="v9", out=tmp_path)
    with pytest.raises(CommandError, match="The V1 Historical Archive has no topics."):
        call_command("export_markdown", edition="v1", out=tmp_path)
    with pytest.raises(CommandError, match="The V2 Elite has no topic 'nope'."):
        call_command("export_markdown", edition="v2", topic="nope", out=tmp_path)
