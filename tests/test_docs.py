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


def test_readme_first_block_runs_as_written():
    """The first commands a new user copies take no placeholder: every `python -m dcgan.X` line
    parses with its command's flags, names no path that must exist first, and says how long it
    takes; the install line names extras that exist."""
    import importlib
    import shlex

    import tomllib

    block = re.search(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    install = re.search(r'pip install -e "\.\[(.*)\]"', block).group(1)
    assert set(install.split(",")) <= set(extras["optional-dependencies"])
    commands = [shlex.split(line) for line in lines if line.startswith("python -m dcgan.")]
    assert {c[2] for c in commands} >= {"dcgan.train", "dcgan.generate"}
    for argv in commands:
        module = importlib.import_module(argv[2])
        args = module.parser().parse_args(argv[3:])  # exits on a flag the command lacks
        paths = [v for k, v in vars(args).items() if k in ("data", "model", "resume")]
        assert all(v is None for v in paths), f"{argv} needs a path that a new user lacks"
    trains = [c for c in commands if c[2] == "dcgan.train"]
    assert len(trains) >= 2, "a few-minute first run before a long one"
    timed = [line for line in block.splitlines() if line.startswith("python -m dcgan.train")]
    assert all(re.search(r"\d+ (s|min)", line) for line in timed), timed
