"""Import parsed markdown pages into an edition: one atomic service.

`import_pages()` writes topics, sections, entries, labels and placements with
bulk operations in one transaction, and returns an `ImportReport`. Importing
the same pages again changes nothing.

Curator edits: every row an import writes keeps an `import_record` of the
values it wrote. A value that still equals the record belongs to the import
and follows the markdown; one that differs was changed since by a curator (or
was never written by an import, like the seed's entries). The import keeps
such a value unless asked to overwrite it (`keep_curator_values=False`, the
command's `--overwrite-curator-values`), and lists each one in the report.

Labels of a single-choice group (maturity tier, level): an entry gets at most
one; an incoming one replaces the import's own earlier one and is otherwise a
conflict with the curator's choice like any other value. Every entry change is
recorded in the history (`catalog.services.history`), the command as the actor.

Words and facts: the title and description a page gives a link are its
listing's (Placement.title, .description), reconciled per listing, so
importing one edition never changes another's text. The entry keeps the
shared facts (year, stars, language, rating, 🌟, labels), and as its own
title and description those of the listing that created it.

An import fills and updates values but never blanks one: a description, year,
stars, language or rating missing from the markdown, a missing 🌟 or a missing
label leaves the stored value alone, because the same link often stands on
several pages with more or less detail.
"""

from collections import Counter
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.text import slugify

from .. import tree
from ..models import Change, Dimension, Edition, Entry, Label, LabelGroup, Placement, Section, TaggedEntry, Topic
from ..seed import section_slug
from . import history

IMPORTED_LABEL_GROUP = ("imported", "Imported labels")
ENTRY_FIELDS = ("title", "description", "year", "github_stars", "language", "rating", "featured")
# An entry's shared facts, the same on every page; its words (title, description) belong to each
# listing, and the entry keeps those of its first listing as its own name.
SHARED_FIELDS = ("year", "github_stars", "language", "rating", "featured")
LISTING_FIELDS = ("title", "description", "highlight", "note")
CHUNK = 500


@dataclass
class Conflict:
    """A curator's value that the markdown would change."""

    what: str  # e.g. "entry https://istio.io"
    field: str
    current: object
    incoming: object
    kept: bool


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    edition: str
    dry_run: bool = False
    pages: int = 0
    topics: Counts = field(default_factory=Counts)
    sections: Counts = field(default_factory=Counts)
    entries: Counts = field(default_factory=Counts)
    placements: Counts = field(default_factory=Counts)
    duplicates_merged: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_lines: list = field(default_factory=list)  # (path, line, reason)
    kept: Counter = field(default_factory=Counter)  # blocks kept as prose or notes, by kind
    new_dimensions: list = field(default_factory=list)
    new_labels: list = field(default_factory=list)
    disappeared: list = field(default_factory=list)  # (topic slug, section title, url)
    pruned: int = 0
    conflicts: list = field(default_factory=list)

    @property
    def changed(self):
        return any(
            (c.created or c.updated) for c in (self.topics, self.sections, self.entries, self.placements)
        ) or bool(self.pruned or self.new_dimensions or self.new_labels)


def find_edition(name):
    """The edition with this name or slug (case-insensitive); editions are not created by an import."""
    edition = Edition.objects.filter(Q(name__iexact=name) | Q(slug__iexact=name)).first()
    if edition is None:
        known = ", ".join(f"{e.name!r}" for e in Edition.objects.all()) or "none"
        raise ValidationError(f"No edition named {name!r} (editions: {known}).", code="unknown_edition")
    return edition


def import_pages(
    *, pages, edition_name, keep_curator_values=True, prune=False, dry_run=False, progress=None, actor=None
):
    """Import `pages`, a list of (ParsedPage, dimension name), into the named edition.

    One transaction: on any error nothing is written; with `dry_run` it is
    rolled back at the end, so the report says exactly what would change.
    `actor` (a `history.Actor`) is who the history names; by default the import.
    """
    progress = progress or (lambda stage, done, total, note="": None)
    actor = actor or history.Actor.job("import_markdown", "--edition", edition_name, source=Change.Source.IMPORT)
    with transaction.atomic():
        run = _ImportRun(find_edition(edition_name), keep_curator_values=keep_curator_values, progress=progress)
        run.report.dry_run = dry_run
        with history.track(actor=actor, entries=_entries_touched(run.edition, pages)) as tracked:
            run.import_pages(pages, prune=prune)
            tracked.add(*(entry.pk for entry in run.entries.values()))
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh planner statistics for the pages to come
    return run.report


