"""The emails of the submission workflow; services send them after a commit.

Moderators hear of each new submission: the addresses in MODERATORS_EMAILS
when set, else the active members of the "Moderators" group who have an
address. A submitter who left an address hears of the decision, in an email
that holds nothing the submitter typed (only the site's links and the
moderator's reason), since anyone can type anyone's address into the form.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

MODERATORS_GROUP = "Moderators"


def absolute(path):
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def moderator_recipients():
    if settings.MODERATORS_EMAILS:
        return list(settings.MODERATORS_EMAILS)
    users = get_user_model().objects.filter(is_active=True, groups__name=MODERATORS_GROUP).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _one_line(text, limit=80):
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _send(subject, template, context, recipients):
    body = render_to_string(template, context)
    send_mail(_one_line(subject, 150), body, settings.DEFAULT_FROM_EMAIL, recipients)


def new_submission(submission):
    recipients = moderator_recipients()
    if not recipients:
        return
    context = {
        "submission": submission,
        "review_url": absolute(reverse("admin:catalog_submission_change", args=[submission.pk])),
        "queue_url": absolute(reverse("admin:catalog_submission_changelist")),
    }
    _send(f"New link suggestion: {_one_line(submission.title)}", "catalog/submit_email_new.txt", context, recipients)


def decision(submission):
    if not submission.submitter_email:
        return
    context = {
        "submission": submission,
        "site_url": settings.SITE_URL,
        "status_url": absolute(submission.get_absolute_url()),
        "entry_url": absolute(submission.entry.get_absolute_url()) if submission.entry_id else "",
    }
    verb = "approved" if submission.status == submission.Status.APPROVED else "not accepted"
    _send(
        f"Your link suggestion to meshportal was {verb}",
        "catalog/submit_email_decision.txt",
        context,
        [submission.submitter_email],
    )
