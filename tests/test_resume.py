"""A run killed mid-epoch and resumed ends where an uninterrupted run ends."""

import csv
import functools
import signal
import time

import h5py
import numpy as np
import pytest

from conftest import start_python

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = pytest.mark.precision

ARGS = "--epochs 3 --steps-per-epoch 12 --batch-size 32 --data sample --save-every 1 --ema 0.9"
ARGS = [*ARGS.split(), "--quiet"]


def train(*args, backend="tensorflow"):
    return start_python("-m", "dcgan.train", *args, KERAS_BACKEND=backend)


def weights(path):
    out = []
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: out.append(np.array(obj)) if isinstance(obj, h5py.Dataset) else None
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra, backend",
    [
        ([], "tensorflow"),
        (["--conditional", "--jit-compile", "off"], "tensorflow"),
        # The MLP nets: XLA's CPU gradient of a strided Conv2DTranspose makes the conv nets ~14x
        # slower on JAX here; test_backends.py resumes those after a clean stop.
        (["--arch", "mlp"], "jax"),
    ],
    ids=["unconditional, defaults", "conditional, fast twins without XLA", "jax, mlp"],
)
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, extra, backend):
    if backend == "jax":
        pytest.importorskip("jax", reason="JAX is not installed: pip install dcgan[jax]")
    start = functools.partial(train, backend=backend)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    p = start(*ARGS, *extra, "--out", str(straight))
    assert p.wait(timeout=600) == 0, p.stderr.read()
    victim = start(*ARGS, *extra, "--out", str(killed))
    deadline = time.time() + 300
    while not (killed / "state_e0001.npz").exists():
        assert victim.poll() is None and time.time() < deadline, (
            "the run ended before it could be killed"
        )
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (killed / "generator.h5").exists(), "killed after it finished: nothing was tested"

    r = start("--resume", str(killed), "--epochs", "3", "--quiet")
    out, err = r.communicate(timeout=600)
    assert r.returncode == 0, err
    assert "resuming" in err
    epochs = [row["epoch"] for row in csv.DictReader(open(killed / "history.csv"))]
    assert epochs == ["1", "2", "3"], "no epoch lost or repeated"
    for name in ("generator.h5", "discriminator.h5", "generator_ema.h5"):
        for a, b in zip(weights(straight / name), weights(killed / name)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)
