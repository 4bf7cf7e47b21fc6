"""What readers see of link health: dead links out of the default lists,
unpublished entries nowhere, the "archived copy" note, GitHub figures."""

from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Entry, GitHubRepo


@pytest.fixture
def page(make):
    topic = make.topic(slug="istio", title="Istio")
    section = make.section(topic=topic, title="Tools")
    entries = {
        "alive": make.entry(title="Alive link", url="https://example.org/alive", section=section),
        "dead": make.entry(title="Dead link", url="https://example.org/dead", section=section),
        "hidden": make.entry(title="Unpublished link", url="https://example.org/hidden", section=section),
    }
    Entry.objects.filter(pk=entries["dead"].pk).update(link_state="dead")
    Entry.objects.filter(pk=entries["hidden"].pk).update(published=False)
    return topic, entries


def test_the_topic_page_leaves_out_dead_and_unpublished_links(client, page, settings, django_assert_max_num_queries):
    settings.BROWSE_CACHE_SECONDS = 0
    topic, entries = page
    repo = GitHubRepo.objects.create(key="a/b", owner="a", name="b", stars=5, fetched_at=datetime.now(UTC))
    Entry.objects.filter(pk=entries["alive"].pk).update(github_repo=repo)
    client.get(topic.get_absolute_url())  # builds the facet index for this data version
    with django_assert_max_num_queries(8):
        html = client.get(topic.get_absolute_url()).content.decode()
    assert "Alive link" in html
    assert "Dead link" not in html
    assert "Unpublished link" not in html


def test_an_unpublished_entry_has_no_page(client, page):
    _, entries = page
    assert client.get(entries["hidden"].get_absolute_url()).status_code == 404


def test_a_dead_entry_page_says_so_and_links_the_archived_copy(client, page):
    _, entries = page
    html = client.get(entries["dead"].get_absolute_url()).content.decode()
    assert "Link may be broken:" in html
    assert 'href="https://web.archive.org/web/https://example.org/dead"' in html
    alive = client.get(entries["alive"].get_absolute_url()).content.decode()
    assert "Link may be broken" not in alive


def test_an_archived_copy_says_the_original_is_gone(client, make):
    entry = make.entry(url="https://web.archive.org/web/https://example.org/old")
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "Archived copy: the original page is gone." in html


def test_label_pages_and_the_home_page_leave_out_dead_and_unpublished(client, page, make):
    _, entries = page
    label = make.label(name="TOOL", slug="tool")
    for entry in entries.values():
        entry.labels.add(label)
    html = client.get(label.get_absolute_url()).content.decode()
    assert "Alive link" in html and "Dead link" not in html and "Unpublished link" not in html


def test_github_figures_show_with_their_age_and_an_inactive_flag(client, make):
    now = datetime.now(UTC)
    repo = GitHubRepo.objects.create(
        key="istio/istio",
        owner="istio",
        name="istio",
        stars=38217,
        forks=7000,
        fetched_at=now - timedelta(days=3),
        pushed_at=now - timedelta(days=800),
    )
    entry = make.entry(url="https://github.com/istio/istio", github_stars=35000)
    Entry.objects.filter(pk=entry.pk).update(github_repo=repo)
    html = client.get(entry.get_absolute_url()).content.decode()
    assert "38,217 · refreshed 3\xa0days ago" in html
    assert f"no push since {repo.pushed_at:%B %Y}" in html
