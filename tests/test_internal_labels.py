"""Labels of an internal group are for curators: no reader page, format, facet or the
submit form ever shows them; curators see them in the admin."""

import pytest

from catalog.models import Entry, Label, LabelGroup, Topic
from tests.submission_support import assert_not_shown_to_readers, published_urls, reader_urls

SECRET = "CURATOR-ONLY-MARK"


@pytest.fixture
def internal_label(seed):
    group = LabelGroup.objects.create(name="Curation notes", slug="curation-notes", position=9, internal=True)
    label = Label.objects.create(name=SECRET, slug="curator-only-mark", group=group)
    entry = Entry.objects.get(url="https://github.com/envoyproxy/gateway")
    entry.labels.add(label)
    return entry


def test_an_internal_label_never_reaches_a_reader(client, internal_label):
    entry = internal_label
    topic = Topic.objects.get(slug="istio", edition__slug="v2")
    urls = reader_urls(topic=topic, entry=entry, text=entry.title) + published_urls(topic, entry)
    for fmt in ("json", "csv", "atom"):
        urls += [f"/browse/?format={fmt}", f"{topic.get_absolute_url()}?format={fmt}"]
    urls += ["/submit/", "/labels/", f"/topics/istio/?q={entry.title}"]
    # The same entry's public labels are there (so the sweep can see labels at all).
    assert "DE FACTO STANDARD" in client.get(entry.get_absolute_url()).content.decode()
    assert_not_shown_to_readers(client, SECRET, urls)
    assert client.get("/labels/curator-only-mark/").status_code == 404
    browse = client.get("/browse/", {"label": "curator-only-mark"}).content.decode()
    assert SECRET not in browse


def test_curators_see_internal_labels_in_the_admin(client, internal_label, make):
    client.force_login(make.staff("curator"))
    changelist = client.get("/admin/catalog/entry/", {"q": "envoyproxy/gateway"}).content.decode()
    assert SECRET in changelist
    form = client.get(f"/admin/catalog/entry/{internal_label.pk}/change/").content.decode()
    assert SECRET in form and "Only curators see this group." in form
