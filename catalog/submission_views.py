"""Reader submissions: the "Suggest a link" form and the private status page."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache

from . import pages
from .forms import SubmissionForm, parse_target
from .models import Submission
from .ratelimit import client_address, submission_rate_limit


def _initial_target(params):
    """`?topic=<id>` or `?section=<id>` (a topic page's link) preselects the place."""
    for key, kind in (("section", "s"), ("topic", "t")):
        value = f"{kind}{params.get(key, '')}"
        if parse_target(value):
            return value
    return None


def _private(response):
    """The status page is for the submitter only: never cached, indexed, or sent as a referrer."""
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache  # a fresh CSRF token and start time each time
def submit(request):
    if request.method != "POST":
        form = SubmissionForm(target=_initial_target(request.GET))
        return render(request, "catalog/submit.html", {"form": form})

    form = SubmissionForm(request.POST)
    limit, client = submission_rate_limit(), client_address(request)
    decision = limit.consume(client)
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after / 60))
        form.add_error(
            None,
            f"You have sent {limit.limit} suggestions in a short time. Thank you! Please send the next one "
            f"in about {minutes} minute{'s' if minutes != 1 else ''}; your text is kept below.",
        )
        response = render(request, "catalog/submit.html", {"form": form}, status=429)
        response["Retry-After"] = str(decision.retry_after)
        return response
    if form.is_valid():
        submission = form.save()
        if submission is not None:
            messages.success(request, "Thank you: your suggestion was received.")
            return HttpResponseRedirect(submission.get_absolute_url(), status=303)  # See Other: GET it
    if not form.refused_as_bot:
        limit.refund(client)  # a person's mistake does not count against them
    return render(request, "catalog/submit.html", {"form": form}, status=422)


def submission_status(request, token):
    submission = get_object_or_404(
        Submission.objects.select_related("topic__edition", "section__topic__edition", "entry"), token=token
    )
    listings = pages.entry_listings(submission.entry) if submission.entry_id else []
    return _private(render(request, "catalog/submit_status.html", {"submission": submission, "listings": listings}))


def csrf_failure(request, reason=""):
    """Django's CSRF refusal, in words a reader understands (settings.CSRF_FAILURE_VIEW)."""
    return render(request, "catalog/submit_csrf.html", status=403)
