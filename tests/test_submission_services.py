"""The submission services: create, approve, reject; their rules, transactions and emails."""

import smtplib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from catalog import notifications
from catalog.models import Entry, Placement, Submission
from catalog.services import submissions as services
from catalog.services.submissions import submission_approve, submission_create, submission_reject


def codes(exc_info):
    error = exc_info.value
    if hasattr(error, "error_dict"):
        return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}
    return {"__all__": [e.code for e in error.error_list]}


@pytest.fixture
def moderator(make):
    return make.staff("moderator")


# Creating.


def test_create_stores_a_pending_suggestion_and_tells_the_moderators(
    little_catalog, make, mailoutbox, django_capture_on_commit_callbacks
):
    mods = [make.staff("moderator"), make.staff("moderator")]
    make.staff("curator")  # curators are not mailed unless also in the Moderators group
    with django_capture_on_commit_callbacks() as callbacks:
        submission = submission_create(
            url="https://linkerd.io/?utm_source=x",
            title="  Linkerd  ",
            section=little_catalog.mtls,
            labels=[little_catalog.labels["GUIDE"]],
        )
        assert mailoutbox == []  # nothing is sent inside the transaction
    assert len(callbacks) == 1
    callbacks[0]()
    assert (submission.title, submission.url, submission.url_key) == ("Linkerd", "https://linkerd.io/", "linkerd.io")
    assert submission.topic == little_catalog.topic  # from the section
    assert [m.to for m in mailoutbox] == [sorted(m.email for m in mods)]


def test_create_refuses_links_the_catalog_or_the_queue_already_has(little_catalog, make):
    with pytest.raises(ValidationError) as refused:
        submission_create(url="http://www.github.com/envoyproxy/gateway/", title="Again")
    assert codes(refused) == {"url": ["in_catalog"]}
    make.submission(url="https://linkerd.io/docs")
    with pytest.raises(ValidationError) as refused:
        submission_create(url="https://linkerd.io/docs/#top", title="Again")
    assert codes(refused) == {"url": ["already_pending"]}
    assert Submission.objects.count() == 1


