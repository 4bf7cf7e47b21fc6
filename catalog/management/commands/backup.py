"""`manage.py backup [PATH]`: a consistent copy of the whole database (see catalog/backups.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import backups


class Command(BaseCommand):
    help = "Back up the whole database: SQLite's online backup, or pg_dump on PostgreSQL. Safe while the site runs."

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", help="the file to write, or a folder for meshportal-<UTC time>.* (default: backups/)"
        )

    def handle(self, *args, path, **options):
        try:
            if not path or Path(path).is_dir():
                path = backups.default_path(path or "backups")
            self.stdout.write(f"Backing up the {backups.vendor()} database to {path} ...")
            result = backups.backup(path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Backup written: {result.path} ({result.size / 1e6:.1f} MB in {result.seconds:.1f} s; "
            f"{result.rows.get('catalog_entry', 0)} entries, {sum(result.rows.values())} rows in "
            f"{len(result.rows)} tables)."
        )
