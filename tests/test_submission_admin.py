"""The moderation queue in the admin: list, review page, decisions one by one and in bulk."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry

from catalog.models import Entry, Placement, Submission

QUEUE = "/admin/catalog/submission/"


def review_url(submission):
    return f"{QUEUE}{submission.pk}/change/"


@pytest.fixture
def moderator(make):
    return make.staff("moderator")


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def titles_in(html):
    return re.findall(r'<th class="field-title"><a href="[^"]+">([^<]+)</a>', html)


# The queue.


def test_the_queue_shows_pending_submissions_newest_first(mod_client, little_catalog, make):
    older = make.submission(title="Older", section=little_catalog.mtls)
    newer = make.submission(title="Newer", topic=little_catalog.other)
    make.submission(title="Done", status="approved")
    make.submission(title="Declined", status="rejected", rejection_reason="spam")
    Submission.objects.filter(pk=older.pk).update(created_at=newer.created_at.replace(year=2020))
    html = mod_client.get(QUEUE).content.decode()
    assert titles_in(html) == ["Newer", "Older"]
    assert "Istio - Service Mesh › mTLS" in html and ">Linkerd<" in html  # the suggested places
    assert titles_in(mod_client.get(QUEUE, {"status": "all"}).content.decode()) == [
        "Declined",
        "Done",
        "Newer",
        "Older",
    ]
    assert titles_in(mod_client.get(QUEUE, {"status": "rejected"}).content.decode()) == ["Declined"]
    by_topic = mod_client.get(QUEUE, {"topic__id__exact": little_catalog.other.pk}).content.decode()
    assert titles_in(by_topic) == ["Newer"]


@pytest.mark.parametrize("count", [5, 50])
def test_the_queue_runs_a_constant_number_of_queries(
    mod_client, little_catalog, make, django_assert_max_num_queries, count
):
    labels = list(little_catalog.labels.values())
    for i in range(count):
        make.submission(section=little_catalog.mtls, labels=labels[: i % 3], url=f"https://example.com/p/{i}")
    make.entry(url="https://example.com/p/3?utm_source=x", title="Already there")
    with django_assert_max_num_queries(14):
        html = mod_client.get(QUEUE).content.decode()
    assert len(titles_in(html)) == count
    assert html.count("In the catalog:") == 1


def test_the_queue_shows_possible_duplicates(mod_client, little_catalog, make):
    submission = make.submission(url="https://linkerd.io/docs/?page=2", title="Envoy Gateway")
    same_link = make.entry(url="http://www.linkerd.io/docs?page=2&utm_source=x", title="Same link")
    same_page = make.entry(url="https://linkerd.io/docs?page=3", title="Same page")
    make.submission(
        url="https://linkerd.io/docs?page=2", status="rejected", rejection_reason="outdated", title="Before"
    )
    html = mod_client.get(QUEUE).content.decode()
    assert f'In the catalog: <a href="/entries/{same_link.pk}/">Same link</a>' in html
    assert f'Same page, other parameters: <a href="/entries/{same_page.pk}/">Same page</a>' in html
    assert f'Same title: <a href="/entries/{little_catalog.entry.pk}/">Envoy Gateway</a>' in html
    assert "Also suggested (rejected: It is outdated or no longer maintained.)" in html
    review = mod_client.get(review_url(submission)).content.decode()
    assert f'In the catalog: <a href="/entries/{same_link.pk}/">Same link</a>' in review


def test_nobody_adds_submissions_in_the_admin(admin_client, db):
    assert admin_client.get(f"{QUEUE}add/").status_code == 403


# Reviewing one.


def test_the_review_page_shows_the_suggestion_escaped(mod_client, little_catalog, make, django_assert_max_num_queries):
    submission = make.submission(
        title="<i>Title</i>",
        description="<script>alert(1)</script>",
        reason="Because <b>yes</b>",
        submitter_name="Ada",
        submitter_email="ada@example.org",
        section=little_catalog.mtls,
        labels=[little_catalog.labels["GUIDE"]],
    )
    with django_assert_max_num_queries(16):
        response = mod_client.get(review_url(submission))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Because &lt;b&gt;yes&lt;/b&gt;" in html and "Ada &lt;ada@example.org&gt;" in html
    assert 'name="_approve"' in html and 'name="_reject"' in html
    # The approve form starts from the suggestion.
    assert 'value="&lt;i&gt;Title&lt;/i&gt;"' in html
    mtls = "V2 Elite › Istio - Service Mesh › Security › mTLS"  # sections by their full path
    assert re.search(rf'<option value="{little_catalog.mtls.pk}" selected>{mtls}</option>', html)
    assert re.search(rf'value="{little_catalog.labels["GUIDE"].pk}"[^>]*checked', html)


def test_approve_after_editing_then_on_to_the_next(mod_client, moderator, little_catalog, make, client):
    older = make.submission(title="Older one")
    submission = make.submission(url="https://linkerd.io/", title="linkerd", section=little_catalog.mtls)
    response = mod_client.post(
        review_url(submission),
        {
            "_approve": "1",
            "title": "Linkerd",
            "section": little_catalog.other_section.pk,
            "labels_maturity": little_catalog.labels["DE FACTO STANDARD"].pk,
            "description": "The lightest service mesh.",
        },
    )
    assert response.status_code == 302 and response["Location"] == review_url(older)
    entry = Entry.objects.get(url="https://linkerd.io/")
    assert (entry.title, entry.description, list(entry.labels.names())) == (
        "Linkerd",
        "The lightest service mesh.",
        ["DE FACTO STANDARD"],
    )
    assert list(Placement.objects.filter(entry=entry).values_list("section", flat=True)) == [
        little_catalog.other_section.pk
    ]
    submission.refresh_from_db()
    assert (submission.status, submission.moderator) == ("approved", moderator)
    assert LogEntry.objects.filter(object_id=str(submission.pk), change_message="Approved").count() == 1
    follow = mod_client.get(response["Location"]).content.decode()
    assert "Approved “Linkerd”: it is now listed in Linkerd › Getting started." in follow


@pytest.mark.parametrize(
    "section, message",
    [
        ("", "This field is required."),
        ("99999999", "Select a valid choice."),
        ("99999999999999999999", "Select a valid choice."),  # too big for a database integer
        ("abc", "Select a valid choice."),
    ],
)
def test_approve_without_a_valid_section_is_refused_on_the_page(mod_client, little_catalog, make, section, message):
    submission = make.submission(topic=little_catalog.topic)
    response = mod_client.post(review_url(submission), {"_approve": "1", "title": "T", "section": section})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Submission.objects.get().status == "pending" and not Entry.objects.filter(url=submission.url).exists()


def test_reject_needs_a_reason_and_a_note_for_other(mod_client, little_catalog, make):
    submission = make.submission(submitter_email="ada@example.org")
    response = mod_client.post(review_url(submission), {"_reject": "1", "reject-rejection_reason": "other"})
    assert response.status_code == 422
    assert "Explain the reason in a note." in response.content.decode()
    response = mod_client.post(
        review_url(submission),
        {"_reject": "1", "reject-rejection_reason": "other", "reject-rejection_note": "Already covered."},
    )
    assert response.status_code == 302 and response["Location"] == QUEUE  # the queue is empty now
    submission.refresh_from_db()
    assert (submission.status, submission.rejection_text) == ("rejected", "Already covered.")


def test_a_decided_submission_is_read_only(mod_client, little_catalog, make):
    submission = make.submission(status="rejected", rejection_reason="spam", title="Spam")
    html = mod_client.get(review_url(submission)).content.decode()
    assert "It looks like spam." in html and 'name="_approve"' not in html and 'name="_reject"' not in html
    response = mod_client.post(review_url(submission), {"_approve": "1", "section": little_catalog.mtls.pk})
    assert response.status_code == 403
    assert Submission.objects.get().status == "rejected"


# In bulk.


def run_action(client, action, submissions, query=""):
    data = {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in submissions], "index": 0}
    return client.post(f"{QUEUE}{query}", data)


def test_bulk_approve_places_each_in_its_suggested_section(mod_client, little_catalog, make):
    placed = [make.submission(section=little_catalog.security) for _ in range(3)]
    decided = make.submission(status="rejected", rejection_reason="spam")
    # From the list of all submissions, a decided one can be among those selected.
    response = run_action(mod_client, "approve_selected", [*placed, decided], query="?status=all")
    assert response.status_code == 302
    assert Submission.objects.filter(pk__in=[s.pk for s in placed], status="approved").count() == 3
    assert Placement.objects.filter(section=little_catalog.security).count() == 3
    assert Submission.objects.get(pk=decided.pk).status == "rejected"
    html = mod_client.get(response["Location"]).content.decode()
    assert "Approved 3 submissions." in html
    assert "1 already decided, left as they were." in html


def test_bulk_approve_asks_the_section_of_suggestions_that_named_only_a_topic(mod_client, little_catalog, make):
    placed = make.submission(section=little_catalog.security)
    unplaced = make.submission(topic=little_catalog.topic, title="No section")
    other = make.submission(topic=little_catalog.other, title="Other topic")
    page = run_action(mod_client, "approve_selected", [placed, unplaced, other])
    html = page.content.decode()
    assert page.status_code == 200 and "leave it pending" in html
    assert "V2 Elite › Istio - Service Mesh › Security › mTLS" in html  # the topic's sections, by full path
    assert Submission.objects.pending().count() == 3  # nothing yet

    ids = {ACTION_CHECKBOX_NAME: [placed.pk, unplaced.pk, other.pk], "action": "approve_selected", "apply": "1"}
    wrong = mod_client.post(QUEUE, {**ids, f"section_{unplaced.pk}": little_catalog.other_section.pk})
    assert wrong.status_code == 422 and "is not one of the sections offered" in wrong.content.decode()
    assert Submission.objects.pending().count() == 3

    done = mod_client.post(QUEUE, {**ids, f"section_{unplaced.pk}": little_catalog.mtls.pk})
    assert done.status_code == 302
    entry = Submission.objects.get(pk=unplaced.pk).entry
    assert list(Placement.objects.filter(entry=entry).values_list("section", flat=True)) == [little_catalog.mtls.pk]
    assert Submission.objects.get(pk=placed.pk).status == "approved"
    assert Submission.objects.get(pk=other.pk).status == "pending"  # left pending: no section chosen
    html = mod_client.get(done["Location"]).content.decode()
    assert "Approved 2 submissions." in html and "1 left pending (no section chosen)." in html


def test_the_approve_form_curates_year_language_rating_and_tier(mod_client, little_catalog, make):
    submission = make.submission(url="https://linkerd.io/", title="Linkerd", section=little_catalog.mtls)
    html = mod_client.get(review_url(submission)).content.decode()
    assert 'name="year"' in html and 'name="rating"' in html and 'type="radio" name="labels_maturity"' in html
    emerging = little_catalog.labels["EMERGING"]
    data = {"_approve": "1", "title": "Linkerd", "section": little_catalog.mtls.pk, "year": 2024}
    data.update({"language": "Rust", "rating": 4, "labels_maturity": emerging.pk})
    assert mod_client.post(review_url(submission), data).status_code == 302
    entry = Entry.objects.get(url="https://linkerd.io/")
    assert (entry.year, entry.language, entry.rating, list(entry.labels.names())) == (2024, "Rust", 4, ["EMERGING"])
    bad = make.submission(url="https://kuma.io/", section=little_catalog.mtls)
    response = mod_client.post(review_url(bad), {**data, "title": "Kuma", "year": 1800, "labels_maturity": "x"})
    assert response.status_code == 422
    assert "greater than or equal to 1990" in response.content.decode()
    assert "“x” is not a Maturity tier label" in response.content.decode()
    assert not Entry.objects.filter(url="https://kuma.io/").exists()


@pytest.mark.parametrize("count", [3, 30])
def test_bulk_reject_asks_for_the_reason_first(mod_client, little_catalog, make, django_assert_max_num_queries, count):
    chosen = [make.submission(title=f"Spam {i}") for i in range(count)]
    kept = make.submission(title="Keep me")
    with django_assert_max_num_queries(14):
        page = run_action(mod_client, "reject_selected", chosen)
    html = page.content.decode()
    assert page.status_code == 200 and f"Reject these {count} pending submissions?" in html
    assert all(f'name="{ACTION_CHECKBOX_NAME}" value="{s.pk}"' in html for s in chosen)
    assert Submission.objects.filter(status="rejected").count() == 0  # nothing yet

    ids = {ACTION_CHECKBOX_NAME: [s.pk for s in chosen], "action": "reject_selected", "apply": "1"}
    missing = mod_client.post(QUEUE, ids)
    assert missing.status_code == 422 and Submission.objects.filter(status="rejected").count() == 0
    done = mod_client.post(QUEUE, {**ids, "reject-rejection_reason": "spam"})
    assert done.status_code == 302
    assert set(Submission.objects.filter(status="rejected").values_list("pk", flat=True)) == {s.pk for s in chosen}
    assert Submission.objects.get(pk=kept.pk).status == "pending"
    assert f"Rejected {count} submissions." in mod_client.get(done["Location"]).content.decode()


def test_a_moderator_clears_a_queue_of_fifty_in_two_requests(mod_client, little_catalog, make):
    good = [make.submission(section=little_catalog.security, url=f"https://good.example/{i}") for i in range(40)]
    bad = [make.submission(url=f"https://bad.example/{i}") for i in range(10)]
    assert run_action(mod_client, "approve_selected", good).status_code == 302
    ids = {ACTION_CHECKBOX_NAME: [s.pk for s in bad], "action": "reject_selected", "apply": "1"}
    assert mod_client.post(QUEUE, {**ids, "reject-rejection_reason": "off_topic"}).status_code == 302
    assert Submission.objects.pending().count() == 0
    assert Entry.objects.filter(url__startswith="https://good.example/").count() == 40
    assert titles_in(mod_client.get(QUEUE).content.decode()) == []
