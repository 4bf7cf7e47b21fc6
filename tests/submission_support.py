"""Helpers for the submission tests: a valid form post, and what readers can see:
`reader_urls()` (privacy: pending and rejected submissions never leak) and
`published_urls()` (the whole flow: an approved one is published there).
"""

import time
from urllib.parse import urlencode

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


def post_form(client, data, path="/submit/", **extra):
    """POST `data` URL-encoded, as a browser sends the form (a multipart body is refused)."""
    return client.post(path, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded", **extra)


BROWSE_VIEWS = ["/browse/", "/browse/?format=json", "/browse/?format=csv", "/browse/?format=atom"]


def reader_urls(topic=None, entry=None, text=None):
    """Every page a reader (or a robot) can fetch that lists or describes entries:
    pages, the catalog browse with its JSON, CSV and Atom forms, and a search
    for `text`."""
    urls = ["/", "/labels/", *BROWSE_VIEWS]
    urls += [f"/labels/{slug}/" for slug in ("de-facto-standard", "guide")]
    if text:
        # A search page shows its own query back, so the machine-readable forms are checked.
        search = urlencode({"q": text})
        urls += [f"/browse/?{search}&format=json", f"/browse/?{search}&format=atom"]
    if topic is not None:
        urls.append(topic.get_absolute_url())
        urls.append(f"/topics/{topic.slug}/")
        urls.append(f"/topics/{topic.slug}/?format=json")
    if entry is not None:
        urls.append(entry.get_absolute_url())
    return urls


def published_urls(topic, entry):
    """Where an approved submission must appear: its topic page, its permalink,
    the catalog browse and its feeds, newest added first, and a search for its title."""
    search = urlencode({"q": entry.title})
    added = "/browse/?sort=added"
    return [
        topic.get_absolute_url(),
        entry.get_absolute_url(),
        added,
        f"{added}&format=json",
        f"{added}&format=csv",
        f"{added}&format=atom",
        f"/browse/?{search}",
        f"/browse/?{search}&format=json",
        f"{topic.get_absolute_url()}?sort=added&format=json",
    ]


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