def _entries_touched(edition, pages):
    """Ids of the entries an import may change: those its pages list, and those placed on its topics."""
    urls = list({parsed.url for page, _ in pages for _, _, section in page.walk() for parsed in section.entries})
    ids = set()
    for batch in chunks(urls):
        ids.update(Entry.objects.filter(url__in=batch).values_list("pk", flat=True))
    slugs = [page.slug for page, _ in pages]
    ids.update(
        Placement.objects.filter(section__topic__edition=edition, section__topic__slug__in=slugs).values_list(
            "entry_id", flat=True
        )
    )
    return sorted(ids)


def is_blank(value):
    return value is None or value == "" or value is False


def reconcile(*, record, current, incoming, what, keep, conflicts):
    """The values an import writes, field by field; records them in `record`.

    A blank incoming value is no change. A field that the import wrote last
    (the record equals the current value) follows the markdown; any other
    difference is a curator's value: a Conflict, kept when `keep`.
    """
    changes = {}
    for name, new in incoming.items():
        old = current[name]
        if is_blank(new) or old == new:
            continue
        if name in record and record[name] == old:
            changes[name] = new
        else:
            conflicts.append(Conflict(what, name, old, new, kept=keep))
            if not keep:
                changes[name] = new
    record.update(changes)
    return changes


def reconcile_labels(*, record, current, incoming, what, keep, conflicts, single=None):
    """The labels an import adds and removes, as (added, removed) names. It adds and
    never removes, except a label of a single-choice group (`single`: {name: group})
    that an incoming one of the same group replaces. A label the import added before
    and a curator has removed since, or a curator's single choice, is a curator's value."""
    single = single or {}
    current = set(current)
    added, removed = [], []
    for name in first_of_each_group(incoming, single):
        if name in current:
            continue
        rivals = {other for other in current if name in single and single.get(other) == single[name]}
        new_to_import = "labels" in record and name not in record["labels"]
        if new_to_import and all(rival in record["labels"] for rival in rivals):
            take = True
        else:
            after = sorted((current - rivals) | {name})
            conflicts.append(Conflict(what, "labels", sorted(current), after, kept=keep))
            take = not keep
        if take:
            added.append(name)
            removed.extend(sorted(rivals))
            current = (current - rivals) | {name}
    if added:
        record["labels"] = sorted({*record.get("labels", []), *added} - set(removed))
    return added, removed


def first_of_each_group(names, single):
    """`names` without the second and later labels of each single-choice group."""
    seen, kept = set(), []
    for name in names:
        group = single.get(name)
        if group is None or group not in seen:
            kept.append(name)
            seen.add(group)
    return kept


