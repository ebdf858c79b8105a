"""The wheel works on its own: built from this tree, installed into a throwaway environment, it
generates digits from any folder with the generators it ships (found through importlib.resources),
and writes nothing into the installed package.

The build runs offline (--no-build-isolation, with the installed setuptools; the `test` extra asks
for a new enough one) and the environment reuses the running interpreter's TensorFlow (by a .pth
file; the wheel goes in with --no-deps), in a venv or not.
"""

from pathlib import Path
import shutil
import site
import sys

import numpy as np
import pytest

from conftest import REPO, SHIPPED_FOLDERS, run_python

pytestmark = pytest.mark.slow
pytest.importorskip("setuptools", minversion="77")  # SPDX `license` in pyproject.toml

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE-DATA", "dcgan", "saved_models")


def isolated(python, *args, cwd, timeout=600):
    """`python *args` (an interpreter or a console script) as someone who only installed the
    wheel runs it: neither this checkout nor any PYTHONPATH or VIRTUAL_ENV of ours."""
    return run_python(
        *args,
        python=python,
        cwd=cwd,
        timeout=timeout,
        checkout=False,
        unset=("PYTHONPATH", "VIRTUAL_ENV"),
    )


def run(python, *args, cwd):
    proc = isolated(python, *args, cwd=cwd)
    cmd = [str(python), *map(str, args)]
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def snapshot(folder):
    """Every file under `folder` but bytecode caches, with its size and modification time."""
    return {
        p.relative_to(folder): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh environment with the wheel installed, the wheel, the package folder)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so the build leaves nothing in the checkout
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    run(
        sys.executable,
        *("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist"),
        src,
        cwd=tmp,
    )
    (wheel,) = (tmp / "dist").glob("dcgan-*.whl")
    run(sys.executable, "-m", "venv", tmp / "venv", cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    # The running interpreter's packages (TensorFlow...) behind the new environment's own, by
    # path: --system-site-packages would reach the base Python's, which has none of them when
    # this runs inside a venv. Paths a .pth file adds are not scanned for .pth files, so this
    # checkout's editable install stays out.
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp
    ).stdout.strip()
    outer = [*site.getsitepackages(), site.getusersitepackages()]
    Path(purelib, "outer-site-packages.pth").write_text("\n".join(outer) + "\n")
    # --ignore-installed: this checkout's own (editable) install must not stand in for the wheel.
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", wheel, cwd=tmp)
    package = Path(
        run(
            python, "-c", "import dcgan, os; print(os.path.dirname(dcgan.__file__))", cwd=tmp
        ).stdout.strip()
    )
    assert package.is_relative_to(tmp / "venv"), f"dcgan imported from {package}, not the wheel"
    return python, wheel, package


def test_wheel_ships_the_models_licences_and_commands(installed):
    python, wheel, package = installed
    models = package / "saved_models"
    for folder, model in SHIPPED_FOLDERS.items():
        for name in (model, "README.md"):
            assert (models / folder / name).is_file(), (folder, name)
        # the .h5 once: not the .keras nor the Hub's unzipped .keras, the same weights again
        extra = {"config.json", "model.weights.h5", "metadata.json"} & {
            p.name for p in (models / folder).iterdir()
        }
        assert not extra and not list((models / folder).glob("*.keras")), (folder, extra)
    # what tells the tools that the Fashion-MNIST generator draws clothes
    assert (models / "fashion" / "run.json").is_file()
    assert not list(models.rglob("discriminator*"))
    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB")
    out = run(
        python,
        "-c",
        "import dcgan, dcgan.files as f, importlib.metadata as m; "
        "d = m.distribution('dcgan'); print(dcgan.__version__, d.version); "
        "print(f.shipped_dir()); print(d.metadata['License-Expression']); "
        "print(sorted(e.name for e in d.entry_points if e.group == 'console_scripts')); "
        "print(sorted(p.name for p in d.files if 'licenses' in str(p)))",
        cwd=wheel.parent,
    ).stdout.split("\n")
    ours, meta = out[0].split()
    assert ours == meta, out
    assert out[1] == str(package / "saved_models"), out
    assert out[2] == "MIT AND CC-BY-SA-3.0", out
    assert out[3] == str(["dcgan-demo", "dcgan-evaluate", "dcgan-generate", "dcgan-train"]), out
    assert out[4] == str(["LICENSE", "LICENSE-DATA"]), out
    # An installed console command answers --version with the wheel's version.
    version = isolated(python.parent / "dcgan-train", "--version", cwd=wheel.parent, timeout=300)
    assert version.returncode == 0 and version.stdout == f"dcgan {meta}\n", version
    # A console command fails like `python -m`: one line, exit code 2.
    bad = isolated(python.parent / "dcgan-generate", "--digit", "10", cwd=wheel.parent, timeout=300)
    assert bad.returncode == 2, (bad.returncode, bad.stderr[-2000:])
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1, (
        bad.stderr
    )


def test_generate_from_any_folder_writes_nothing_into_the_package(installed, tmp_path):
    python, _, package = installed
    before = snapshot(package)
    run(
        python, "-m", "dcgan.generate", "-n", "16", "--seed", "1", "--out", "grid.png", cwd=tmp_path
    )
    run(
        python,
        *("-m", "dcgan.generate", "--digit", "7", "-n", "8", "--seed", "1", "--out", "sevens.npz"),
        cwd=tmp_path,
    )
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "sevens.npz") as f:
        assert f["images"].shape == (8, 28, 28) and f["images"].dtype == np.uint8
        assert (f["digits"] == 7).all()
    assert snapshot(package) == before, "something was written into the installed package"
