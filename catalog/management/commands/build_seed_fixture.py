"""Write fixtures/ from the seed page: `manage.py build_seed_fixture PATH/istio.yaml`."""

import json
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog import seed


class Command(BaseCommand):
    help = "Build fixtures/base.json (editions, label groups) and fixtures/<topic>.json from a seed YAML page."

    def add_arguments(self, parser):
        parser.add_argument("seed_yaml", type=Path, help="e.g. ../shared/seed/istio.yaml")
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "fixtures")

    def handle(self, *args, seed_yaml, out, **options):
        try:
            data = yaml.safe_load(seed_yaml.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"{seed_yaml}: cannot read the seed: {exc}") from exc
        out.mkdir(parents=True, exist_ok=True)
        written = {
            out / "base.json": seed.edition_objects() + seed.label_objects(),
            out / f"{seed_yaml.stem}.json": seed.topic_objects(data),
        }
        for path, objects in written.items():
            path.write_text(json.dumps(objects, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            counts = {}
            for obj in objects:
                counts[obj["model"]] = counts.get(obj["model"], 0) + 1
            summary = ", ".join(f"{n} {model.split('.')[1]}" for model, n in counts.items())
            self.stdout.write(f"wrote {path.name}: {summary}")
