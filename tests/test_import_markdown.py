"""import_markdown: each markdown construct, each error, and the import's safety rules.

Every sample is written by the test itself; the corpus tests live in test_corpus_import.py.
"""

import io
import textwrap

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.markdown_import import MarkdownImportError, parse_page, read_nav, read_page
from catalog.models import Dimension, Entry, Label, Placement, Section, TaggedEntry, Topic
from catalog.services.imports import import_pages

V1 = "V1 Historical Archive"


def md(text):
    return textwrap.dedent(text).lstrip("\n")


def tree(page):
    """[(path, [(title, url), ...])] in page order."""
    return [(path, [(e.title, e.url) for e in section.entries]) for path, _, section in page.walk()]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(md(text), encoding="utf-8")
    return path


def line_of(text, needle):
    return next(n for n, line in enumerate(md(text).splitlines(), start=1) if needle in line)


def run_import(*paths, edition=V1, dimension="Networking", **options):
    out = io.StringIO()
    call_command("import_markdown", *map(str, paths), edition=edition, dimension=dimension, stdout=out, **options)
    return out.getvalue()


def snapshot():
    """Every imported row with the values a reader sees, to compare before and after."""
    return {
        "topics": sorted(Topic.objects.values_list("edition__slug", "slug", "title", "dimension__slug", "context")),
        "sections": sorted(
            Section.objects.values_list("topic__slug", "slug", "title", "parent__slug", "position", "import_record")
        ),
        "entries": sorted(
            Entry.objects.values_list(
                "url", "title", "description", "year", "github_stars", "language", "rating", "featured", "updated_at"
            )
        ),
        "labels": sorted(TaggedEntry.objects.values_list("content_object__url", "tag__name")),
        "placements": sorted(
            Placement.objects.values_list(
                "section__topic__slug", "section__slug", "entry__url", "position", "title", "description"
            )
        ),
    }


# -- parsing: each construct ----------------------------------------------------


def test_headings_build_the_section_tree_in_order():
    page = parse_page(
        md("""
            # Service Mesh

            ## Docs
            - [Istio](https://istio.io)
            ### Tutorials
            - [Istio by example](https://istiobyexample.dev)
            #### Deep
            - [Deep link](https://deep.example.org)
            ### Videos
            - [A talk](https://talks.example.org/1)
            ## Tools
            - [Kiali](https://kiali.io)
        """),
        path="pages/service-mesh.md",
    )
    assert (page.title, page.slug) == ("Service Mesh", "service-mesh")
    assert [(path, position) for path, position, _ in page.walk()] == [
        (("Docs",), 1),
        (("Docs", "Tutorials"), 1),
        (("Docs", "Tutorials", "Deep"), 1),
        (("Docs", "Videos"), 2),
        (("Tools",), 2),
    ]
    assert tree(page)[3] == (("Docs", "Videos"), [("A talk", "https://talks.example.org/1")])


def test_list_item_link_text_is_the_title_and_the_text_after_it_the_description():
    page = parse_page(
        md("""
            # T
            ## S
            - [Istio.io](https://istio.io) The service mesh.
            - [Kiali](https://kiali.io) - observability *console* for `Istio`
            - [Envoy](https://envoyproxy.io): a proxy
            - Tool: [Linkerd](https://linkerd.io) — light, with [docs](https://linkerd.io/docs)
              on two lines
        """),
        path="t.md",
    )
    entries = page.sections[0].entries
    assert [(e.title, e.description, e.parent) for e in entries] == [
        ("Istio.io", "The service mesh.", None),
        ("Kiali", "observability console for Istio", None),
        ("Envoy", "a proxy", None),
        ("Linkerd", "light, with docs on two lines", None),
        # The item's second link: a listing of its own, nested under the item's first link.
        ("docs", "", "https://linkerd.io"),
    ]
    assert [e.line for e in entries] == [3, 4, 5, 6, 6]


