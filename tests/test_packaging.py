"""What a package index gets: an sdist that holds what the tests need (so they pass from an
unpacked sdist), the project's links, a README whose images show there, and commands that answer
`--version` at once.

The sdist is built offline from a copy of this tree with the installed setuptools, as the wheel
is in test_wheel.py; the checks read its listing and run nothing from it.
"""

import email
from pathlib import Path
import re
import shutil
import tarfile

import pytest

import dcgan

from conftest import REPO, SHIPPED_FOLDERS, run_python

REPO_URL = "https://github.com/dcgan-project/dcgan"
RAW_URL = "https://raw.githubusercontent.com/dcgan-project/dcgan/main/"
# Where the README's links point: a file or folder of this repository on GitHub.
PAGE_URLS = (f"{REPO_URL}/blob/main/", f"{REPO_URL}/tree/main/")
COMMANDS = ("train", "generate", "evaluate", "demo")
# What the tests read besides the package: they and conftest.py, the notebooks and benchmarks
# they run, the files the README and docs/ name, the shipped models with their records.
TEST_FOLDERS = ("tests", "docs", "notebooks", "benchmarks", "saved_models", "dcgan")
TOP_FILES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE-DATA", "MANIFEST.in")
# Never in an sdist: what git ignores here, and git itself.
LOCAL = ("runs", "__pycache__", ".pytest_cache", "build", "dist", ".whl", ".ipynb_checkpoints")
LOCAL_SUFFIXES = (".pyc", ".egg-info")
# The shipped models' other forms, the same weights again: the sdist carries each model once, as
# the .h5 that the code and the wheel use.
DUPLICATES = ("config.json", "metadata.json", "model.weights.h5")


def is_duplicate(path):
    path = Path(path)
    return path.parts[0] == "saved_models" and (
        path.suffix == ".keras" or (len(path.parts) == 3 and path.name in DUPLICATES)
    )


def pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11+")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def is_local(path):
    return any(
        part in LOCAL or part.startswith(".git") or part.endswith(LOCAL_SUFFIXES)
        for part in Path(path).parts
    )


def source_files():
    """The files of this tree that the sdist must hold, relative to the tree."""
    found = {name for name in TOP_FILES if (REPO / name).is_file()}
    for folder in TEST_FOLDERS:
        for p in (REPO / folder).rglob("*"):
            rel = p.relative_to(REPO)
            if p.is_file() and not is_local(rel) and not is_duplicate(rel):
                found.add(rel.as_posix())
    return found


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    """(the names in the sdist, relative to its top folder; its PKG-INFO)."""
    pytest.importorskip("setuptools", minversion="77")  # SPDX `license` in pyproject.toml
    tmp = tmp_path_factory.mktemp("sdist")
    src = tmp / "src"  # a copy, so the build leaves nothing (egg-info) in the checkout
    src.mkdir()
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    proc = run_python(
        "-c",
        "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
        tmp / "dist",
        cwd=src,
        checkout=False,  # the build sees the copy only
    )
    assert proc.returncode == 0, f"no sdist:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    (archive,) = (tmp / "dist").glob("dcgan-*.tar.gz")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        top = f"dcgan-{dcgan.__version__}/"
        assert all(m.name.startswith(top) for m in members), [m.name for m in members][:5]
        names = {m.name[len(top) :] for m in members}
        info = email.message_from_bytes(tar.extractfile(top + "PKG-INFO").read())
    print(f"sdist {archive.name}: {archive.stat().st_size / 1e6:.1f} MB, {len(names)} files")
    return names, info


def test_sdist_holds_the_tests_and_what_they_read(sdist):
    names, _ = sdist
    missing = sorted(source_files() - names)
    assert not missing, f"the sdist lacks files the tests need: {missing}"
    for needed in (
        "tests/conftest.py",
        "dcgan/mnist_sample.npz",
        "notebooks/execute.py",
        "saved_models/README.md",
        "saved_models/generator/run.json",
        "saved_models/fashion/run.json",
        "docs/demo.png",
    ):
        assert needed in names, needed
    for folder, model in SHIPPED_FOLDERS.items():
        for name in (model, "README.md"):
            assert f"saved_models/{folder}/{name}" in names, (folder, name)
    assert {n for n in names if n.startswith("benchmarks/")}, "no benchmarks"
    assert {n for n in names if n.endswith(".ipynb")}, "no notebooks"


def test_sdist_carries_each_model_once(sdist):
    """Not NAME.keras nor the Hub folders' unzipped .keras beside the .h5: 16 MB and more of the
    same weights."""
    names, _ = sdist
    again = sorted(n for n in names if is_duplicate(n))
    assert not again, again
    models = sorted(n for n in names if n.startswith("saved_models/") and n.endswith(".h5"))
    expected = sorted(f"saved_models/{f}/{m}" for f, m in SHIPPED_FOLDERS.items())
    assert models == expected


