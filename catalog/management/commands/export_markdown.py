"""`manage.py export_markdown --edition NAME [--topic SLUG] [--out DIR]`"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.markdown_export import edition_topics, export_edition_nav, export_topic
from catalog.services.imports import find_edition


class Command(BaseCommand):
    help = (
        "Write an edition's topic pages as awesome-list markdown, one <slug>.md per topic, and a "
        "mkdocs.yml whose nav groups them by dimension; import_markdown reads them back unchanged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--edition", required=True, help='an edition, by name or slug, e.g. "V2 Elite"')
        parser.add_argument("--topic", help="only this topic (its slug)")
        parser.add_argument(
            "--out", type=Path, default=Path("markdown"), help="the folder to write (default: markdown)"
        )

    def handle(self, *args, edition, topic, out, **options):
        try:
            edition = find_edition(edition)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        topics = list(edition_topics(edition, topic))
        if not topics:
            raise CommandError(
                f"The {edition.name} has no topic {topic!r}." if topic else f"The {edition.name} has no topics."
            )
        out.mkdir(parents=True, exist_ok=True)
        for item in topics:
            (out / f"{item.slug}.md").write_text(export_topic(item), encoding="utf-8")
        if not topic:
            (out / "mkdocs.yml").write_text(export_edition_nav(edition, topics), encoding="utf-8")
        nav = "" if topic else " and mkdocs.yml"
        self.stdout.write(f"Wrote {len(topics)} page{'s' if len(topics) != 1 else ''}{nav} to {out}/.")
