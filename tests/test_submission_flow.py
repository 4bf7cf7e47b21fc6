"""The whole flow over HTTP: a reader suggests, a moderator approves, readers see it.

Nothing unapproved is ever shown to readers. The pages readers can fetch are
listed in tests/submission_support.py (reader_urls, published_urls).
"""

import re

import pytest
from django.test import Client

from catalog.models import Entry, Label, Section, Submission, Topic

from .submission_support import (
    assert_not_shown_to_readers,
    assert_shown_to_readers,
    form_data,
    post_form,
    published_urls,
    reader_urls,
)


@pytest.fixture
def moderator_client(make, settings):
    settings.MODERATORS_EMAILS = []  # mail the Moderators group
    client = Client()
    client.force_login(make.staff("moderator", username="mia"))
    return client


def test_suggest_approve_publish(client, seed, moderator_client, mailoutbox, django_capture_on_commit_callbacks):
    istio = Topic.objects.get(slug="istio", edition__slug="v2")
    section = Section.objects.get(topic=istio, slug="cloud-native-infrastructure-service-mesh-security")
    title = "Zero-trust networking with a service mesh"

    # A reader follows the topic page's link to the form, with the topic chosen.
    topic_page = client.get("/topics/istio/").content.decode()
    form_url = re.search(r'href="(/submit/\?topic=\d+)"', topic_page).group(1)
    form_page = client.get(form_url).content.decode()
    assert f'<option value="t{istio.pk}" selected>' in form_page and f'value="s{section.pk}"' in form_page

    guide = Label.objects.get(name="GUIDE")
    with django_capture_on_commit_callbacks(execute=True):
        sent = post_form(
            client,
            form_data(
                url="https://example.dev/zero-trust-mesh/?utm_source=mastodon",
                title=title,
                target=f"s{section.pk}",
                labels=[guide.pk],
                submitter_email="reader@example.org",
            ),
        )
    assert sent.status_code == 303
    status_url = sent["Location"]
    assert "Pending review" in client.get(status_url).content.decode()

    # Until a moderator decides, readers see it nowhere.
    assert_not_shown_to_readers(client, title, reader_urls(istio, Entry.objects.first(), text=title))

    # The moderators hear of it and find it in the queue.
    [notice] = mailoutbox
    assert notice.to == ["mia@example.org"]
    review_path = re.search(r"http\S+(/admin/catalog/submission/\d+/change/)", notice.body).group(1)
    assert title in moderator_client.get("/admin/catalog/submission/").content.decode()
    assert title in moderator_client.get(review_path).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        decided = moderator_client.post(
            review_path,
            {
                "_approve": "1",
                "title": title,
                "section": section.pk,
                "labels": [guide.pk],
                "description": "A walk through mTLS and authorization policies.",
            },
        )
    assert decided.status_code == 302
    entry = Entry.objects.get(url="https://example.dev/zero-trust-mesh/")

    # Readers now see it on its topic page, under its section, and on its permalink.
    assert_shown_to_readers(client, title, published_urls(istio, entry))
    topic_html = client.get("/topics/istio/").content.decode()
    section_html = topic_html.split(f'id="{section.slug}"')[1].split("</section>")[0]
    assert title in section_html and f'href="/entries/{entry.pk}/"' in section_html
    permalink = client.get(entry.get_absolute_url()).content.decode()
    assert "Istio - Service Mesh › Cloud Native Infrastructure › Service Mesh › Security" in permalink
    assert ">GUIDE</a>" in permalink

    # The submitter's status page and email point to it.
    status = client.get(status_url).content.decode()
    assert "It is in the catalog" in status and f'href="/entries/{entry.pk}/"' in status
    decision = mailoutbox[-1]
    assert decision.to == ["reader@example.org"] and status_url in decision.body


def test_a_rejected_suggestion_shows_the_reason_only_to_its_submitter(
    client, little_catalog, make, moderator_client, mailoutbox
):
    sent = post_form(client, form_data(title="Buy cheap mesh", target=f"t{little_catalog.topic.pk}"))
    status_url = sent["Location"]
    submission = Submission.objects.get()
    response = moderator_client.post(
        f"/admin/catalog/submission/{submission.pk}/change/",
        {"_reject": "1", "reject-rejection_reason": "commercial", "reject-rejection_note": "Mostly a sales page."},
    )
    assert response.status_code == 302
    status = client.get(status_url).content.decode()
    assert "It was not added" in status
    assert "It is advertising or mainly promotional. Mostly a sales page." in status
    assert_not_shown_to_readers(
        client, "Buy cheap mesh", reader_urls(little_catalog.topic, little_catalog.entry, text="Buy cheap mesh")
    )
    assert not Entry.objects.filter(url=submission.url).exists()


def test_pending_and_rejected_suggestions_never_reach_readers(client, little_catalog, make):
    make.submission(title="Pending secret", section=little_catalog.mtls, labels=[little_catalog.labels["GUIDE"]])
    make.submission(title="Rejected secret", section=little_catalog.mtls, status="rejected", rejection_reason="spam")
    # Even a suggestion of a link already in the catalog does not change its pages.
    make.submission(
        title="Duplicate secret",
        url="https://github.com/envoyproxy/gateway/",
        status="rejected",
        rejection_reason="spam",
    )
    urls = [
        *reader_urls(little_catalog.topic, little_catalog.entry),
        little_catalog.other.get_absolute_url(),
        "/labels/guide/",
    ]
    for secret in ("Pending secret", "Rejected secret", "Duplicate secret", "/submit/status/"):
        assert_not_shown_to_readers(client, secret, urls)