def chunks(items, size=CHUNK):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def update_rows(model, objs, fields):
    """UPDATE each row's `fields` with one prepared statement (executemany).

    Equivalent to `bulk_update()` without its CASE WHEN per row and field,
    whose expression building grows with the batch (tens of seconds for a
    few thousand rows here).
    """
    if not objs:
        return
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    rows = [[c.get_db_prep_save(getattr(obj, c.attname), connection) for c in columns] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        for batch in chunks(rows):
            cursor.executemany(sql, batch)


def validated(obj):
    """Field validation before a bulk write. Related rows are the ones this import
    just read or wrote, and uniqueness is the database's job: no queries here."""
    relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
    obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
    return obj


class _ImportRun:
    def __init__(self, edition, *, keep_curator_values, progress):
        self.edition = edition
        self.keep = keep_curator_values
        self.progress = progress
        self.now = timezone.now()
        self.report = ImportReport(edition=edition.name)
        self.entries = {}  # url -> Entry, once written
        self.single = dict(Label.objects.filter(group__single_choice=True).values_list("name", "group_id"))

    def reconcile(self, obj, current, incoming, *, what):
        return reconcile(
            record=obj.import_record,
            current=current,
            incoming=incoming,
            what=what,
            keep=self.keep,
            conflicts=self.report.conflicts,
        )

    def import_pages(self, pages, *, prune):
        report = self.report
        report.pages = len(pages)
        for page, _ in pages:
            report.skipped.update(page.skipped)
            report.kept.update(page.kept)
            report.skipped_lines.extend((page.path, line, reason) for reason, line in page.skipped_lines)
        self.progress("writing", 0, 4, "topics")
        topics = self.write_topics(pages)
        self.progress("writing", 1, 4, "sections")
        sections = self.write_sections(pages, topics)
        self.progress("writing", 2, 4, "entries and labels")
        entries = self.write_entries(pages)
        self.progress("writing", 3, 4, "placements")
        self.write_placements(pages, topics, sections, entries, prune=prune)
        self.progress("writing", 4, 4, "")

    # -- topics ----------------------------------------------------------------

    def dimensions(self, names):
        existing = {d.slug: d for d in Dimension.objects.filter(edition=self.edition)}
        position = max((d.position for d in existing.values()), default=0)
        by_name = {}
        for name in dict.fromkeys(names):
            slug = slugify(name)[:200] or "dimension"
            if slug not in existing:
                position += 1
                existing[slug] = validated(Dimension(edition=self.edition, name=name, slug=slug, position=position))
                existing[slug].save()
                self.report.new_dimensions.append(name)
            by_name[name] = existing[slug]
        return by_name

    def write_topics(self, pages):
        slugs = Counter(page.slug for page, _ in pages)
        if repeated := [slug for slug, n in slugs.items() if n > 1]:
            raise ValidationError(
                f"Several pages make the same topic slug: {', '.join(repeated)}.", code="duplicate_page"
            )
        dimensions = self.dimensions(name for _, name in pages)
        existing = {
            t.slug: t
            for t in Topic.objects.filter(edition=self.edition, slug__in=list(slugs)).select_related("dimension")
        }
        positions = dict(
            Topic.objects.filter(edition=self.edition)
            .values("dimension")
            .annotate(last=Max("position"))
            .values_list("dimension", "last")
        )
        new, changed, topics = [], [], {}
        for page, dimension_name in pages:
            dimension = dimensions[dimension_name]
            values = {"title": page.title, "dimension": dimension.slug, "context": page.context}
            topic = existing.get(page.slug)
            if topic is None:
                positions[dimension.pk] = (positions.get(dimension.pk) or 0) + 1
                topic = Topic(
                    edition=self.edition,
                    dimension=dimension,
                    slug=page.slug,
                    title=page.title,
                    context=page.context,
                    position=positions[dimension.pk],
                    import_record=values,
                )
                new.append(validated(topic))
            else:
                current = {"title": topic.title, "dimension": topic.dimension.slug, "context": topic.context}
                changes = self.reconcile(topic, current, values, what=f"topic {page.slug}")
                if changes:
                    topic.title = changes.get("title", topic.title)
                    topic.context = changes.get("context", topic.context)
                    if "dimension" in changes:
                        topic.dimension = dimension
                    changed.append(validated(topic))
                else:
                    self.report.topics.unchanged += 1
            topics[page.slug] = topic
        Topic.objects.bulk_create(new)
        Topic.objects.bulk_update(changed, ["title", "dimension", "context", "import_record"], batch_size=CHUNK)
        self.report.topics.created += len(new)
        self.report.topics.updated += len(changed)
        return topics

    # -- sections --------------------------------------------------------------

    def write_sections(self, pages, topics):
        """Sections matched by (topic, slug); the slug is made from the titles on the path,
        as the seed's are. Returns {page path: [(section, parsed section)]}."""
        rows = list(Section.objects.filter(topic__in=list(topics.values())))
        existing = {(s.topic_id, s.slug): s for s in rows}
        slug_of = {s.pk: s.slug for s in rows}
        by_page, levels, changed, parent_keys = {}, [], [], {}
        for page, _ in pages:
            topic = topics[page.slug]
            taken, slugs, placed = set(), {}, []
            for path, position, parsed in page.walk():
                slug = slugs[path] = section_slug(path, taken)
                parent = slugs.get(path[:-1])
                values = {"title": parsed.title, "parent": parent, "position": position, "prose": parsed.prose_text}
                section = existing.get((topic.pk, slug))
                if section is None:
                    section = Section(
                        topic=topic, slug=slug, title=parsed.title, position=position, prose=parsed.prose_text
                    )
                    section.import_record = values
                    existing[(topic.pk, slug)] = section
                    parent_keys[id(section)] = (topic.pk, parent)
                    levels.extend([] for _ in range(len(path) - len(levels)))
                    levels[len(path) - 1].append(section)
                else:
                    current = {"title": section.title, "parent": slug_of.get(section.parent_id)}
                    current.update(position=section.position, prose=section.prose)
                    changes = self.reconcile(section, current, values, what=f"section {page.slug}#{slug}")
                    if changes:
                        section.title = changes.get("title", section.title)
                        section.position = changes.get("position", section.position)
                        section.prose = changes.get("prose", section.prose)
                        if "parent" in changes:
                            parent_keys[id(section)] = (topic.pk, changes["parent"])
                        changed.append(section)
                    else:
                        self.report.sections.unchanged += 1
                placed.append((section, parsed))
            by_page[page.path] = placed

        def attach_parent(section):
            if id(section) in parent_keys:  # unsaved rows are not hashable
                topic_id, parent_slug = parent_keys[id(section)]
                section.parent = existing[(topic_id, parent_slug)] if parent_slug else None
            return validated(section)

        for level in levels:  # parents first, so children can point at their keys
            Section.objects.bulk_create([attach_parent(s) for s in level], batch_size=CHUNK)
        Section.objects.bulk_update(
            [attach_parent(s) for s in changed],
            ["title", "parent", "position", "prose", "import_record"],
            batch_size=CHUNK,
        )
        self.report.sections.created += sum(len(level) for level in levels)
        self.report.sections.updated += len(changed)
        return by_page

    # -- entries ---------------------------------------------------------------

    def merged_entries(self, pages):
        """One value set per URL over every page: the first non-blank value wins,
        featured when any occurrence is, labels from every occurrence."""
        merged = {}
        for page, _ in pages:
            for _, _, section in page.walk():
                for parsed in section.entries:
                    values = merged.get(parsed.url)
                    if values is None:
                        merged[parsed.url] = {name: getattr(parsed, name) for name in ENTRY_FIELDS}
                        merged[parsed.url]["labels"] = list(parsed.labels)
                        continue
                    self.report.duplicates_merged += 1
                    for name in ENTRY_FIELDS:
                        if is_blank(values[name]):
                            values[name] = getattr(parsed, name)
                    values["labels"].extend(label for label in parsed.labels if label not in values["labels"])
        return merged

    def write_entries(self, pages):
        merged = self.merged_entries(pages)
        existing = {}
        for urls in chunks(merged):
            existing.update((e.url, e) for e in Entry.objects.filter(url__in=urls))
        current_labels = {}
        for ids in chunks([e.pk for e in existing.values()]):
            for entry_id, name in TaggedEntry.objects.filter(content_object_id__in=ids).values_list(
                "content_object_id", "tag__name"
            ):
                current_labels.setdefault(entry_id, set()).add(name)
        new, changed, label_links, label_unlinks = [], [], [], []
        for url, values in merged.items():
            labels = values.pop("labels")
            entry = existing.get(url)
            if entry is None:
                labels = first_of_each_group(labels, self.single)
                entry = Entry(url=url, **values)
                entry.import_record = {**values, "labels": sorted(labels)}
                new.append(validated(entry))
                existing[url] = entry
                label_links.extend((entry, name) for name in labels)
                continue
            what = f"entry {url}"
            facts = {name: values[name] for name in SHARED_FIELDS}
            changes = self.reconcile(entry, {name: getattr(entry, name) for name in SHARED_FIELDS}, facts, what=what)
            added, removed = reconcile_labels(
                record=entry.import_record,
                current=current_labels.get(entry.pk, set()),
                incoming=labels,
                what=what,
                keep=self.keep,
                conflicts=self.report.conflicts,
                single=self.single,
            )
            label_links.extend((entry, name) for name in added)
            label_unlinks.extend((entry, name) for name in removed)
            if changes or added:
                for name, value in changes.items():
                    setattr(entry, name, value)
                entry.updated_at = self.now
                changed.append(validated(entry))
            else:
                self.report.entries.unchanged += 1
        Entry.objects.bulk_create(new, batch_size=CHUNK)
        update_rows(Entry, changed, [*SHARED_FIELDS, "updated_at", "import_record"])
        self.report.entries.created += len(new)
        self.report.entries.updated += len(changed)
        self.write_labels(label_links, label_unlinks)
        self.entries = existing
        return existing

    def write_labels(self, label_links, label_unlinks=()):
        by_name = {}
        for entry, name in label_unlinks:
            by_name.setdefault(name, []).append(entry.pk)
        for name, ids in by_name.items():
            TaggedEntry.objects.filter(tag__name=name, content_object_id__in=ids).delete()
        names = list(dict.fromkeys(name for _, name in label_links))
        labels = {label.name: label for label in Label.objects.filter(name__in=names)}
        missing = [name for name in names if name not in labels]
        if missing:
            group = self.imported_label_group()
            taken = set(Label.objects.values_list("slug", flat=True))
            for position, name in enumerate(missing, start=1):
                slug, n = slugify(name)[:90] or "label", 2
                while slug in taken:
                    slug, n = f"{slugify(name)[:90]}-{n}", n + 1
                taken.add(slug)
                labels[name] = validated(Label(name=name, slug=slug, group=group, position=position))
            Label.objects.bulk_create([labels[name] for name in missing])
            self.report.new_labels.extend(missing)
        TaggedEntry.objects.bulk_create(
            [TaggedEntry(content_object=entry, tag=labels[name]) for entry, name in label_links], batch_size=CHUNK
        )

    def imported_label_group(self):
        slug, name = IMPORTED_LABEL_GROUP
        group = LabelGroup.objects.filter(slug=slug).first()
        if group is None:
            position = (LabelGroup.objects.aggregate(m=Max("position"))["m"] or 0) + 1
            group = validated(LabelGroup(slug=slug, name=name, position=position))
            group.save()
        return group

    # -- placements ------------------------------------------------------------

    def write_placements(self, pages, topics, sections_by_page, entries, *, prune):
        """One placement per (section, entry), in page order, nested under the listing of
        the same section that the markdown nests it under; report those that are gone."""
        existing = {
            (p.section_id, p.entry_id): p
            for p in Placement.objects.filter(section__topic__in=[t.pk for t in topics.values()]).select_related(
                "entry"
            )
        }
        url_of = {p.pk: p.entry.url for p in existing.values()}
        wanted, new, changed, parents = {}, [], [], {}
        for page, _ in pages:
            for section, parsed in sections_by_page[page.path]:
                position = 0
                for item in parsed.entries:
                    entry = entries[item.url]
                    key = (section.pk, entry.pk)
                    if key in wanted:
                        continue  # a link repeated within one section is placed once
                    position += 1
                    parent = item.parent if item.parent and item.parent != item.url else None
                    values = {
                        "position": position,
                        "title": item.title,
                        "description": item.description,
                        "highlight": item.highlight,
                        "note": item.note,
                        "parent": parent,
                    }
                    placement = existing.get(key)
                    if placement is None:
                        placement = Placement(section=section, entry=entry, **values_without_parent(values))
                        placement.import_record = dict(values)
                        new.append(validated(placement))
                        changes = {"parent": parent}
                    else:
                        # Compared with the words a reader sees (the entry's, for a listing without its own).
                        shown = {
                            "position": placement.position,
                            "title": placement.shown_title,
                            "description": placement.shown_description,
                            "highlight": placement.highlight,
                            "note": placement.note,
                            "parent": url_of.get(placement.parent_id),
                        }
                        changes = self.reconcile(
                            placement, shown, values, what=f"listing of {item.url} in {page.slug}#{section.slug}"
                        )
                        if changes:
                            for name, value in values_without_parent(changes).items():
                                setattr(placement, name, value)
                            changed.append(placement)
                        else:
                            self.report.placements.unchanged += 1
                    wanted[key] = placement
                    if changes.get("parent") in entries:
                        parents[key] = (section.pk, entries[changes["parent"]].pk)
        Placement.objects.bulk_create(new, batch_size=CHUNK)
        update_rows(Placement, changed, ["position", *LISTING_FIELDS, "import_record"])
        self.nest(wanted, parents)
        self.report.placements.created += len(new)
        self.report.placements.updated += len(changed)
        gone = [p.pk for key, p in existing.items() if key not in wanted]
        for ids in chunks(gone):
            rows = Placement.objects.filter(pk__in=ids).values_list(
                "section__topic__slug", "section__title", "entry__url"
            )
            self.report.disappeared.extend(sorted(rows))
            if prune:
                self.report.pruned += Placement.objects.filter(pk__in=ids).delete()[0]

    def nest(self, placements, parents):
        """Point each listing at the listing it is nested under (`parents`: key -> parent key),
        leaving out a parent that is not placed here or would close a cycle."""
        key_of = {p.pk: key for key, p in placements.items()}
        parent_of = {key: key_of.get(p.parent_id) for key, p in placements.items() if p.parent_id}
        parent_of.update(parents)
        rows = []
        for key, target in parents.items():
            if target not in placements or key in tree.ancestors(target, parent_of):
                parent_of[key] = None
                continue
            placement = placements[key]
            if placement.parent_id != placements[target].pk:
                placement.parent_id = placements[target].pk
                rows.append(placement)
        update_rows(Placement, rows, ["parent"])


def values_without_parent(values):
    return {name: value for name, value in values.items() if name != "parent"}