def test_nested_items_are_entries_of_the_same_section_in_order():
    page = parse_page(
        md("""
            # T
            ## S
            - [A](https://a.example.org)
                - [A1](https://a1.example.org)
                    - [A1a](https://a1a.example.org)
                - [A2](https://a2.example.org)
            - [B](https://b.example.org)
        """),
        path="t.md",
    )
    assert tree(page) == [
        (
            ("S",),
            [
                ("A", "https://a.example.org"),
                ("A1", "https://a1.example.org"),
                ("A1a", "https://a1a.example.org"),
                ("A2", "https://a2.example.org"),
                ("B", "https://b.example.org"),
            ],
        )
    ]


def test_featured_marks_are_removed_from_the_title():
    page = parse_page(
        md("""
            # T
            ## S
            - [istiobyexample.dev 🌟](https://istiobyexample.dev)
            - [Redis Explained 🌟🌟](https://redis.example.org)
            - [==kubectl-graph== ⭐](https://github.com/steveteuber/kubectl-graph)
            - [Plain](https://plain.example.org) ⭐⭐ two stars in a description
        """),
        path="t.md",
    )
    entries = page.sections[0].entries
    assert [(e.title, e.featured) for e in entries] == [
        ("istiobyexample.dev", True),
        ("Redis Explained", True),
        ("kubectl-graph", True),
        ("Plain", False),
    ]
    assert entries[3].description == "⭐⭐ two stars in a description"


def test_label_markers_become_labels():
    page = parse_page(
        md("""
            # T
            ## S
            - [Kiali](https://kiali.io)  <span class='md-tag md-tag--info'>[COMMUNITY-TOOL]</span>
            - [Guide](https://guide.example.org) [GUIDE] [DE FACTO STANDARD] — A guide.
            - [Old post [ARCHIVED]](http://web.archive.org/web/2020/https://old.example.org)
            - [Mixed](https://mixed.example.org) <span class="md-tag">[beginner]</span> text [X] stays
        """),
        path="t.md",
    )
    entries = page.sections[0].entries
    assert [(e.title, e.labels, e.description) for e in entries] == [
        ("Kiali", ("COMMUNITY-TOOL",), ""),
        ("Guide", ("GUIDE", "DE FACTO STANDARD"), "A guide."),
        ("Old post", ("ARCHIVED",), ""),
        ("Mixed", ("beginner",), "text [X] stays"),
    ]


def test_metadata_after_the_link_is_read():
    page = parse_page(
        md("""
            # T
            ## S
            - [Envoy Gateway](https://github.com/envoyproxy/gateway) (2023) ⭐ 2,800 · 💻 Go · ★★★★★ [EMERGING] — Go.
            - [Talk](https://talk.example.org) (2019) A talk about (2020) things
            - [Notebook](https://nb.example.org) 💻 Jupyter Notebook · ★★☆☆☆
        """),
        path="t.md",
    )
    gateway, talk, notebook = page.sections[0].entries
    assert (gateway.year, gateway.github_stars, gateway.language, gateway.rating, gateway.labels) == (
        2023,
        2800,
        "Go",
        5,
        ("EMERGING",),
    )
    assert gateway.description == "Go."
    assert (talk.year, talk.description) == (2019, "A talk about (2020) things")
    assert (notebook.language, notebook.rating, notebook.description) == ("Jupyter Notebook", 2, "")


def test_links_in_table_rows_are_entries():
    page = parse_page(
        md("""
            # T
            ## Distributions
            | Name | Refs |
            | --- | --- |
            | [Rancher](https://rancher.com) | [docs](https://rancher.com/docs), [blog](mailto:x@y.z) |
            | OpenShift | none |
        """),
        path="t.md",
    )
    assert tree(page) == [
        (("Distributions",), [("Rancher", "https://rancher.com"), ("docs", "https://rancher.com/docs")])
    ]
    assert page.skipped == {"non-web link": 1}


def test_a_link_repeated_in_a_section_is_parsed_twice_and_placed_once(editions):
    page = parse_page(
        md("""
            # Twice
            ## S
            - [Istio](https://istio.io)
            - [Istio again](https://istio.io) - second time
        """),
        path="twice.md",
    )
    assert len(page.sections[0].entries) == 2
    report = import_pages(pages=[(page, "Mesh")], edition_name=V1)
    assert Placement.objects.filter(entry__url="https://istio.io").count() == 1
    assert Entry.objects.get(url="https://istio.io").title == "Istio"
    assert report.duplicates_merged == 1