def test_two_pending_suggestions_of_one_link_cannot_both_be_stored(little_catalog, make, monkeypatch):
    make.submission(url="https://linkerd.io/docs")
    with pytest.raises(IntegrityError), transaction.atomic():
        Submission.objects.create(url="https://linkerd.io/docs/", url_key="linkerd.io/docs", title="x", token="t" * 43)
    # When a second request slips past the checks, the database refuses it and the service says why.
    monkeypatch.setattr(services, "pending_submission_for", lambda key: None)
    monkeypatch.setattr(Submission, "validate_constraints", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as refused:
        submission_create(url="https://linkerd.io/docs", title="Race")
    assert codes(refused) == {"url": ["already_pending"]}
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.org/", "not a url", "https://"])
def test_create_refuses_what_is_not_a_web_link(db, url):
    with pytest.raises(ValidationError) as refused:
        submission_create(url=url, title="Bad")
    assert codes(refused) == {"url": ["invalid_url"]}
    assert Submission.objects.count() == 0


def test_create_checks_caps_and_consistency_again(little_catalog, make):
    with pytest.raises(ValidationError) as refused:
        submission_create(url="https://a.org/", title="x", labels=[make.label() for _ in range(9)])
    assert codes(refused) == {"labels": ["too_many_labels"]}
    with pytest.raises(ValidationError) as refused:
        submission_create(url="https://a.org/", title="x", description="d" * 501)
    assert "description" in codes(refused)
    with pytest.raises(ValidationError) as refused:
        submission_create(url="https://a.org/", title="x", topic=little_catalog.other, section=little_catalog.mtls)
    assert codes(refused) == {"section": ["topic_mismatch"]}
    assert Submission.objects.count() == 0


# Approving.


def test_approve_creates_the_entry_and_placement_and_tells_the_submitter(
    little_catalog, make, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    submission = make.submission(
        url="https://linkerd.io/2/features/",
        title="Linkerd features",
        description="What Linkerd does.",
        section=little_catalog.security,
        labels=[little_catalog.labels["EMERGING"]],
        submitter_email="ada@example.org",
    )
    with django_capture_on_commit_callbacks(execute=True):
        approval = submission_approve(submission=submission, moderator=moderator)
    entry = approval.entry
    assert (entry.url, entry.title, entry.description) == (submission.url, "Linkerd features", "What Linkerd does.")
    assert list(entry.labels.names()) == ["EMERGING"]
    assert Placement.objects.filter(entry=entry, section=little_catalog.security).count() == 1
    assert approval.entry_created and approval.placement_created
    submission.refresh_from_db()
    assert (submission.status, submission.entry, submission.moderator) == ("approved", entry, moderator)
    assert submission.decided_at is not None
    [mail] = mailoutbox
    assert mail.to == ["ada@example.org"] and "approved" in mail.subject
    assert f"/entries/{entry.pk}/" in mail.body and f"/submit/status/{submission.token}/" in mail.body


def test_approve_uses_the_moderators_edits(little_catalog, make, moderator):
    submission = make.submission(title="typo titel", description="meh", section=little_catalog.security)
    approval = submission_approve(
        submission=submission,
        moderator=moderator,
        title="Proper title",
        section=little_catalog.other_section,
        labels=[little_catalog.labels["GUIDE"], little_catalog.labels["DE FACTO STANDARD"]],
        description="Better words.",
    )
    entry = Entry.objects.get(pk=approval.entry.pk)
    assert (entry.title, entry.description) == ("Proper title", "Better words.")
    assert sorted(entry.labels.names()) == ["DE FACTO STANDARD", "GUIDE"]
    assert list(entry.placements.values_list("section", flat=True)) == [little_catalog.other_section.pk]
    submission.refresh_from_db()
    assert (submission.title, submission.section) == ("typo titel", little_catalog.security)  # what the reader sent


def test_approve_reuses_the_catalogs_entry_for_the_link(little_catalog, make, moderator):
    existing = little_catalog.entry  # https://github.com/envoyproxy/gateway, in mTLS
    submission = make.submission(
        url="https://www.github.com/envoyproxy/gateway/?utm_source=x",
        title="Another title",
        section=little_catalog.other_section,
        labels=[little_catalog.labels["EMERGING"]],
    )
    before = Entry.objects.count()
    approval = submission_approve(submission=submission, moderator=moderator)
    assert approval.entry == existing and not approval.entry_created and approval.placement_created
    assert Entry.objects.count() == before
    existing.refresh_from_db()
    assert existing.title == "Envoy Gateway"  # the curated metadata stays
    assert sorted(existing.labels.names()) == ["EMERGING", "GUIDE"]
    assert set(existing.placements.values_list("section", flat=True)) == {
        little_catalog.mtls.pk,
        little_catalog.other_section.pk,
    }
    # Suggested again for a section that already lists it: no second placement.
    again = make.submission(url=existing.url, section=little_catalog.mtls)
    approval = submission_approve(submission=again, moderator=moderator)
    assert not approval.placement_created
    assert existing.placements.count() == 2


def test_approve_needs_a_section_and_a_pending_submission(little_catalog, make, moderator):
    submission = make.submission(topic=little_catalog.topic)
    with pytest.raises(ValidationError) as refused:
        submission_approve(submission=submission, moderator=moderator)
    assert codes(refused) == {"section": ["section_required"]}
    submission_approve(submission=submission, moderator=moderator, section=little_catalog.security)
    for decided in (submission, make.submission(status="rejected", rejection_reason="spam")):
        with pytest.raises(ValidationError) as refused:
            submission_approve(submission=decided, moderator=moderator, section=little_catalog.security)
        assert codes(refused) == {"__all__": ["not_pending"]}
        with pytest.raises(ValidationError) as refused:
            submission_reject(submission=decided, moderator=moderator, reason="spam")
        assert codes(refused) == {"__all__": ["not_pending"]}


def test_only_moderators_decide(little_catalog, make):
    submission = make.submission(section=little_catalog.security)
    nobody = make.staff("curator")
    nobody.groups.clear()
    for user in (None, nobody):
        with pytest.raises(PermissionDenied):
            submission_approve(submission=submission, moderator=user)
        with pytest.raises(PermissionDenied):
            submission_reject(submission=submission, moderator=user, reason="spam")
    assert Submission.objects.get().status == "pending"
    submission_approve(submission=submission, moderator=make.staff("curator"))  # curators may moderate


def test_approve_is_all_or_nothing(little_catalog, make, moderator, monkeypatch, mailoutbox):
    submission = make.submission(section=little_catalog.security, submitter_email="ada@example.org")
    before = Entry.objects.count()

    def broken(self, *args, **kwargs):
        raise ValidationError("the placement could not be stored", code="broken")

    monkeypatch.setattr(Placement, "full_clean", broken)
    with pytest.raises(ValidationError):
        submission_approve(submission=submission, moderator=moderator)
    assert Entry.objects.count() == before
    submission.refresh_from_db()
    assert (submission.status, submission.entry, submission.moderator) == ("pending", None, None)
    assert mailoutbox == []


def test_no_mail_when_the_decision_is_rolled_back(
    little_catalog, make, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    submission = make.submission(section=little_catalog.security, submitter_email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        submission_approve(submission=submission, moderator=moderator)
        raise RuntimeError("the caller fails after the service")
    assert mailoutbox == []
    assert Submission.objects.get().status == "pending"


def test_a_failing_mail_server_never_undoes_a_decision(
    little_catalog, make, moderator, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server down")

    monkeypatch.setattr(notifications, "send_mail", down)
    submission = make.submission(section=little_catalog.security, submitter_email="ada@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        submission_approve(submission=submission, moderator=moderator)
    assert Submission.objects.get().status == "approved"
    assert "mail server down" in caplog.text


# Rejecting.


def test_reject_records_the_reason_and_tells_the_submitter(
    little_catalog, make, moderator, mailoutbox, django_capture_on_commit_callbacks
):
    submission = make.submission(submitter_email="ada@example.org", submitter_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        submission_reject(submission=submission, moderator=moderator, reason="outdated", note="  Archived in 2019. ")
    submission.refresh_from_db()
    assert (submission.status, submission.rejection_reason, submission.rejection_note) == (
        "rejected",
        "outdated",
        "Archived in 2019.",
    )
    assert submission.moderator == moderator and submission.decided_at is not None
    assert submission.rejection_text == "It is outdated or no longer maintained. Archived in 2019."
    [mail] = mailoutbox
    assert mail.to == ["ada@example.org"] and "not accepted" in mail.subject
    assert "It is outdated or no longer maintained. Archived in 2019." in mail.body
    # Anyone can type anyone's address: the email holds nothing the submitter typed.
    for typed in (submission.submitter_name, submission.title, submission.url):
        assert typed not in mail.body and typed not in mail.subject


def test_reject_needs_a_known_reason_and_a_note_for_other(little_catalog, make, moderator):
    submission = make.submission()
    for reason, note, expected in [
        ("", "", {"rejection_reason": ["reason_required"]}),
        ("because", "", {"rejection_reason": ["reason_required"]}),
        ("other", "   ", {"rejection_note": ["note_required"]}),
    ]:
        with pytest.raises(ValidationError) as refused:
            submission_reject(submission=submission, moderator=moderator, reason=reason, note=note)
        assert codes(refused) == expected
    submission_reject(submission=submission, moderator=moderator, reason="other", note="Covered by the Istio docs.")
    submission.refresh_from_db()
    assert submission.rejection_text == "Covered by the Istio docs."


def test_no_mail_without_an_address(little_catalog, make, moderator, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission_reject(submission=make.submission(), moderator=moderator, reason="spam")
        submission_approve(submission=make.submission(), moderator=moderator, section=little_catalog.security)
    assert mailoutbox == []


def test_moderator_addresses_from_settings_or_the_group(little_catalog, make, settings):
    make.staff("moderator", username="mod1")
    inactive = make.staff("moderator", username="mod2")
    inactive.is_active = False
    inactive.save()
    no_address = make.staff("moderator", username="mod3")
    no_address.email = ""
    no_address.save()
    settings.MODERATORS_EMAILS = []
    assert notifications.moderator_recipients() == ["mod1@example.org"]
    settings.MODERATORS_EMAILS = ["queue@example.org", "lead@example.org"]
    assert notifications.moderator_recipients() == ["queue@example.org", "lead@example.org"]
