"""Labels of an internal group are for curators: no reader page, format, facet or the
submit form ever shows them; curators see them in the admin."""

import pytest

from catalog import search
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


WORD = "zqxcuratornote"  # in no title, description or URL


def found(client, entry, word=WORD):
    """Entry ids the search finds for `word`, how many the browse page lists, and whether
    the site search links `entry`."""
    browse = client.get("/browse/", {"q": word, "format": "json"}).json()
    site = client.get("/search/", {"q": word}).content.decode()
    return set(search.matching_ids(word) or []), browse["count"], f'href="{entry.get_absolute_url()}"' in site


def test_the_search_never_finds_an_entry_by_an_internal_label(client, seed):
    """The search index holds only public labels, and follows a label moved between groups,
    renamed, or a group made internal or public (SQLite FTS5 and PostgreSQL tsvector alike)."""
    hidden = LabelGroup.objects.create(name="Curation notes", slug="curation-notes", position=9, internal=True)
    shown = LabelGroup.objects.get(slug="kind")
    label = Label.objects.create(name=WORD.upper(), slug=WORD, group=hidden)
    entry = Entry.objects.get(url="https://github.com/envoyproxy/gateway")
    entry.labels.add(label)
    assert found(client, entry) == (set(), 0, False)

    hidden.internal = False
    hidden.save()
    assert found(client, entry) == ({entry.pk}, 1, True)
    hidden.internal = True
    hidden.save()
    assert found(client, entry) == (set(), 0, False)

    label.group = shown
    label.save()
    assert found(client, entry) == ({entry.pk}, 1, True)
    label.group = hidden
    label.save()
    assert found(client, entry) == (set(), 0, False)

    label.name = WORD.upper() + " RENAMED"
    label.save()
    assert found(client, entry) == (set(), 0, False)
    other = Entry.objects.exclude(pk=entry.pk).filter(published=True).first()
    other.labels.add(label)
    other.title += " edited"
    other.save()
    assert found(client, entry) == (set(), 0, False)
    # The entry is still found by its own words.
    assert entry.pk in search.matching_ids("envoy gateway")
