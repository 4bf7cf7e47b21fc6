"""Turn the seed page (`istio.yaml`) into fixture objects with natural keys.

Kept as plain functions over dicts so that the fixture is reproducible from
the seed with `manage.py build_seed_fixture`, and the test suite can compare
the loaded database against the same YAML.
"""

from django.utils.text import slugify

# When the seed was captured from the Nubenetes repository (see the corpus's
# PROVENANCE.md); fixture rows need explicit timestamps because loaddata does
# not run auto_now.
SEED_TIMESTAMP = "2026-05-18T00:00:00Z"

EDITIONS = [
    {
        "slug": "v2",
        "name": "V2 Elite",
        "tagline": "The curated edition: rated, labelled and described.",
        "description": "The AI-curated V2 Elite edition: fewer links, each rated, labelled and described.",
        "position": 1,
    },
    {
        "slug": "v1",
        "name": "V1 Historical Archive",
        "tagline": "The exhaustive list of references.",
        "description": "The exhaustive V1 Historical Archive: every reference ever collected, as it was published.",
        "position": 2,
    },
]

# Label groups and their labels, in display order, with the Nubenetes V2
# portal's own definitions where it gives one. An entry has at most one label
# of a single-choice group.
SINGLE_CHOICE_GROUPS = {"maturity", "level"}
LABEL_GROUPS = [
    (
        "maturity",
        "Maturity tier",
        [
            ("DE FACTO STANDARD", "Foundational, massive adoption."),
            ("ENTERPRISE-STABLE", "Production-ready."),
            ("EMERGING", "Innovative, gaining traction."),
            ("LEGACY", "Being phased out."),
        ],
    ),
    (
        "kind",
        "Content kind",
        [
            ("GUIDE", "Educational material."),
            ("DOCUMENTATION", "Official or reference documentation."),
            ("COMMUNITY-TOOL", "A tool or resource from the community."),
        ],
    ),
    ("level", "Level", [("ADVANCED LEVEL", "For experienced practitioners.")]),
]


def label_objects():
    """Fixture objects for the label groups and their labels."""
    objects = []
    for group_position, (group_slug, group_name, labels) in enumerate(LABEL_GROUPS, start=1):
        objects.append(
            {
                "model": "catalog.labelgroup",
                "fields": {
                    "name": group_name,
                    "slug": group_slug,
                    "position": group_position,
                    "single_choice": group_slug in SINGLE_CHOICE_GROUPS,
                },
            }
        )
        for position, (name, description) in enumerate(labels, start=1):
            objects.append(
                {
                    "model": "catalog.label",
                    "fields": {
                        "name": name,
                        "slug": slugify(name),
                        "group": [group_slug],
                        "description": description,
                        "position": position,
                    },
                }
            )
    return objects


def edition_objects():
    return [{"model": "catalog.edition", "fields": dict(edition)} for edition in EDITIONS]


def topic_context(title, dimension):
    return f"Detailed reference for {title} in the context of {dimension}."


def section_slug(path_titles, taken):
    """An anchor unique within the topic, from the titles on the section's path."""
    base = slugify("-".join(path_titles))[:240] or "section"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def walk_sections(sections, path=()):
    """Yield (path_titles, parent_path_titles, position, section) depth first, in page order."""
    for position, section in enumerate(sections, start=1):
        here = (*path, section["title"])
        yield here, path, position, section
        yield from walk_sections(section.get("children", []), here)


def topic_objects(seed):
    """Fixture objects for a seed page: its dimension, topic, related topics,
    sections, entries, labels and placements."""
    topic = seed["topic"]
    edition = next(e["slug"] for e in EDITIONS if e["name"] == topic["edition"])
    dimension_slug = slugify(topic["dimension"])
    topic_slug = slugify(topic["title"].split(" - ")[0])
    objects = [
        {
            "model": "catalog.dimension",
            "fields": {"edition": [edition], "name": topic["dimension"], "slug": dimension_slug, "position": 1},
        }
    ]
    related_keys = []
    for position, title in enumerate(topic.get("related", []), start=1):
        slug = slugify(title)
        related_keys.append([edition, slug])
        objects.append(
            {
                "model": "catalog.topic",
                "fields": {
                    "edition": [edition],
                    "dimension": [edition, dimension_slug],
                    "title": title,
                    "slug": slug,
                    "context": topic_context(title, topic["dimension"]),
                    "position": position + 1,
                    "related": [],
                },
            }
        )
    objects.append(
        {
            "model": "catalog.topic",
            "fields": {
                "edition": [edition],
                "dimension": [edition, dimension_slug],
                "title": topic["title"],
                "slug": topic_slug,
                "context": topic["context"],
                "position": 1,
                "related": related_keys,
            },
        }
    )

    taken, slugs_by_path = set(), {}
    entries, placements, tagged = {}, [], []
    for path, parent_path, position, section in walk_sections(seed["sections"]):
        slug = section_slug(path, taken)
        slugs_by_path[path] = slug
        parent = [edition, topic_slug, slugs_by_path[parent_path]] if parent_path else None
        objects.append(
            {
                "model": "catalog.section",
                "fields": {
                    "topic": [edition, topic_slug],
                    "parent": parent,
                    "title": section["title"],
                    "slug": slug,
                    "position": position,
                },
            }
        )
        for entry_position, entry in enumerate(section.get("entries", []), start=1):
            if entry["url"] not in entries:
                entries[entry["url"]] = {
                    "model": "catalog.entry",
                    "fields": {
                        "title": entry["title"],
                        "url": entry["url"],
                        "year": entry.get("year"),
                        "description": entry.get("description", ""),
                        "github_stars": entry.get("github_stars"),
                        "language": entry.get("language", ""),
                        "rating": entry.get("rating"),
                        "featured": bool(entry.get("featured", False)),
                        "created_at": SEED_TIMESTAMP,
                        "updated_at": SEED_TIMESTAMP,
                    },
                }
                tagged.extend(
                    {"model": "catalog.taggedentry", "fields": {"content_object": [entry["url"]], "tag": [label]}}
                    for label in entry.get("labels", [])
                )
            placements.append(
                {
                    "model": "catalog.placement",
                    "fields": {
                        "section": [edition, topic_slug, slug],
                        "entry": [entry["url"]],
                        "position": entry_position,
                    },
                }
            )
    return objects + list(entries.values()) + tagged + placements
