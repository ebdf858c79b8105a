"""Fixtures shared by the test files."""

import gzip
import io
import os
from pathlib import Path
import subprocess
import sys
import weakref

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# An unpacked sdist (PKG-INFO at its top) carries each shipped model once, as its .h5: the tests
# of the other forms (NAME.keras, the Hub folders' unzipped .keras) skip there, saying so.
IN_SDIST = (REPO / "PKG-INFO").is_file()
SDIST_SKIP = "the sdist carries each shipped model once, as .h5 (MANIFEST.in)"
# The shipped models' folders, one model each: folder -> the model file the dcgan tools load.
SHIPPED_FOLDERS = {
    "generator": "generator.h5",
    "conditional": "generator.h5",
    "fashion": "generator.h5",
    "classifier": "classifier.h5",
    "fashion-classifier": "classifier.h5",
}


def assert_moves_only(update, moves, stays):
    """Runs `update()`: every variable in `moves` must change and none in `stays`. Variables are
    matched by identity, so each is compared with its own value before the update."""
    before = {id(v): np.array(v) for v in [*moves, *stays]}
    update()
    still = [v.path for v in moves if np.array_equal(before[id(v)], np.array(v))]
    moved = [v.path for v in stays if not np.array_equal(before[id(v)], np.array(v))]
    assert not still, f"should have moved: {still}"
    assert not moved, f"should have stayed: {moved}"


class AliveCounter:
    """Wraps batches, remembering each by weak reference: `most` is the largest number of them
    still in memory when the next one was made."""

    def __init__(self, batches):
        self.batches, self.refs, self.most = batches, [], 0

    def __iter__(self):
        return self

    def __next__(self):
        b = next(self.batches)
        self.most = max(self.most, sum(r() is not None for r in self.refs) + 1)
        self.refs.append(weakref.ref(b))
        return b


def cli_env(*, checkout=True, unset=(), **extra):
    """Environment for a fresh interpreter: this one's, less the variables named in `unset`, plus
    `extra`, TensorFlow's C++ logging off, and this checkout first on PYTHONPATH (`checkout=False`:
    off it, for a process that must not import the project from here)."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", **extra)
    path = [
        p
        for p in env.get("PYTHONPATH", "").split(os.pathsep)
        if p and os.path.realpath(p) != str(REPO)
    ]
    if checkout:
        path.insert(0, str(REPO))
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    else:
        env.pop("PYTHONPATH", None)
    return env


def python_argv(*args, python=sys.executable):
    """`python *args` as an argv: the running interpreter unless `python` names another (a
    venv's) or a console script."""
    return [str(python), *map(str, args)]


def run_python(*args, python=sys.executable, cwd=REPO, timeout=600, checkout=True, unset=(), **env):
    """Runs `python *args` (say "-m", "dcgan.generate", ...) in a fresh interpreter, with
    `cli_env(checkout=checkout, unset=unset, **env)`; returns the CompletedProcess with text
    stdout and stderr. Every test that starts a process starts it here or in `start_python`."""
    return subprocess.run(
        python_argv(*args, python=python),
        cwd=cwd,
        env=cli_env(checkout=checkout, unset=unset, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_python(*args, cwd=REPO, stderr=subprocess.PIPE, **env):
    """`run_python`'s process, started and not waited for, for a test that talks to it while it
    runs (signals, several workers, a server): a Popen with text stdout (a pipe) and `stderr` (a
    pipe unless given a file). The caller waits for it, or kills it."""
    return subprocess.Popen(
        python_argv(*args),
        cwd=cwd,
        env=cli_env(**env),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


@pytest.fixture
def python_cli():
    """`run_python` for a test marked slow (each fresh interpreter pays ~5 s of TensorFlow
    start-up); collection fails for a test that asks for it without the marker."""
    return run_python


def _tiny(tmp_path_factory, *flags):
    out = tmp_path_factory.mktemp("tiny") / "run"
    # The fast twins, no XLA: a tiny run spends more on compiling than on training.
    args = "--epochs 1 --steps-per-epoch 2 --batch-size 32 --data sample --save-every 1 --quiet"
    args += " --jit-compile off"
    proc = run_python("-m", "dcgan.train", *args.split(), "--out", out, *flags)
    assert proc.returncode == 0, f"tiny training run failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny training run (2 steps of the bundled sample, a checkpoint after its one epoch),
    made once per session: generator.h5/.keras, generator_e0001_savedmodel, discriminator.h5, ..."""
    return _tiny(tmp_path_factory)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """Two epochs of 3 steps with EMA, an FID check after each and models saved every 2
    epochs (resume state every epoch): every file a run writes.
    Tests read it; one that changes it works on a copy."""
    out = tmp_path_factory.mktemp("trained") / "run"
    args = (
        "--epochs 2 --steps-per-epoch 3 --batch-size 32 --data sample --save-every 2 --ema 0.9"
        " --eval-every 1 --eval-samples 64"
    )  # not --quiet: its stdout, a pipe, shows what a log file of a run gets
    proc = run_python("-m", "dcgan.train", *args.split(), "--out", out)
    assert proc.returncode == 0, f"training run failed:\n{proc.stdout}\n{proc.stderr}"
    (out / "stdout.txt").write_text(proc.stdout)
    return out


@pytest.fixture(scope="session")
def tiny_conditional_run(tmp_path_factory):
    """The same tiny run with --conditional: two-input generator and discriminator."""
    return _tiny(tmp_path_factory, "--conditional")


# The fast path (`pytest -m "not slow"`) leaves out what trains for more than a few steps, runs
# notebooks, starts a fresh Python that loads TensorFlow, several processes or a browser; CI runs
# everything. Each such test says so itself, by `@pytest.mark.slow` or a module's `pytestmark`;
# a test that uses one of these fixtures, or the browser, without the marker fails collection.
SLOW_FIXTURES = ("trained_run", "tiny_conditional_run", "python_cli")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(config, items):
    unmarked = []
    for item in items:
        if item.get_closest_marker("slow"):
            continue
        why = [f for f in SLOW_FIXTURES if f in item.fixturenames]
        if item.get_closest_marker("browser"):
            why.append("the browser marker")
        if why:
            unmarked.append(f"  {item.nodeid} (uses {', '.join(why)})")
    if unmarked:
        raise pytest.UsageError(
            "these tests are slow but not marked so: add @pytest.mark.slow to the test, or "
            "`pytestmark = pytest.mark.slow` to its module\n" + "\n".join(unmarked)
        )


# CI installs every extra and a browser, so there a skip means a test that silently did not run:
# with DCGAN_NO_SKIPS=1 each skip fails, with its reason.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("DCGAN_NO_SKIPS") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped where DCGAN_NO_SKIPS is set: {reason}"


_SKIPPED_MODULES = []


def pytest_collectreport(report):
    """The same for a whole module skipped at import (`pytest.importorskip` at its top)."""
    if report.skipped and os.environ.get("DCGAN_NO_SKIPS"):
        _SKIPPED_MODULES.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _SKIPPED_MODULES:
        print(f"\nskipped where DCGAN_NO_SKIPS is set: {', '.join(_SKIPPED_MODULES)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def npy_bytes(shape, dtype=np.uint8, body=b""):
    """A .npy header declaring `shape` and `dtype`, followed by `body` (not necessarily enough)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf,
        {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": shape},
    )  # fmt: skip
    return buf.getvalue() + body


def write_idx(path, dims, body=b"", gz=False):
    """An IDX file of unsigned bytes declaring `dims`, followed by `body` (gzipped with `gz`)."""
    header = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + body)