def test_duplicates_are_told_from_models():
    assert is_duplicate("saved_models/generator/generator.keras")
    assert is_duplicate("saved_models/fashion/model.weights.h5")
    assert is_duplicate("saved_models/classifier/config.json")
    assert not is_duplicate("saved_models/fashion/generator.h5")
    assert not is_duplicate("saved_models/fashion/run.json")
    assert not is_duplicate("tests/config.json")


def test_sdist_holds_nothing_local(sdist):
    names, _ = sdist
    local = sorted(n for n in names if is_local(n) and not n.startswith("dcgan.egg-info/"))
    assert not local, local


def test_sdist_metadata_names_the_project_links(sdist):
    _, info = sdist
    assert info["Name"] == "dcgan" and info["Version"] == dcgan.__version__
    urls = dict(u.split(", ", 1) for u in info.get_all("Project-URL"))
    assert urls["Source"] == REPO_URL and urls["Issues"] == f"{REPO_URL}/issues", urls
    assert urls["Documentation"].startswith(REPO_URL), urls


def test_project_urls():
    urls = pyproject()["project"]["urls"]
    assert urls["Source"] == REPO_URL
    assert urls["Issues"] == f"{REPO_URL}/issues"
    assert urls["Documentation"].startswith(REPO_URL + "/")
    assert {"DCGAN paper", "MNIST"} <= set(urls)  # the links it had before
    for url in urls.values():
        assert re.fullmatch(r"https?://\S+", url), url


def test_test_extra_has_what_the_tests_import():
    extra = pyproject()["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in extra}
    assert {"pytest", "pyyaml", "selenium", "setuptools"} <= names, names
    # One install line runs every test: the other extras come with it.
    extras = set(pyproject()["project"]["optional-dependencies"]) - {"test"}
    assert f"dcgan[{','.join(sorted(extras))}]" in extra, extra


def readme_images(text):
    """The image addresses in markdown text: ![alt](address) and <img src="address">."""
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text) + re.findall(
        r"<img[^>]*\ssrc=[\"']([^\"']+)", text
    )


def test_readme_images_show_on_a_package_index():
    """A package index shows the README without the repository around it: an image shows there
    only from an absolute address, here a file of this repository at its raw address."""
    images = readme_images((REPO / "README.md").read_text())
    assert images, "the README shows no image"
    for address in images:
        assert address.startswith(RAW_URL), f"{address}: use {RAW_URL}<path>"
        path = address[len(RAW_URL) :]
        assert (REPO / path).is_file(), f"{address} names {path}, which is not in the repo"


def readme_links(text):
    """The link addresses in markdown text, [text](address), images left out."""
    return re.findall(r"(?<!!)\[[^\]]*\]\(([^)\s]+)", text)


def test_readme_links_work_on_a_package_index():
    """A package index shows the README without the repository around it: a relative link
    (docs/training.md) leads nowhere there, so each is this repository's page on GitHub."""
    links = readme_links((REPO / "README.md").read_text())
    assert len(links) > 10, links
    for address in links:
        assert re.match(r"https?://", address), f"{address}: use {PAGE_URLS[0]}<path>"
        if address.startswith(REPO_URL + "/"):
            base = next((u for u in PAGE_URLS if address.startswith(u)), None)
            assert base, f"{address}: use {PAGE_URLS[0]}<path>"
            path = address[len(base) :].split("#")[0]
            assert (REPO / path).exists(), f"{address} names {path}, which is not in the repo"


def test_readme_links_are_found():
    text = "[a](docs/a.md#x) ![i](i.png) [`b`](https://x/b) [c](#top)"
    assert readme_links(text) == ["docs/a.md#x", "https://x/b", "#top"]


def test_readme_images_are_found():
    text = '![a](docs/a.png) and ![b](https://x/b.png "title") <img alt="c" src="c.png">'
    assert readme_images(text) == ["docs/a.png", "https://x/b.png", "c.png"]


# --- --version ------------------------------------------------------------------------------

VERSION_CHECK = """
import sys
sys.argv = [sys.argv[1], "--version"]
module, func = sys.argv[0].split(":")
try:
    getattr(__import__(module, fromlist=[func]), func)()
except SystemExit as e:
    print("exit", e.code, "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("command", COMMANDS)
def test_python_m_answers_version(command):
    proc = run_python("-m", f"dcgan.{command}", "--version", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"dcgan {dcgan.__version__}\n" and not proc.stderr.strip(), proc


@pytest.mark.parametrize("command", COMMANDS)
def test_console_command_answers_version_without_tensorflow(command):
    """`dcgan-train --version` (the console script's target) prints the version and exits 0
    before TensorFlow is imported."""
    target = pyproject()["project"]["scripts"][f"dcgan-{command}"]
    proc = run_python("-c", VERSION_CHECK, target, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"dcgan {dcgan.__version__}", "exit 0 False"], proc.stdout
