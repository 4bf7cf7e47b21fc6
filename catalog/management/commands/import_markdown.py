"""`manage.py import_markdown PATH... --edition NAME [--nav MKDOCS_YML] [--dimension NAME] ...`"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog.markdown_import import MarkdownImportError, read_nav, read_page
from catalog.models import Change
from catalog.services import history
from catalog.services.imports import import_pages

UNLISTED_DIMENSION = "Other pages"
LIST_LIMIT = 20  # lines of detail per list in the summary, unless -v 2


def shorten(value, width=60):
    text = repr(value)
    return text if len(text) <= width else text[: width - 2] + "…" + text[-1]


class ProgressBar:
    """A one-line progress bar, drawn only when the output is a terminal."""

    def __init__(self, out, width=30):
        self.out, self.width, self.active = out, width, out.isatty()
        self.drawn = False

    def __call__(self, stage, done, total, note=""):
        if not self.active or not total:
            return
        filled = self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r{stage:<9} [{bar}] {done}/{total} {note[:40]:<40}", ending="")
        self.out.flush()
        self.drawn = True

    def close(self):
        if self.drawn:
            self.out.write("\r" + " " * (self.width + 70) + "\r", ending="")
            self.drawn = False


class Command(BaseCommand):
    help = (
        "Import awesome-list markdown pages into an edition: each file is a topic page, its headings "
        "the sections, its list items with a link the entries. Idempotent; one transaction."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="markdown files, or folders of *.md files")
        parser.add_argument("--edition", required=True, help='an existing edition, by name or slug, e.g. "V2 Elite"')
        parser.add_argument("--nav", type=Path, help="a mkdocs.yml whose nav: groups name each page's dimension")
        parser.add_argument(
            "--dimension", help="the dimension of pages the nav does not list (or of all, without --nav)"
        )
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--prune", action="store_true", help="remove placements whose link left its page")
        parser.add_argument(
            "--overwrite-curator-values",
            action="store_true",
            help="overwrite values a curator changed since the last import (by default they are kept and listed)",
        )

    def handle(self, *args, paths, edition, nav, dimension, dry_run, prune, overwrite_curator_values, **options):
        if nav is None and not dimension:
            raise CommandError("Say where the topics go: --nav MKDOCS_YML or --dimension NAME.")
        files = self.markdown_files(paths)
        progress = ProgressBar(self.stdout)
        try:
            nav_pages = read_nav(nav) if nav else {}
            pages, unlisted = [], []
            for done, path in enumerate(files, start=1):
                progress("parsing", done, len(files), path.name)
                listed = nav_pages.get(path.name)
                page = read_page(path, nav_title=listed.title if listed else None)
                if listed is None and nav:
                    unlisted.append(path.name)
                pages.append((page, listed.dimension if listed else dimension or UNLISTED_DIMENSION))
            if nav_pages:
                order = {name: i for i, name in enumerate(nav_pages)}
                pages.sort(key=lambda item: order.get(Path(item[0].path).name, len(order)))
            report = import_pages(
                pages=pages,
                edition_name=edition,
                keep_curator_values=not overwrite_curator_values,
                prune=prune,
                dry_run=dry_run,
                progress=progress,
                actor=self.actor(files, edition, nav, dimension, dry_run, prune, overwrite_curator_values),
            )
        except MarkdownImportError as exc:
            raise CommandError(f"{exc}\nNothing was imported.") from exc
        except ValidationError as exc:
            raise CommandError(f"{' '.join(exc.messages)}\nNothing was imported.") from exc
        finally:
            progress.close()
        self.print_summary(report, unlisted, dimension or UNLISTED_DIMENSION, options["verbosity"])

    def actor(self, files, edition, nav, dimension, *flags):
        """The command line, as the history names who made each change (folders listed as their files' names)."""
        names = {str(f.parent) for f in files}
        shown = f"{names.pop()}/*.md ({len(files)} files)" if len(names) == 1 and len(files) > 3 else files
        args = [*([shown] if isinstance(shown, str) else map(str, shown)), "--edition", edition]
        args += ["--nav", str(nav)] if nav else []
        args += ["--dimension", dimension] if dimension else []
        for flag, on in zip(("--dry-run", "--prune", "--overwrite-curator-values"), flags, strict=True):
            args += [flag] if on else []
        return history.Actor.job("import_markdown", *args, source=Change.Source.IMPORT)

    def markdown_files(self, paths):
        files = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(path.glob("*.md")))
            else:
                files.append(path)  # a missing file fails when read, with its name
        if not files:
            raise CommandError("No markdown files found in " + ", ".join(map(str, paths)))
        return files

    def print_summary(self, report, unlisted, unlisted_dimension, verbosity):
        write, limit = self.stdout.write, None if verbosity >= 2 else LIST_LIMIT
        title = "Dry run: nothing was written. The import would bring" if report.dry_run else "Imported"
        write(f"{title} {report.pages} pages into {report.edition}.")
        write(f"  {'':<11}{'created':>9}{'updated':>9}{'unchanged':>11}")
        for name in ("topics", "sections", "entries", "placements"):
            counts = getattr(report, name)
            write(f"  {name:<11}{counts.created:>9}{counts.updated:>9}{counts.unchanged:>11}")
        write(f"  duplicates merged: {report.duplicates_merged} (the same link again, on another line or page)")
        if report.new_dimensions:
            write(f"  new dimensions: {', '.join(report.new_dimensions)}")
        if unlisted:
            write(f"  not in the nav, put under {unlisted_dimension!r}: {', '.join(unlisted)}")
        if report.new_labels:
            labels = ", ".join(report.new_labels)
            write(f"  new labels, in the group 'Imported labels' (regroup them in the admin): {labels}")
        if report.kept:
            kinds = ", ".join(f"{count} {kind}" for kind, count in report.kept.most_common())
            write(f"  kept as prose and notes: {sum(report.kept.values())} blocks ({kinds})")
        write(f"  skipped, not entries: {sum(report.skipped.values())}")
        for reason, count in report.skipped.most_common():
            write(f"    {count:>7}  {reason}")
        if verbosity >= 2:
            for path, line, reason in report.skipped_lines:
                write(f"    {path}:{line}: {reason}")
        if report.disappeared:
            action = "removed (--prune)" if report.pruned else "kept; --prune removes them"
            write(f"  gone from their pages: {len(report.disappeared)} placements ({action})")
            self.write_some(f"    {topic} / {section}: {url}" for topic, section, url in report.disappeared[:limit])
        if report.conflicts:
            kept = report.conflicts[0].kept
            if kept:
                verb = "kept"
            else:
                verb = "would be overwritten" if report.dry_run else "overwritten (--overwrite-curator-values)"
            hint = "; --overwrite-curator-values overwrites them" if kept else ""
            write(f"  curator values the markdown differs from: {len(report.conflicts)}, {verb}{hint}")
            self.write_some(
                f"    {c.what}: {c.field} {shorten(c.current)} -> {shorten(c.incoming)}"
                for c in report.conflicts[:limit]
            )
        if not report.changed:
            write("  Nothing changed.")

    def write_some(self, lines):
        for line in lines:
            self.stdout.write(line)
