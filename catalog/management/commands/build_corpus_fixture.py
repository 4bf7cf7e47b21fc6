"""Write fixtures/networking.json from the vendored corpus: `manage.py build_corpus_fixture [CORPUS_DIR]`."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog import corpus
from catalog.markdown_import import MarkdownImportError

FIXTURE_NAME = "networking.json"


class Command(BaseCommand):
    help = (
        f"Build fixtures/{FIXTURE_NAME}: the {corpus.DIMENSION!r} pages of both editions, imported from the "
        "corpus on top of the seed fixtures in a transaction that is rolled back (the database is left as it was)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "corpus_dir", type=Path, nargs="?", default=corpus.CORPUS_DIR, help="default: data/nubenetes"
        )
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "fixtures")

    def handle(self, *args, corpus_dir, out, **options):
        try:
            objects = corpus.networking_fixture_objects(corpus_dir)
        except MarkdownImportError as exc:
            raise CommandError(str(exc)) from exc
        out.mkdir(parents=True, exist_ok=True)
        path = out / FIXTURE_NAME
        path.write_text(json.dumps(objects, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        counts = {}
        for obj in objects:
            counts[obj["model"]] = counts.get(obj["model"], 0) + 1
        self.stdout.write(f"wrote {path.name}: " + ", ".join(f"{n} {m.split('.')[1]}" for m, n in counts.items()))
