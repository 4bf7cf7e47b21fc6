"""Single-choice label groups (maturity tier, level): an entry has at most one label of
each, whatever path writes its labels; unknown labels are refused naming the allowed ones."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import Count

from catalog.models import Entry, Label, LabelGroup, TaggedEntry
from catalog.services.labels import validate_label_set
from catalog.services.submissions import submission_approve


def single_choice_violations():
    """(entry id, group id) pairs holding more than one label of a single-choice group."""
    return list(
        TaggedEntry.objects.filter(tag__group__single_choice=True)
        .values("content_object_id", "tag__group_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )


def test_validation_names_the_group_and_the_labels(little_catalog):
    labels = little_catalog.labels
    with pytest.raises(ValidationError) as refused:
        validate_label_set([labels["EMERGING"], labels["DE FACTO STANDARD"], labels["GUIDE"]])
    (error,) = refused.value.error_dict["labels"]
    assert error.code == "single_choice"
    assert error.message % error.params == (
        "An entry has at most one Maturity tier label; choose one of DE FACTO STANDARD, EMERGING."
    )
    validate_label_set([labels["EMERGING"], labels["GUIDE"]])  # one of each group is fine


def test_the_admin_form_offers_each_group_and_refuses_an_unknown_label(little_catalog, make, client):
    client.force_login(make.staff("curator"))
    entry = little_catalog.entry
    page = client.get(f"/admin/catalog/entry/{entry.pk}/change/").content.decode()
    assert 'type="radio" name="labels_maturity"' in page
    assert 'name="labels_kind"' in page and 'name="labels"' not in page
    data = {
        "title": entry.title,
        "url": entry.url,
        "labels_maturity": "EMERGNG",
        "placements-TOTAL_FORMS": 0,
        "placements-INITIAL_FORMS": 0,
    }
    response = client.post(f"/admin/catalog/entry/{entry.pk}/change/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["labels_maturity"]
    assert errors == ["“EMERGNG” is not a Maturity tier label; the allowed values are: DE FACTO STANDARD, EMERGING."]
    assert Label.objects.count() == 3 and set(entry.labels.names()) == {"GUIDE"}


def test_approval_refuses_a_second_tier_for_an_existing_entry(little_catalog, make):
    labels = little_catalog.labels
    little_catalog.entry.labels.add(labels["EMERGING"])
    submission = make.submission(
        url="https://github.com/envoyproxy/gateway",
        section=little_catalog.other_section,
        labels=[labels["DE FACTO STANDARD"]],
    )
    with pytest.raises(ValidationError) as refused:
        submission_approve(submission=submission, moderator=make.staff("moderator"))
    assert refused.value.error_dict["labels"][0].code == "single_choice"
    assert set(little_catalog.entry.labels.names()) == {"GUIDE", "EMERGING"}
    submission.refresh_from_db()
    assert submission.is_pending


def test_approval_refuses_two_tiers_for_a_new_entry(little_catalog, make):
    labels = little_catalog.labels
    submission = make.submission(url="https://linkerd.io", section=little_catalog.mtls)
    with pytest.raises(ValidationError):
        submission_approve(
            submission=submission,
            moderator=make.staff("moderator"),
            labels=[labels["EMERGING"], labels["DE FACTO STANDARD"]],
        )
    assert not Entry.objects.filter(url="https://linkerd.io").exists()


def run_import(path, **options):
    out = io.StringIO()
    call_command("import_markdown", str(path), edition="v1", dimension="N", stdout=out, **options)
    return out.getvalue()


def test_import_keeps_one_tier_and_the_curators_choice(tmp_path, editions):
    page = tmp_path / "mesh.md"
    page.write_text(
        "# Mesh\n\n## A\n- [Istio](https://istio.io) [EMERGING] [LEGACY]\n"
        "## B\n- [Istio](https://istio.io) [DE FACTO STANDARD]\n"
    )
    run_import(page)
    istio = Entry.objects.get(url="https://istio.io")
    assert set(istio.labels.names()) == {"EMERGING"}

    # The markdown changes the tier it wrote itself: it follows the markdown.
    page.write_text("# Mesh\n\n## A\n- [Istio](https://istio.io) [ENTERPRISE-STABLE]\n")
    run_import(page)
    assert set(istio.labels.names()) == {"ENTERPRISE-STABLE"}

    # A curator's tier is kept, and reported; overwriting replaces it, never adds a second one.
    istio.labels.set([Label.objects.get(name="LEGACY")])
    page.write_text("# Mesh\n\n## A\n- [Istio](https://istio.io) [DE FACTO STANDARD]\n")
    out = run_import(page)
    assert set(istio.labels.names()) == {"LEGACY"}
    assert "entry https://istio.io: labels ['LEGACY'] -> ['DE FACTO STANDARD']" in out
    run_import(page, overwrite_curator_values=True)
    assert set(istio.labels.names()) == {"DE FACTO STANDARD"}
    assert single_choice_violations() == []


def test_the_fixtures_hold_at_most_one_label_per_single_choice_group(catalog_fixtures):
    assert set(LabelGroup.objects.filter(single_choice=True).values_list("slug", flat=True)) == {"maturity", "level"}
    assert single_choice_violations() == []
