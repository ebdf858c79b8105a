"""The README and docs/ name only files that exist, and link only to files that exist."""

import re

import pytest

from conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = (
    "dcgan/",
    "docs/",
    "notebooks/",
    "saved_models/",
    "tests/",
    "benchmarks/",
    "scripts/",
    "LICENSE",
)


def named_paths(text):
    links = re.findall(r"\]\(([^)#\s]+)\)", text)  # markdown links and images
    quoted = re.findall(r"`([^`\s]+)`", text)
    return {p for p in links if "://" not in p} | {p for p in quoted if p.startswith(TOP)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_named_path_exists(page):
    text = page.read_text()
    missing = sorted(
        p for p in named_paths(text) if not (page.parent / p).exists() and not (REPO / p).exists()
    )
    assert not missing, f"{page.name} names files that are not in the repo: {missing}"
