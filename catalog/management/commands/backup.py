"""`manage.py backup [PATH] [--format]`: a consistent copy of the whole database (see catalog/backups.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import backups


class Command(BaseCommand):
    help = (
        "Back up the whole database: SQLite's online backup, pg_dump on PostgreSQL, or gzipped JSON "
        "(--format json, and PostgreSQL's fallback without pg_dump). Safe while the site runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?", help="the file to write, or a folder for meshportal-<UTC time>.* (default: backups/)"
        )
        parser.add_argument(
            "--format",
            default="auto",
            choices=backups.FORMATS,
            help="native (SQLite file, pg_dump), json (restores into either database), or auto (native when possible)",
        )

    def handle(self, *args, path, format, **options):
        try:
            fmt = backups.choose_format(format)
            if not path or Path(path).is_dir():
                path = backups.default_path(path or "backups", fmt)
            how = "as JSON" if fmt == "json" else "natively"
            if format == "auto" and fmt == "json":
                how += " (pg_dump is not installed)"
            self.stdout.write(f"Backing up the {backups.vendor()} database {how} to {path} ...")
            result = backups.backup(path, fmt)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary(f"Backup written: {result.path}"))