def test_link_less_items_with_nested_items_and_bold_lines_are_subsections():
    page = parse_page(
        md("""
            # T
            ## Tools
            - [Top](https://top.example.org)

            **Observability**

            - [Kiali](https://kiali.io)
            - Tracing:
                - [Jaeger](https://jaegertracing.io)
                - Backends
                    - [Cassandra](https://cassandra.apache.org)
            - [Grafana](https://grafana.com)

            **Security**

            - [Falco](https://falco.org)
            ## Next
            - [N](https://n.example.org)
        """),
        path="t.md",
    )
    assert tree(page) == [
        (("Tools",), [("Top", "https://top.example.org")]),
        (("Tools", "Observability"), [("Kiali", "https://kiali.io"), ("Grafana", "https://grafana.com")]),
        (("Tools", "Observability", "Tracing"), [("Jaeger", "https://jaegertracing.io")]),
        (("Tools", "Observability", "Tracing", "Backends"), [("Cassandra", "https://cassandra.apache.org")]),
        (("Tools", "Security"), [("Falco", "https://falco.org")]),
        (("Next",), [("N", "https://n.example.org")]),
    ]


def test_non_entries_are_skipped_and_counted_by_reason():
    sample = """
            [![build](https://img.shields.io/badge/build-passing-green.svg)](https://ci.example.org)

            # Sample

            1. [Docs](#docs)
                1. [Sub](#sub)

            ## Docs

            - [Real](https://real.example.org)
            - [Other page](cheatsheets.md)
            - [Mail us](mailto:team@example.org)
            - [Typo](ttps://typo.example.org)
            - [No host](https://koa)
            - [Script](javascript:alert(1))
            - Just a note
            - [![logo](images/logo.png)](https://logo.example.org)

            ![diagram](images/diagram.png)

            <blockquote class="twitter-tweet"><p>A tweet</p></blockquote>

            <center markdown="1">

            Some running text with [a link](https://text.example.org).

                indented code

            ## Videos

            <iframe src="https://www.youtube.com/embed/x"></iframe>
        """
    page = parse_page(md(sample), path="sample.md")
    # A heading with no link under it stays a section of the outline; a link around an
    # image and a link in prose are entries; the badge before the title has no page yet.
    assert tree(page) == [
        (
            ("Docs",),
            [
                ("Real", "https://real.example.org"),
                ("logo", "https://logo.example.org"),
                ("a link", "https://text.example.org"),
            ],
        ),
        (("Videos",), []),
    ]
    assert page.skipped == {
        "before the title": 1,
        "table of contents": 2,
        "link to another page": 1,
        "non-web link": 3,
        "invalid URL": 1,
    }
    # What is not a link is kept as the section's prose, by kind.
    assert page.kept == {"text item": 1, "paragraph": 2, "raw HTML": 3, "code": 1}
    lines = dict(page.skipped_lines)
    assert lines["before the title"] == 1
    assert lines["invalid URL"] == line_of(sample, "[No host]")


def test_a_table_of_contents_heading_is_not_a_section_and_loose_entries_get_the_page_title():
    page = parse_page(
        md("""
            # Cloudflare

            !!! info "Architectural Context"
                Detailed reference for Cloudflare in the context of Networking.

            ## Table of Contents

            ---

              - [cloudflare.com](https://www.cloudflare.com)  <span class='md-tag md-tag--info'>[COMMUNITY-TOOL]</span>
              - [Workers](https://workers.cloudflare.com)
        """),
        path="cloudflare.md",
    )
    assert page.context == "Detailed reference for Cloudflare in the context of Networking."
    assert tree(page) == [
        (
            ("Cloudflare",),
            [("cloudflare.com", "https://www.cloudflare.com"), ("Workers", "https://workers.cloudflare.com")],
        )
    ]
    assert page.skipped == {"table of contents": 1}


def test_title_from_front_matter_or_nav_when_the_page_has_no_h1():
    front = parse_page(
        "---\ntitle: From Front Matter\nhide:\n  - toc\n---\n\n- [A](https://a.example.org)\n", path="f.md"
    )
    assert front.title == "From Front Matter"
    assert tree(front) == [(("From Front Matter",), [("A", "https://a.example.org")])]

    text = "## Evolutionary Database\n\n- [Liquibase](https://liquibase.org)\n"
    nav = parse_page(text, path="liquibase.md", nav_title="Database Version Control")
    assert nav.title == "Database Version Control"
    assert tree(nav) == [(("Evolutionary Database",), [("Liquibase", "https://liquibase.org")])]


