"""`manage.py restore PATH`: load a backup into an empty database (see catalog/backups.py)."""

from django.core.management.base import BaseCommand, CommandError

from catalog import backups


class Command(BaseCommand):
    help = "Restore a backup into an empty database, then migrate it. Refuses a database that holds data."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a file written by `manage.py backup` (any of its formats)")

    def handle(self, *args, path, **options):
        try:
            self.stdout.write(f"Restoring {path} into the {backups.vendor()} database ...")
            result = backups.restore(path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary("Restored"))
