"""`manage.py corpus_coverage [--corpus DIR] [--misses N]`: what the importer keeps of each page.

Parses both editions of the vendored Nubenetes corpus (no database) and
prints, per edition, the share of its distinct http(s) links placed on the
page they stand on, the headings kept as sections, the links not placed by
kind of place (with the first N, file and line), and the invalid or truncated
URLs, which are reported and never stored.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand

from catalog.corpus import CORPUS_DIR, EDITIONS, edition_pages
from catalog.coverage import KINDS, edition_coverage


class Command(BaseCommand):
    help = "Print how many links and headings of each corpus edition the importer places."

    def add_arguments(self, parser):
        parser.add_argument("--corpus", default=str(CORPUS_DIR), help="folder with v1/, v2/ and their mkdocs navs")
        parser.add_argument("--misses", type=int, default=10, help="list this many links not placed (file:line)")

    def handle(self, *args, corpus, misses, **options):
        start = time.monotonic()
        corpus = Path(corpus)
        results = []
        for edition, folder, skipped in EDITIONS:
            self.stderr.write(f"Parsing {edition} ({folder}/)...")
            results.append(edition_coverage(edition, edition_pages(corpus, folder, skipped)))
        write = self.stdout.write
        write(
            f"{'edition':<24} {'pages':>5} {'links':>7} {'placed':>7} {'%':>7}   {'page,link':>9} {'%':>7}   "
            f"{'headings':>8} {'kept':>6}"
        )
        for r in results:
            write(
                f"{r.edition:<24} {r.pages:>5} {r.urls:>7,} {r.placed_urls:>7,} {r.percent:>6.2f}%   "
                f"{r.pairs:>9,} {r.pair_percent:>6.2f}%   {r.headings:>8,} {r.headings_kept:>6,}"
            )
        for r in results:
            write(f"\n{r.edition}: {sum(r.missed.values())} (page, link) pairs not placed")
            for kind, count in r.missed.most_common():
                write(f"  {count:>6}  {KINDS.get(kind, kind)}")
            for path, line, kind, url in r.misses[:misses]:
                write(f"    {Path(path).parent.name}/{Path(path).name}:{line}: {kind}: {url}")
            write(f"  {len(r.invalid)} invalid or truncated URLs (reported, never stored)")
            for path, line, url in r.invalid[:misses]:
                write(f"    {Path(path).parent.name}/{Path(path).name}:{line}: {url}")
        write(f"\n{len(results)} editions in {time.monotonic() - start:.0f} s.")
