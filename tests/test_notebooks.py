"""The bundled notebooks run top to bottom without a cell error (tiny settings: DCGAN_NB_FAST=1),
and the committed copies are small and hold no error outputs."""

import importlib.util

import nbformat
import pytest

from conftest import REPO, cli_env

pytestmark = pytest.mark.slow  # each notebook runs in a fresh kernel

NOTEBOOK_DIR = REPO / "notebooks"
NAMES = (
    "01_quickstart.ipynb",
    "02_train_and_watch.ipynb",
    "03_latent_space.ipynb",
    "04_ask_for_a_digit.ipynb",
    "05_your_own_images.ipynb",
)
SHIPPED = REPO / "saved_models" / "generator" / "generator.h5"
SHIPPED_CONDITIONAL = REPO / "saved_models" / "conditional" / "generator.h5"


def _execute_module():
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOK_DIR / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator(request):
    """The shipped generator if there is one, else the session's tiny training run's."""
    if SHIPPED.exists():
        return SHIPPED
    return request.getfixturevalue("tiny_run") / "generator.h5"


@pytest.fixture(scope="module")
def conditional_generator(request):
    if SHIPPED_CONDITIONAL.exists():
        return SHIPPED_CONDITIONAL
    return request.getfixturevalue("tiny_conditional_run") / "generator.h5"


def test_python3_kernel_is_available():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.fail(
            "no 'python3' Jupyter kernel: pip install ipykernel, or python -m ipykernel install "
            "--user"
        )


def test_every_notebook_is_tested_and_executed_by_the_script():
    assert tuple(p.name for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))) == NAMES
    assert tuple(p.name for p in _execute_module().NOTEBOOKS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_small_and_clean(name):
    path = NOTEBOOK_DIR / name
    assert path.stat().st_size < 1_000_000, (
        f"{name} is {path.stat().st_size:,} bytes; keep it under 1 MB"
    )
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors, f"{name} was saved with an error output: re-run python notebooks/execute.py"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, generator, conditional_generator, monkeypatch, tmp_path):
    # The kernel inherits this environment: tiny settings, a generator, this checkout first.
    monkeypatch.setenv("DCGAN_NB_FAST", "1")
    monkeypatch.setenv("DCGAN_GENERATOR", str(generator))
    monkeypatch.setenv("DCGAN_CONDITIONAL_GENERATOR", str(conditional_generator))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.delenv("DCGAN_NB_DATA", raising=False)
    monkeypatch.setenv("PYTHONPATH", cli_env()["PYTHONPATH"])
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where 02 writes its training run
    nb = _execute_module().execute(NOTEBOOK_DIR / name, save=False, timeout=300)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code)
    # Every plot shows: nothing on the way (training, say) switched matplotlib's backend.
    blank = [
        c.source.splitlines()[0]
        for c in code
        if "\nplt.show()" in c.source
        and not any("image/png" in o.get("data", {}) for o in c.outputs)
    ]
    assert not blank, f"{name}: cells that drew no figure: {blank}"
