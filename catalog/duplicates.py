"""Finding links that are already known, whatever their spelling.

Entries keep their URLs as written; rather than storing a second, normalised
copy on every entry (which every writer of entries would have to keep right),
a lookup narrows the candidates in SQL with what every spelling of the URL
must contain (the host and a word of the path, or the usual spellings exactly)
and compares normalised keys in Python. Submissions store their key.
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.functions import Lower

from .models import Entry, Submission
from .urlnorm import InvalidURL, split_url


def _candidates_q(normalized):
    word = normalized.search_word
    if not word:
        return Q(url__in=normalized.spellings())
    hosts = Q(url__icontains=normalized.host)
    if normalized.host_unicode != normalized.host:
        hosts |= Q(url__icontains=normalized.host_unicode)
    return hosts & Q(url__icontains=word)


def _split_or_none(url):
    try:
        return split_url(url)
    except InvalidURL:
        return None


def catalog_entries_for(normalized):
    """The entries whose URL normalises to the same key, oldest first (one query)."""
    found = Entry.objects.filter(_candidates_q(normalized)).order_by("id").only("id", "title", "url")
    return [e for e in found if (n := _split_or_none(e.url)) is not None and n.key == normalized.key]


def pending_submission_for(key):
    return Submission.objects.pending().filter(url_key=key).first()


@dataclass
class PossibleDuplicates:
    """What a moderator should look at before approving a submission."""

    same_link: list = field(default_factory=list)  # entries with the same normalised URL
    same_page: list = field(default_factory=list)  # entries on the same page with other parameters
    same_title: list = field(default_factory=list)  # entries with the same title, another link
    submissions: list = field(default_factory=list)  # other suggestions of the same link

    def __bool__(self):
        return any((self.same_link, self.same_page, self.same_title, self.submissions))


def possible_duplicates(submissions):
    """{submission id: PossibleDuplicates} for a page of submissions, in three queries."""
    submissions = list(submissions)
    parsed = {s.pk: _split_or_none(s.url) for s in submissions}
    result = {s.pk: PossibleDuplicates() for s in submissions}
    if not submissions:
        return result

    conditions = Q(pk__in=[])
    for normalized in filter(None, parsed.values()):
        conditions |= _candidates_q(normalized)
    titles = {s.title.lower() for s in submissions}
    conditions |= Q(title_lower__in=titles)
    entries = list(Entry.objects.annotate(title_lower=Lower("title")).filter(conditions).order_by("id"))
    entry_parts = [(e, _split_or_none(e.url)) for e in entries]
    for s in submissions:
        mine, found = parsed[s.pk], result[s.pk]
        for entry, theirs in entry_parts:
            if mine and theirs and theirs.key == mine.key:
                found.same_link.append(entry)
            elif mine and theirs and theirs.page == mine.page:
                found.same_page.append(entry)
            elif entry.title.lower() == s.title.lower():
                found.same_title.append(entry)

    others = Submission.objects.filter(url_key__in={s.url_key for s in submissions}).order_by("-created_at")
    for other in others.only("id", "url_key", "status", "title", "created_at", "rejection_reason"):
        for s in submissions:
            if other.url_key == s.url_key and other.pk != s.pk:
                result[s.pk].submissions.append(other)
    return result
