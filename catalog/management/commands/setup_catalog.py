"""`manage.py setup_catalog [--reset --yes]`: the initial catalog, loaded only into an empty database.

Without flags (what `make run` and `make db` call): loads the fixtures when the
catalog is empty, and otherwise changes nothing and says so in one line.
With `--reset`: deletes the catalog's rows and loads the fixtures again, after
asking (or at once with `--yes`, for scripts); users and roles stay.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.services.catalog_setup import catalog_counts, catalog_load_initial, catalog_reset


class Command(BaseCommand):
    help = "Load the initial catalog into an empty database (never touches a catalog that has data)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the catalog and load the fixtures again")
        parser.add_argument("--yes", action="store_true", help="with --reset: do not ask")

    def handle(self, *args, reset, yes, **options):
        if reset:
            self._reset(yes)
            return
        loaded, counts = catalog_load_initial()
        if loaded:
            self.stdout.write(f"Catalog loaded from the fixtures: {counts}.")
        else:
            self.stdout.write(f"Catalog kept as it is ({counts}); fixtures not loaded. `make reset` starts over.")

    def _reset(self, yes):
        counts = catalog_counts()
        if not yes:
            if not self.stdin_is_tty():
                raise CommandError("--reset deletes the catalog: confirm with --yes (no terminal to ask on).")
            answer = input(
                f"Delete the catalog ({counts}) and every curator edit in it, then load the fixtures? [y/N] "
            )
            if answer.strip().lower() not in {"y", "yes"}:
                raise CommandError("Nothing changed.")
        self.stdout.write(f"Catalog reset: {catalog_reset()} (was {counts}).")

    @staticmethod
    def stdin_is_tty():
        import sys

        return sys.stdin.isatty()
