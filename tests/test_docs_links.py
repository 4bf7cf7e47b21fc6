"""Every link in the README and docs/ leads somewhere: relative files exist and
anchors name a heading of the target (GitHub's heading ids)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(path):
    """The file without its fenced code blocks and inline code."""
    text = FENCE.sub("", path.read_text())
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"[`*_~]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, ids = {}, set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        n = seen.get(base, 0)
        ids.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return ids


def links():
    for doc in DOCS:
        for target in LINK.findall(prose(doc)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # not http:, mailto:...
                yield pytest.param(doc, target, id=f"{doc.relative_to(ROOT)}->{target}")


def test_the_docs_have_links_to_check():
    assert len(list(links())) >= 20
    assert all(doc.exists() for doc in DOCS) and len(DOCS) >= 8


@pytest.mark.parametrize(("doc", "target"), list(links()))
def test_every_relative_link_and_anchor_resolves(doc, target):
    path, _, anchor = target.partition("#")
    file = (doc.parent / path).resolve() if path else doc
    assert file.exists(), f"{doc.name}: {target}: no file {file}"
    assert ROOT in file.parents or file == ROOT, f"{doc.name}: {target} leaves the repository"
    if anchor:
        assert file.suffix == ".md", f"{doc.name}: {target}: an anchor into a non-markdown file"
        assert anchor in anchors(file), f"{doc.name}: {target}: no heading #{anchor} in {file.name}"


def test_the_readme_is_a_five_minute_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    assert "](docs/screenshot.png)" in readme and (ROOT / "docs/screenshot.png").stat().st_size > 10_000
    assert "make run" in readme and "make test" in readme and "## Where next" in readme
