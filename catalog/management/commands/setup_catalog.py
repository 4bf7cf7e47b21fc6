"""`manage.py setup_catalog [--reset --yes]`: the initial catalog, built only into an empty database.

Without flags (what `make run` and `make db` call): when the catalog is empty,
loads the fixtures and imports the vendored Nubenetes corpus (both editions,
with a progress line), and otherwise changes nothing and says so in one line.
With `--reset`: deletes the catalog's rows and builds it again, after asking
(or at once with `--yes`, for scripts); users and roles stay. The history names
this command, with its arguments, for every entry it made or deleted.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Change
from catalog.services import history
from catalog.services.catalog_setup import catalog_counts, catalog_load_initial, catalog_reset


class Command(BaseCommand):
    help = "Load the initial catalog into an empty database (never touches a catalog that has data)."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the catalog and load the fixtures again")
        parser.add_argument("--yes", action="store_true", help="with --reset: do not ask")

    def handle(self, *args, reset, yes, **options):
        flags = [flag for flag, on in (("--reset", reset), ("--yes", yes)) if on]
        self.actor = history.Actor.job("setup_catalog", *flags, source=Change.Source.COMMAND)
        if reset:
            self._reset(yes)
            return
        start = time.monotonic()
        loaded, counts = catalog_load_initial(progress=self.progress, actor=self.actor)
        self.end_progress()
        if loaded:
            seconds = time.monotonic() - start
            self.stdout.write(f"Catalog loaded from the fixtures and the corpus: {counts} ({seconds:.0f} s).")
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
        after = catalog_reset(progress=self.progress, actor=self.actor)
        self.end_progress()
        self.stdout.write(f"Catalog reset: {after} (was {counts}).")

    _line = ""

    def progress(self, edition, stage, done, total, note=""):
        """One line, redrawn on a terminal; elsewhere one line per edition and stage."""
        line = f"Building the catalog: {edition}, {stage} {done}/{total}"
        if self.stdout.isatty():
            self.stdout.write(f"\r{line} {note[:40]:<40}", ending="")
            self.stdout.flush()
            self._line = line
        elif done == 0 or (stage == "parsing" and done == 1):
            self.stdout.write(f"Building the catalog: {edition}, {stage}...")

    def end_progress(self):
        if self._line:
            self.stdout.write("\r" + " " * (len(self._line) + 41) + "\r", ending="")
            self._line = ""

    @staticmethod
    def stdin_is_tty():
        import sys

        return sys.stdin.isatty()
