"""scripts/train_jax.py, the recipe on Keras's JAX backend: a tiny run writes generators that
load under TensorFlow, keeps the best-scoring epoch, and refuses bad flags in one line.

It needs a Python with JAX: `$DCGAN_JAX_PYTHON` (say a virtualenv with jax, keras, h5py, scipy),
else this one; where neither has JAX the run test is skipped."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import REPO, cli_env

SCRIPT = REPO / "scripts" / "train_jax.py"
PYTHON = os.environ.get("DCGAN_JAX_PYTHON", sys.executable)


def run_script(*args, cwd):
    return subprocess.run(
        [PYTHON, str(SCRIPT), *map(str, args)],
        cwd=cwd,
        env=cli_env(KERAS_BACKEND="jax"),
        capture_output=True,
        text=True,
        timeout=900,
    )


def has_jax():
    return subprocess.run([PYTHON, "-c", "import jax"], capture_output=True).returncode == 0


needs_jax = pytest.mark.skipif(not has_jax(), reason="no JAX: set DCGAN_JAX_PYTHON")


@needs_jax
@pytest.mark.slow
@pytest.mark.parametrize("conditional", [False, True], ids=["dcgan", "conditional"])
def test_tiny_run_keeps_the_best_epoch_in_plain_keras(conditional, tmp_path):
    out = tmp_path / "run"
    flags = ["--conditional"] if conditional else []
    proc = run_script(
        *flags,
        *("--data", "sample", "--out", out, "--steps", 2, "--batch-size", 8, "--epochs", 3),
        *("--eval-samples", 100, "--eval-minutes", 0),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    best = json.loads((out / "best.json").read_text())
    assert float(best["fid"]) == min(float(r["fid"]) for r in rows)
    g = keras.models.load_model(out / "generator_ema_best.h5", compile=False)  # TensorFlow here
    assert {type(la).__module__.split(".")[0] for la in g._flatten_layers()} == {"keras"}
    z = np.random.default_rng(0).uniform(-1, 1, (4, 100)).astype("float32")
    x = np.asarray(g([z, np.arange(4)] if conditional else z, training=False))
    assert x.shape == (4, 28, 28, 1) and np.all(np.abs(x) <= 1) and x.std() > 0.01
    assert json.loads((out / "config.json").read_text())["conditional"] is conditional


@needs_jax
@pytest.mark.parametrize(
    "flags, words",
    [
        (["--batch-size", "7"], "must be even"),
        (["--ema", "1.5"], "--ema 1.5"),
        (["--data", "no_such.npz"], "not found"),
    ],
)
def test_bad_flags_are_one_line(flags, words, tmp_path):
    proc = run_script(*flags, "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()
