"""History: every path that changes an entry records old and new values, who and when;
a curator reads an entry's diffs and the site-wide recent changes, and reverts a change."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from catalog.models import Change, Entry, Placement
from catalog.services import history
from catalog.services.submissions import submission_approve

PAGE = """# Service Mesh

## Docs
- [Istio](https://istio.io) (2023) [GUIDE] — The mesh.
- [Linkerd](https://linkerd.io) — Light.
"""


def inline_management(prefix="placements", total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def entry_post(entry, **overrides):
    data = {
        "title": entry.title,
        "url": entry.url,
        "year": entry.year or "",
        "description": entry.description,
        "github_stars": entry.github_stars or "",
        "language": entry.language,
        "rating": entry.rating or "",
        **inline_management(),
    }
    if entry.featured:
        data["featured"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def curator(make, client):
    user = make.staff("curator", username="carla")
    client.force_login(user)
    return user


def test_admin_edit_records_old_and_new_values_and_the_user(little_catalog, curator, client):
    entry = little_catalog.entry
    emerging = little_catalog.labels["EMERGING"]
    data = entry_post(entry, year=2021, rating=4, labels_maturity=emerging.pk)
    data.update(inline_management(total=1))
    data.update({"placements-0-section": little_catalog.other_section.pk, "placements-0-position": 0})
    response = client.post(f"/admin/catalog/entry/{entry.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    change = Change.objects.get(entry=entry)
    assert (change.source, change.user, change.action) == ("admin", curator, "changed")
    assert change.values["year"] == [2020, 2021]
    assert change.values["rating"] == [None, 4]
    # GUIDE has no control in the form's "Content kind" group left unticked: it is removed, and recorded.
    assert change.values["labels"] == [["GUIDE"], ["EMERGING"]]
    assert change.values["placements"] == [
        [little_catalog.mtls.pk],
        sorted([little_catalog.mtls.pk, little_catalog.other_section.pk]),
    ]

    page = client.get(f"/admin/catalog/entry/{entry.pk}/history/").content.decode()
    assert "2020" in page and "2021" in page and "carla" in page
    assert "V2 Elite › Linkerd › Getting started" in page  # placements by their full path


def test_revert_restores_the_old_values_with_a_new_change(little_catalog, curator, client):
    entry = little_catalog.entry
    client.post(
        f"/admin/catalog/entry/{entry.pk}/change/",
        entry_post(entry, title="Renamed", rating=2, labels_kind=[little_catalog.labels["GUIDE"].pk]),
    )
    change = Change.objects.get(entry=entry)
    assert change.values == {"title": ["Envoy Gateway", "Renamed"], "rating": [None, 2]}
    url = f"/admin/catalog/entry/{entry.pk}/history/{change.pk}/revert/"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Renamed" in confirm.content.decode()
    assert Entry.objects.get(pk=entry.pk).title == "Renamed"  # asking changes nothing
    assert client.post(url).status_code == 302
    entry.refresh_from_db()
    assert (entry.title, entry.rating) == ("Envoy Gateway", None)
    undo = Change.objects.filter(entry=entry).first()
    assert (undo.source, undo.reverts, undo.user) == ("revert", change, curator)
    assert undo.values == {"title": ["Renamed", "Envoy Gateway"], "rating": [2, None]}


def test_revert_of_labels_and_placements_keeps_later_additions(little_catalog, curator):
    entry, labels = little_catalog.entry, little_catalog.labels
    actor = history.Actor.person(curator, source=Change.Source.BULK)
    with history.track(actor=actor, entries=[entry]) as tracked:
        entry.labels.add(labels["EMERGING"])
        Placement.objects.create(entry=entry, section=little_catalog.other_section)
    (change,) = tracked.changes
    Placement.objects.create(entry=entry, section=little_catalog.security)  # a later, unrelated change
    history.revert(change=change, actor=history.Actor.person(curator, source=Change.Source.REVERT))
    assert set(entry.labels.names()) == {"GUIDE"}
    assert set(Placement.objects.filter(entry=entry).values_list("section", flat=True)) == {
        little_catalog.mtls.pk,
        little_catalog.security.pk,
    }


def test_creation_cannot_be_reverted_and_nothing_changes(little_catalog, curator):
    change = history.record(
        actor=history.Actor.person(curator),
        before={},
        after=history.snapshots([little_catalog.entry.pk]),
    )[0]
    assert change.action == "created"
    with pytest.raises(ValidationError) as refused:
        history.revert(change=change, actor=history.Actor.person(curator))
    assert refused.value.code == "cannot_revert"
    assert Entry.objects.filter(pk=little_catalog.entry.pk).exists()


def test_nothing_is_recorded_when_nothing_changed(little_catalog, curator):
    with history.track(actor=history.Actor.person(curator), entries=[little_catalog.entry]) as tracked:
        little_catalog.entry.save()
    assert tracked.changes == [] and not Change.objects.exists()


def test_approval_records_the_moderator_and_the_new_entry(little_catalog, make):
    moderator = make.staff("moderator", username="mo")
    submission = make.submission(url="https://linkerd.io", title="Linkerd", section=little_catalog.mtls)
    approval = submission_approve(submission=submission, moderator=moderator, year=2024, rating=5)
    change = Change.objects.get(entry=approval.entry)
    assert (change.action, change.source, change.user, change.note) == (
        "created",
        "approval",
        moderator,
        f"Submission #{submission.pk}",
    )
    assert change.values["year"] == [None, 2024] and change.values["rating"] == [None, 5]
    assert change.values["placements"] == [[], [little_catalog.mtls.pk]]


def test_approval_onto_an_existing_entry_records_only_what_changed(little_catalog, make):
    moderator = make.staff("moderator")
    submission = make.submission(url="https://github.com/envoyproxy/gateway/", section=little_catalog.other_section)
    submission_approve(submission=submission, moderator=moderator)
    change = Change.objects.get(entry=little_catalog.entry)
    assert change.values == {
        "placements": [[little_catalog.mtls.pk], sorted([little_catalog.mtls.pk, little_catalog.other_section.pk])]
    }


def test_import_records_creations_and_overwrites_with_the_command(tmp_path, editions):
    path = tmp_path / "servicemesh.md"
    path.write_text(PAGE)
    options = {"edition": "v1", "dimension": "Networking", "stdout": io.StringIO()}
    call_command("import_markdown", str(path), **options)
    created = Change.objects.filter(action="created")
    assert created.count() == 2
    istio = created.get(entry_url="https://istio.io")
    assert istio.source == "import" and istio.user is None
    assert istio.command == f"import_markdown {path} --edition v1 --dimension Networking"
    assert istio.values["year"] == [None, 2023] and istio.values["labels"] == [[], ["GUIDE"]]

    call_command("import_markdown", str(path), **options)
    assert Change.objects.count() == 2  # nothing changed, nothing recorded

    # A page's words are its listing's (docs/archive.md): an import never writes an entry's title.
    Entry.objects.filter(url="https://istio.io").update(title="Istio (curated)", year=2019)
    call_command("import_markdown", str(path), **options)
    assert Change.objects.count() == 2  # the curator's year is kept by default
    call_command("import_markdown", str(path), overwrite_curator_values=True, **options)
    overwrite = Change.objects.first()
    assert overwrite.values == {"year": [2019, 2023]}
    assert overwrite.command.endswith("--overwrite-curator-values")
    assert Entry.objects.get(url="https://istio.io").title == "Istio (curated)"


def test_admin_delete_is_recorded_and_the_history_still_reads(little_catalog, curator, client):
    entry = little_catalog.entry
    client.post(f"/admin/catalog/entry/{entry.pk}/delete/", {"post": "yes"})
    change = Change.objects.get()
    assert (change.action, change.entry, change.entry_title) == ("deleted", None, "Envoy Gateway")
    page = client.get("/admin/catalog/change/").content.decode()
    assert "Envoy Gateway (deleted)" in page


@pytest.mark.parametrize("changes", [20, 2000])
def test_recent_changes_page_queries_do_not_grow(
    changes, little_catalog, curator, client, django_assert_max_num_queries
):
    entry = little_catalog.entry
    actor = history.Actor.person(curator)
    for n in range(0, changes, 500):
        Change.objects.bulk_create(
            Change(
                entry=entry,
                entry_title=entry.title,
                entry_url=entry.url,
                values={"rating": [i % 5 or None, (i + 1) % 5 or None]},
                at=entry.created_at,
                source=actor.source,
                user=curator,
            )
            for i in range(n, min(n + 500, changes))
        )
    with django_assert_max_num_queries(14):
        response = client.get("/admin/catalog/change/")
    assert response.status_code == 200
    with django_assert_max_num_queries(14):
        filtered = client.get("/admin/catalog/change/", {"source__exact": "admin", "topic": little_catalog.topic.pk})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == changes


def test_recent_changes_filters_by_person_source_and_topic(little_catalog, curator, client, make):
    other = make.entry(title="Elsewhere", section=little_catalog.other_section)
    for entry in (little_catalog.entry, other):
        with history.track(actor=history.Actor.person(curator), entries=[entry]):
            entry.rating = 3
            entry.save()
    with history.track(actor=history.Actor.job("check_links", "--all"), entries=[other]):
        other.year = 2019
        other.save()
    page = client.get("/admin/catalog/change/", {"topic": little_catalog.topic.pk}).content.decode()
    assert "Envoy Gateway" in page and "Elsewhere" not in page
    page = client.get("/admin/catalog/change/", {"source__exact": "job"}).content.decode()
    assert "check_links --all" in page and "Envoy Gateway" not in page
    page = client.get("/admin/catalog/change/", {"user__id__exact": curator.pk}).content.decode()
    assert page.count("/history/") >= 2 and "check_links" not in page


# --- the catalog's structure: a label renamed or deleted, a section deleted ---------------------


def test_admin_label_rename_is_recorded_in_each_entry_with_the_curator(little_catalog, curator, client, make):
    guide = little_catalog.labels["GUIDE"]
    other = make.entry(section=little_catalog.other_section, title="Linkerd docs", labels=[guide])
    data = {"name": "GUIDES", "slug": guide.slug, "group": guide.group_id, "description": "", "position": 0}
    response = client.post(f"/admin/catalog/label/{guide.pk}/change/", data)
    assert response.status_code == 302
    changes = Change.objects.order_by("entry_id")
    assert {c.entry_id for c in changes} == {little_catalog.entry.pk, other.pk}
    for change in changes:
        assert change.values == {"labels": [["GUIDE"], ["GUIDES"]]}
        assert (change.user, change.source, change.note) == (curator, "admin", "Label renamed: GUIDE → GUIDES")


def test_admin_label_edit_without_a_new_name_records_nothing(little_catalog, curator, client):
    guide = little_catalog.labels["GUIDE"]
    data = {"name": "GUIDE", "slug": guide.slug, "group": guide.group_id, "description": "How-tos", "position": 3}
    assert client.post(f"/admin/catalog/label/{guide.pk}/change/", data).status_code == 302
    assert not Change.objects.exists()


def test_admin_label_delete_is_recorded_and_reverting_it_is_refused(little_catalog, curator, client):
    guide = little_catalog.labels["GUIDE"]
    client.post(f"/admin/catalog/label/{guide.pk}/delete/", {"post": "yes"})
    change = Change.objects.get()
    assert change.entry == little_catalog.entry and change.values == {"labels": [["GUIDE"], []]}
    assert (change.user, change.source, change.note) == (curator, "admin", "Deleted label: GUIDE")
    with pytest.raises(ValidationError, match="GUIDE no longer exist"):
        history.revert(change=change, actor=history.Actor.person(curator))


def test_admin_section_delete_records_each_entry_losing_a_placement_with_its_path(
    little_catalog, curator, client, make
):
    """Deleting a section deletes its subsections and their placements: every entry is recorded."""
    elsewhere = make.entry(section=little_catalog.other_section, title="Elsewhere")
    nested = make.entry(section=little_catalog.security, title="In the parent")
    Placement.objects.create(entry=elsewhere, section=little_catalog.mtls)
    security, mtls = little_catalog.security.pk, little_catalog.mtls.pk
    client.post(f"/admin/catalog/section/{security}/delete/", {"post": "yes"})
    changes = {c.entry_id: c for c in Change.objects.all()}
    assert set(changes) == {little_catalog.entry.pk, elsewhere.pk, nested.pk}
    assert changes[little_catalog.entry.pk].values == {"placements": [[mtls], []]}
    assert changes[nested.pk].values == {"placements": [[security], []]}
    assert changes[elsewhere.pk].values == {
        "placements": [sorted([little_catalog.other_section.pk, mtls]), [little_catalog.other_section.pk]]
    }
    note = changes[nested.pk].note
    assert note == "Deleted section: V2 Elite › Istio - Service Mesh › Security"
    assert all(c.user == curator and c.source == "admin" for c in changes.values())
    # The history still reads: the section is gone, named as deleted.
    page = client.get(f"/admin/catalog/entry/{nested.pk}/history/").content.decode()
    assert f"section #{security} (deleted)" in page


def test_bulk_delete_of_sections_is_recorded(little_catalog, curator, client):
    data = {"action": "delete_selected", "_selected_action": [little_catalog.other_section.pk], "post": "yes"}
    make_entry = little_catalog.entry
    Placement.objects.create(entry=make_entry, section=little_catalog.other_section)
    client.post("/admin/catalog/section/", data)
    change = Change.objects.get()
    assert change.entry == make_entry and change.note == "Deleted section: V2 Elite › Linkerd › Getting started"


# --- commands: source "command", with the command and its arguments ------------------------------


def test_setup_catalog_records_every_entry_it_made_with_the_command(small_corpus):
    call_command("setup_catalog", stdout=io.StringIO())
    entries, recorded = Entry.objects.count(), Change.objects.count()
    created = Change.objects.filter(action="created")
    assert created.count() == entries > 50
    # The corpus also fills what the seed's entries left blank: those changes name the command too.
    assert set(Change.objects.values_list("source", "command", "user")) == {("command", "setup_catalog", None)}
    notes = set(created.values_list("note", flat=True))
    assert notes == {"fixtures: base, istio", f"corpus: {small_corpus.name}"}
    seed = created.get(entry__url="https://github.com/envoyproxy/gateway")
    assert seed.note == "fixtures: base, istio" and seed.values["rating"] == [None, 5]
    # Run again on a catalog with data: nothing is touched, nothing recorded.
    call_command("setup_catalog", stdout=io.StringIO())
    assert Change.objects.count() == recorded


def test_setup_catalog_reset_records_the_deletions_and_the_new_entries(small_corpus):
    call_command("setup_catalog", stdout=io.StringIO())
    entry = Entry.objects.get(url="https://github.com/envoyproxy/gateway")
    entry.rating = 2
    entry.save()
    first = Change.objects.count()
    call_command("setup_catalog", "--reset", "--yes", stdout=io.StringIO())
    later = Change.objects.order_by("id")[first:]
    deleted = [c for c in later if c.action == "deleted"]
    created = [c for c in later if c.action == "created"]
    assert len(deleted) == Entry.objects.count() == len(created)
    assert {(c.source, c.command) for c in later} == {("command", "setup_catalog --reset --yes")}
    gone = next(c for c in deleted if c.entry_url == entry.url)
    assert gone.values["rating"] == [2, None] and gone.note == "the catalog deleted, to build it again"