# -- parsing: each error -----------------------------------------------------------


def test_a_page_without_a_title_is_an_error_naming_the_line():
    with pytest.raises(MarkdownImportError) as error:
        parse_page("Intro text.\n\n## First section\n- [A](https://a.example.org)\n", path="notitle.md")
    assert str(error.value).startswith("notitle.md:3: no '# Title' heading")
    assert error.value.code == "no_title"
    with pytest.raises(MarkdownImportError, match=r"^empty.md:1: no '# Title'"):
        parse_page("", path="empty.md")


def test_undecodable_bytes_are_an_error_at_their_line(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes(b"# Caf\xc3\xa9\n\n## S\n- [Caf\xe9](https://cafe.example.org)\n")
    with pytest.raises(MarkdownImportError) as error:
        read_page(path)
    assert str(error.value) == f"{path}:4: not UTF-8 text (byte 0xe9 cannot be decoded)"
    assert error.value.code == "not_utf8"


def test_binary_and_unreadable_files_are_errors(tmp_path):
    with pytest.raises(MarkdownImportError, match=r"bin.md:2: contains a NUL byte"):
        parse_page("# T\nabc\x00def\n", path="bin.md")
    with pytest.raises(MarkdownImportError, match=r"missing.md:0: cannot read the file: No such file"):
        read_page(tmp_path / "missing.md")


def test_nav_groups_name_the_dimensions(tmp_path):
    path = tmp_path / "mkdocs.yml"
    path.write_text(
        md("""
            site_name: Test
            markdown_extensions:
              - pymdownx.emoji:
                  emoji_index: !!python/name:material.extensions.emoji.twemoji
            extra:
              analytics:
                property: !ENV GOOGLE_ANALYTICS_KEY
            nav:
              - "Home page": https://example.org/
              - Home: index.md
              - Service Mesh:
                - Istio: istio.md
                - Service Mesh: servicemesh.md
              - CI/CD:
                - Pipelines: cicd.md
                - Web Servers, Caching:
                  - Caching Solutions: caching.md
                - Again: istio.md
        """),
        encoding="utf-8",
    )
    nav = read_nav(path)
    assert {name: (p.dimension, p.title) for name, p in nav.items()} == {
        "index.md": ("Home", "Home"),
        "istio.md": ("Service Mesh", "Istio"),
        "servicemesh.md": ("Service Mesh", "Service Mesh"),
        "cicd.md": ("CI/CD", "Pipelines"),
        "caching.md": ("CI/CD", "Caching Solutions"),
    }
    path.write_text("site_name: [unclosed\n", encoding="utf-8")
    with pytest.raises(MarkdownImportError, match="cannot read the nav"):
        read_nav(path)


# -- the import: rows, idempotence, safety ----------------------------------------------

PAGE_A = """
    # Service Mesh

    ## Docs
    - [Istio 🌟](https://istio.io) The mesh. [GUIDE]
        - [Istio examples](https://istiobyexample.dev)
    - [Linkerd](https://linkerd.io)
    ## Tools
    - [Kiali](https://kiali.io) (2024) ⭐ 3,400 · 💻 TypeScript · ★★★★☆ — The console.
"""
PAGE_B = """
    # Networking

    ## Meshes
    - [Istio](https://istio.io) Listed again, on another page.
    - [Cilium](https://cilium.io)
"""


def test_import_writes_topics_sections_entries_labels_and_placements(tmp_path, editions):
    a = write(tmp_path, "servicemesh.md", PAGE_A)
    b = write(tmp_path, "networking.md", PAGE_B)
    out = run_import(a, b)
    topic = Topic.objects.get(edition__slug="v1", slug="servicemesh")
    assert (topic.title, topic.dimension.name) == ("Service Mesh", "Networking")
    assert list(topic.sections.order_by("position").values_list("title", "slug")) == [
        ("Docs", "docs"),
        ("Tools", "tools"),
    ]
    istio = Entry.objects.get(url="https://istio.io")
    assert (istio.title, istio.description, istio.featured) == ("Istio", "The mesh.", True)
    assert set(istio.labels.names()) == {"GUIDE"}
    # The same URL on two pages: one entry, two placements.
    assert sorted(istio.placements.values_list("section__topic__slug", "section__title")) == [
        ("networking", "Meshes"),
        ("servicemesh", "Docs"),
    ]
    kiali = Entry.objects.get(url="https://kiali.io")
    assert (kiali.year, kiali.github_stars, kiali.language, kiali.rating) == (2024, 3400, "TypeScript", 4)
    docs = Section.objects.get(topic=topic, slug="docs")
    assert list(docs.placements.order_by("position").values_list("entry__title", flat=True)) == [
        "Istio",
        "Istio examples",
        "Linkerd",
    ]
    assert "Imported 2 pages into V1 Historical Archive." in out
    assert Entry.objects.count() == 5  # six links, one of them twice
    assert "  entries            5        0          0" in out
    assert "duplicates merged: 1" in out


def test_importing_the_same_files_again_changes_nothing(tmp_path, editions):
    paths = [write(tmp_path, "servicemesh.md", PAGE_A), write(tmp_path, "networking.md", PAGE_B)]
    run_import(*paths)
    before = snapshot()
    out = run_import(*paths)
    assert snapshot() == before
    assert "Nothing changed." in out
    assert "  entries            0        0          5" in out


def test_dry_run_reports_and_writes_nothing(tmp_path, editions):
    path = write(tmp_path, "servicemesh.md", PAGE_A)
    before = snapshot()
    out = run_import(path, dry_run=True)
    assert snapshot() == before
    assert not Topic.objects.filter(edition__slug="v1").exists()
    assert out.startswith("Dry run: nothing was written. The import would bring 1 pages into V1 Historical Archive.")
    assert "  entries            4        0          0" in out


def test_a_newer_page_updates_adds_and_reports_what_disappeared(tmp_path, editions):
    path = write(tmp_path, "servicemesh.md", PAGE_A)
    run_import(path)
    write(
        tmp_path,
        "servicemesh.md",
        """
        # Service Mesh

        ## Docs
        - [Istio.io 🌟](https://istio.io) The service mesh. [GUIDE]
        - [Linkerd](https://linkerd.io)
        ## Tools
        - [Kiali](https://kiali.io) (2024) ⭐ 3,400 · 💻 TypeScript · ★★★★☆ — The console.
        ### Tracing
        - [Jaeger](https://jaegertracing.io)
        """,
    )
    out = run_import(path)
    # The page's new words are its listing's; the entry keeps the name it was created with.
    listing = Placement.objects.get(entry__url="https://istio.io", section__slug="docs")
    assert (listing.title, listing.description) == ("Istio.io", "The service mesh.")
    assert Entry.objects.get(url="https://istio.io").title == "Istio"
    assert Section.objects.get(slug="tools-tracing").parent.slug == "tools"
    # The link that left the page keeps its entry and its placement, and is reported.
    assert Placement.objects.filter(entry__url="https://istiobyexample.dev").count() == 1
    assert "gone from their pages: 1 placements (kept; --prune removes them)" in out
    assert "servicemesh / Docs: https://istiobyexample.dev" in out
    assert "  entries            1        0          3" in out
    # Linkerd moved up one place: its placement follows the page.
    assert Placement.objects.get(entry__url="https://linkerd.io").position == 2

    out = run_import(path, prune=True)
    assert "gone from their pages: 1 placements (removed (--prune))" in out
    assert not Placement.objects.filter(entry__url="https://istiobyexample.dev").exists()
    assert Entry.objects.filter(url="https://istiobyexample.dev").exists()
    assert "gone from their pages" not in run_import(path)


def test_curator_edits_are_kept_and_reported_unless_overwriting_is_asked(tmp_path, editions):
    path = write(tmp_path, "servicemesh.md", PAGE_A)
    run_import(path)
    Placement.objects.filter(entry__url="https://istio.io").update(title="Istio (curated)")
    Entry.objects.get(url="https://istio.io").labels.clear()
    Section.objects.filter(slug="tools").update(title="Tooling")

    before = snapshot()
    for options in ({"dry_run": True}, {}, {"dry_run": True, "overwrite_curator_values": True}):
        out = run_import(path, **options)
        assert snapshot() == before
        assert "listing of https://istio.io in servicemesh#docs: title 'Istio (curated)' -> 'Istio'" in out
        assert "entry https://istio.io: labels [] -> ['GUIDE']" in out
        assert "section servicemesh#tools: title 'Tooling' -> 'Tools'" in out
    assert "curator values the markdown differs from: 3, would be overwritten" in out
    out = run_import(path)
    assert "curator values the markdown differs from: 3, kept; --overwrite-curator-values overwrites them" in out

    out = run_import(path, overwrite_curator_values=True)
    assert "3, overwritten (--overwrite-curator-values)" in out
    istio = Entry.objects.get(url="https://istio.io")
    assert Placement.objects.get(entry=istio).shown_title == "Istio" and set(istio.labels.names()) == {"GUIDE"}
    assert Section.objects.get(slug="tools").title == "Tools"


def test_a_value_the_markdown_leaves_out_is_not_blanked(tmp_path, editions):
    path = write(tmp_path, "servicemesh.md", PAGE_A)
    run_import(path)
    write(tmp_path, "servicemesh.md", "# Service Mesh\n\n## Docs\n- [Istio](https://istio.io)\n")
    run_import(path)
    istio = Entry.objects.get(url="https://istio.io")
    assert (istio.description, istio.featured, set(istio.labels.names())) == ("The mesh.", True, {"GUIDE"})


def test_unknown_labels_are_created_in_the_imported_group_and_named(tmp_path, editions):
    path = write(tmp_path, "old.md", "# Old\n\n## S\n- [Post [ARCHIVED]](https://old.example.org) [PDF]\n")
    out = run_import(path)
    assert "new labels, in the group 'Imported labels' (regroup them in the admin): ARCHIVED, PDF" in out
    assert {(label.name, label.group.name) for label in Label.objects.filter(name__in=["ARCHIVED", "PDF"])} == {
        ("ARCHIVED", "Imported labels"),
        ("PDF", "Imported labels"),
    }
    assert Label.objects.get(name="GUIDE").group.slug == "kind"  # known labels keep their group
    assert "new labels" not in run_import(path)


def test_nav_puts_each_topic_under_its_group(tmp_path, editions):
    write(tmp_path, "istio.md", "# Istio\n\n## S\n- [Istio](https://istio.io)\n")
    write(tmp_path, "caching.md", "# Caching\n\n## S\n- [Redis](https://redis.io)\n")
    write(tmp_path, "extra.md", "# Extra\n\n## S\n- [Extra](https://extra.example.org)\n")
    nav = write(
        tmp_path,
        "mkdocs.yml",
        """
        nav:
          - Service Mesh:
            - Istio: istio.md
          - CI/CD:
            - Web:
              - Caching: caching.md
        """,
    )
    out = io.StringIO()
    call_command("import_markdown", str(tmp_path), edition="v1", nav=str(nav), stdout=out)
    dimensions = dict(Topic.objects.filter(edition__slug="v1").values_list("slug", "dimension__name"))
    assert dimensions == {"istio": "Service Mesh", "caching": "CI/CD", "extra": "Other pages"}
    assert "not in the nav, put under 'Other pages': extra.md" in out.getvalue()
    assert list(Dimension.objects.filter(edition__slug="v1").values_list("name", flat=True)) == [
        "Service Mesh",
        "CI/CD",
        "Other pages",
    ]


def test_a_broken_line_137_aborts_the_whole_import_and_names_it(tmp_path, editions):
    good = write(tmp_path, "good.md", PAGE_A)
    lines = ["# Broken", "", "## Links"] + [f"- [Link {n}](https://broken.example.org/{n})" for n in range(4, 200)]
    raw = "\n".join(lines).encode("utf-8").split(b"\n")
    raw[136] = b"- [Caf\xe9 latin-1](https://cafe.example.org)"  # line 137
    (tmp_path / "broken.md").write_bytes(b"\n".join(raw))
    before = snapshot()
    with pytest.raises(CommandError) as error:
        run_import(good, tmp_path / "broken.md")
    assert "broken.md:137: not UTF-8 text" in str(error.value)
    assert "Nothing was imported." in str(error.value)
    assert snapshot() == before
    assert not Entry.objects.filter(url__contains="example.org").exists()


def test_a_title_less_page_aborts_the_import(tmp_path, editions):
    good = write(tmp_path, "good.md", PAGE_A)
    bad = write(tmp_path, "notitle.md", "Some text\n\n## Section\n- [A](https://a.example.org)\n")
    with pytest.raises(CommandError, match=r"notitle.md:3: no '# Title' heading"):
        run_import(good, bad)
    assert not Topic.objects.filter(edition__slug="v1").exists()


def test_the_service_refuses_an_unknown_edition_with_a_code(editions):
    page = parse_page("# T\n\n## S\n- [A](https://a.example.org)\n", path="t.md")
    with pytest.raises(ValidationError) as error:
        import_pages(pages=[(page, "D")], edition_name="V3 Future")
    assert error.value.code == "unknown_edition"
    assert not Entry.objects.filter(url="https://a.example.org").exists()


def test_command_errors_for_a_bad_edition_or_no_dimension(tmp_path, editions):
    path = write(tmp_path, "a.md", PAGE_A)
    with pytest.raises(CommandError, match=r"No edition named 'V3'"):
        run_import(path, edition="V3")
    with pytest.raises(CommandError, match="--nav MKDOCS_YML or --dimension NAME"):
        call_command("import_markdown", str(path), edition="v1", stdout=io.StringIO())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="No markdown files found"):
        run_import(tmp_path / "empty")


