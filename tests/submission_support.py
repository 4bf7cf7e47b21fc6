"""Helpers for the submission tests: a valid form post, and what readers can see.

After issue 3 (browse, search, feeds) is merged, add its reader URLs to
`reader_urls()` (privacy: pending and rejected submissions never leak) and to
`published_urls()` (the whole flow: an approved one is published there).
"""

import time

from catalog.forms import issue_started


def form_data(**overrides):
    """A valid POST for /submit/, handed out a minute ago; `None` drops a field."""
    data = {
        "url": "https://linkerd.io/2.15/features/automatic-mtls/",
        "title": "Linkerd automatic mTLS",
        "target": "",
        "description": "How Linkerd encrypts traffic between meshed pods by default.",
        "reason": "The clearest explanation of zero-config mTLS in a mesh.",
        "submitter_name": "",
        "submitter_email": "",
        "website": "",
        "started": issue_started(at=time.time() - 60),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def reader_urls(topic=None, entry=None):
    """Every page a reader (or a robot) can fetch that lists or describes entries.

    LEAD: after merging issue 3, add "/browse/", its search (e.g. "/browse/?q=..."),
    and the JSON, CSV and Atom feeds here.
    """
    urls = ["/", "/labels/"]
    urls += [f"/labels/{slug}/" for slug in ("de-facto-standard", "guide")]
    if topic is not None:
        urls.append(topic.get_absolute_url())
        urls.append(f"/topics/{topic.slug}/")
    if entry is not None:
        urls.append(entry.get_absolute_url())
    return urls


def published_urls(topic, entry):
    """Where an approved submission must appear: its topic page and its permalink.

    LEAD: after merging issue 3, add "/browse/", a search that finds the entry
    (e.g. f"/browse/?q={entry.title}") and the JSON, CSV and Atom feeds here.
    """
    return [topic.get_absolute_url(), entry.get_absolute_url()]


def assert_not_shown_to_readers(client, text, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert text not in response.content.decode(), f"{text!r} leaked on {url}"


def assert_shown_to_readers(client, text, urls):
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), f"{text!r} missing on {url}"
