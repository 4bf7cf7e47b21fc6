"""GitHub enrichment writes: linking entries to their repository, storing
fetched figures, and a curator accepting a suggestion or a rename.

Fetched figures live on GitHubRepo and never overwrite an entry's curated
values; only `github_accept_suggestion` and `github_apply_rename`, called
by a curator, change an entry.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..linkhealth.github import repo_key, repo_parts, store_answer, suggestions
from ..models import Entry, GitHubRepo, Label, TaggedEntry
from .linkhealth import NOTES, LinkChange, _set_url, recorded

NOTES.update(
    {"accept_suggestion": "GitHub: accepted a suggestion", "apply_rename": "GitHub: the repository's new name"}
)

MATURITY_GROUP = "maturity"


@transaction.atomic
def github_link_entries():
    """Give every entry whose URL names a GitHub repository its GitHubRepo (one per owner/name).

    Returns (repositories created, entries linked or unlinked).
    """
    wanted = {}
    for pk, url, current in Entry.objects.values_list("id", "url", "github_repo_id").iterator(chunk_size=2000):
        wanted[pk] = (repo_parts(url), current)
    keys = {}
    for parts, _ in wanted.values():
        if parts:
            keys.setdefault(f"{parts[0]}/{parts[1]}".lower(), parts)
    existing = dict(GitHubRepo.objects.filter(key__in=keys).values_list("key", "id"))
    new = [GitHubRepo(key=k, owner=o, name=n) for k, (o, n) in keys.items() if k not in existing]
    GitHubRepo.objects.bulk_create(new, batch_size=500)
    ids = dict(GitHubRepo.objects.filter(key__in=keys).values_list("key", "id"))
    moves = {}
    for pk, (parts, current) in wanted.items():
        target = ids[f"{parts[0]}/{parts[1]}".lower()] if parts else None
        if target != current:
            moves.setdefault(target, []).append(pk)
    for target, pks in moves.items():  # only changed rows: each write changes the catalog version
        Entry.objects.filter(pk__in=pks).update(github_repo_id=target)
    return len(new), sum(len(p) for p in moves.values())


@transaction.atomic
def github_store(*, repo, answer, now):
    """Store one API answer on its repository; returns what happened (fetched, not_modified, ...)."""
    outcome = store_answer(repo, answer, now)
    repo.full_clean()
    repo.save()
    return outcome


def maturity_slugs(entry):
    return set(
        TaggedEntry.objects.filter(content_object=entry, tag__group__slug=MATURITY_GROUP).values_list(
            "tag__slug", flat=True
        )
    )


def entry_suggestions(entry):
    """The suggestions for one entry, from its repository's stored figures."""
    return suggestions(entry, entry.github_repo, maturity_slugs(entry))


@recorded("accept_suggestion")
def github_accept_suggestion(*, entry, field, user):
    """Apply one suggestion to the entry (the curator asked); ValidationError when there is none."""
    entry = Entry.objects.select_for_update(of=("self",)).select_related("github_repo").get(pk=entry.pk)
    found = {s.field: s for s in entry_suggestions(entry)}
    if field not in found:
        raise ValidationError("There is no such suggestion for this entry any more.", code="no_suggestion")
    suggestion = found[field]
    if field == "maturity":
        old = sorted(maturity_slugs(entry))
        label = Label.objects.filter(slug=suggestion.value, group__slug=MATURITY_GROUP).first()
        if label is None:
            raise ValidationError(f"No maturity label {suggestion.value!r}.", code="unknown_label")
        entry.labels.remove(*Label.objects.filter(group__slug=MATURITY_GROUP, slug__in=old))
        entry.labels.add(label)
        entry.save(update_fields=["updated_at"])
        return LinkChange(entry, "accept_suggestion", {"maturity": (", ".join(old) or None, label.slug)})
    old = getattr(entry, field)
    setattr(entry, field, suggestion.value)
    entry.full_clean()
    entry.save()
    return LinkChange(entry, "accept_suggestion", {field: (old, suggestion.value)})


@recorded("apply_rename")
def github_apply_rename(*, entry, user):
    """Point the entry at the repository's new owner/name after GitHub reported a rename."""
    entry = Entry.objects.select_for_update(of=("self",)).select_related("github_repo").get(pk=entry.pk)
    repo, parts = entry.github_repo, repo_parts(entry.url)
    if repo is None or not repo.moved_to or parts is None:
        raise ValidationError("GitHub has not reported a new name for this repository.", code="no_rename")
    old_prefix = f"github.com/{parts[0]}/{parts[1]}"
    new_url = entry.url.replace(old_prefix, f"github.com/{repo.moved_to}", 1)
    old_url = _set_url(entry, new_url)
    key = repo_key(new_url)
    owner, name = repo.moved_to.split("/", 1)
    entry.github_repo, _ = GitHubRepo.objects.get_or_create(key=key, defaults={"owner": owner, "name": name})
    entry.save()
    return LinkChange(entry, "apply_rename", {"url": (old_url, new_url)})