def test_two_pages_with_one_slug_are_refused(tmp_path, editions):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    a = write(tmp_path / "one", "mesh.md", PAGE_A)
    b = write(tmp_path / "two", "mesh.md", PAGE_B)
    with pytest.raises(CommandError, match="Several pages make the same topic slug: mesh"):
        run_import(a, b)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_is_drawn_only_on_a_terminal(tmp_path, editions):
    path = write(tmp_path, "servicemesh.md", PAGE_A)
    plain = io.StringIO()
    call_command("import_markdown", str(path), edition="v1", dimension="D", dry_run=True, stdout=plain)
    assert "\r" not in plain.getvalue() and "[###" not in plain.getvalue()
    terminal = FakeTerminal()
    call_command("import_markdown", str(path), edition="v1", dimension="D", dry_run=True, stdout=terminal)
    drawn = terminal.getvalue()
    assert "\rparsing   [##############################] 1/1 servicemesh.md" in drawn
    assert "\rwriting   [" in drawn
    assert "Dry run: nothing was written." in drawn


def test_embedded_videos_and_tweets_become_labelled_entries():
    page = parse_page(
        md("""
            # Media
            ## Talks
            <iframe width="560" src="https://www.youtube.com/embed/WkLBrHW4NhQ" title="Istio in production"></iframe>
            <iframe src="https://www.youtube.com/embed/yGTtzcfHcdo" title="YouTube video player"></iframe>

            <blockquote class="twitter-tweet"><p lang="en">Canary releases<br>with Istio
            <a href="https://t.co/x">pic.twitter.com/x</a></p>&mdash; Dan (@dan)
            <a href="https://twitter.com/dan/status/1658087679333109762?ref_src=tw">May 15, 2023</a></blockquote>
            <script async src="https://platform.twitter.com/widgets.js"></script>

            <div><script>alert(1)</script></div>
        """),
        path="media.md",
    )
    entries = page.sections[0].entries
    assert [(e.url, e.title, e.labels, e.year) for e in entries] == [
        ("https://www.youtube.com/watch?v=WkLBrHW4NhQ", "Istio in production", ("VIDEO",), None),
        ("https://www.youtube.com/watch?v=yGTtzcfHcdo", "YouTube video yGTtzcfHcdo", ("VIDEO",), None),
        (
            "https://twitter.com/dan/status/1658087679333109762",
            "Dan (@dan): Canary releases with Istio pic.twitter.com/x",
            ("TWEET",),
            2023,
        ),
    ]
    assert not page.skipped
    # The script block holds no media: it is kept as prose (and sanitised when shown).
    assert page.sections[0].prose == ["<div><script>alert(1)</script></div>"]
