"""A run whose loss or weights turn NaN stops with one line naming the epoch and a non-zero exit,
keeps the checkpoints and sample grids written before, and writes no model of the bad weights
(issue 7, item 3)."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan import checkpoints, train, training
from dcgan.cli import run_cli
from dcgan.gan import DCGAN

from conftest import run_python

pytestmark = pytest.mark.slow  # trains: a fresh interpreter, then 3 epochs in this one

STEPS = 2
ARGS = [
    "--epochs",
    "3",
    "--steps-per-epoch",
    str(STEPS),
    "--batch-size",
    "32",
    "--data",
    "sample",
    "--save-every",
    "1",
    "--quiet",
]


def assert_one_error_line(err, *words):
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])


def model_files(run):
    return sorted(
        p.name for p in run.iterdir() if p.name.startswith(("generator", "discriminator"))
    )


def test_absurd_learning_rate_stops_in_epoch_1(tmp_path):
    """Adam at 1e30 overflows the weights within the first steps: a real divergence, end to end."""
    run = tmp_path / "run"
    p = run_python("-m", "dcgan.train", *ARGS, "--lr", "1e30", "--out", run, timeout=300)
    assert p.returncode == 2, p.stderr
    assert_one_error_line(p.stderr, "diverged in epoch 1", "no final model", "lower --lr", str(run))
    assert model_files(run) == [], "no model of NaN weights"
    assert not list(run.glob("state_e*.npz")) and not list(run.glob("samples/*.png"))
    assert not list(run.rglob(".*.tmp*"))
    assert (run / "config.json").exists() and (run / "history.csv").exists()
    assert "no checkpoint" not in p.stderr and "state_e" not in p.stderr


@pytest.mark.parametrize("poison", ["loss", "weights"])
def test_nan_in_epoch_2_keeps_epoch_1(poison, tmp_path, monkeypatch, capsys):
    """NaN from the first step of epoch 2 ("loss": the reported g_loss), or NaN weights after its
    last step with every loss finite ("weights": only the end-of-epoch weight check sees it)."""
    real_step = DCGAN.train_step

    def train_step(self, data):
        logs = real_step(self, data)
        done = self.g_optimizer.iterations  # steps finished, this one included
        if poison == "loss":
            bad = done > STEPS
            return {
                k: tf.where(bad, tf.constant(np.nan, v.dtype), v) if k == "g_loss" else v
                for k, v in logs.items()
            }
        w = self.generator.weights[0]
        w.assign(tf.where(done >= 2 * STEPS, w * np.nan, w))
        return logs

    monkeypatch.setattr(DCGAN, "train_step", train_step)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, [*ARGS, "--out", str(run)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert_one_error_line(err, "diverged in epoch 2", "state_e0001.npz", str(run))

    assert [p.name for p in run.glob("state_e*.npz")] == ["state_e0001.npz"]
    assert model_files(run) == [
        "discriminator_e0001.h5",
        "generator_e0001.h5",
        "generator_e0001_savedmodel",
        "generator_ema_e0001.h5",  # EMA is on by default
    ]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png"]
    assert not list(run.rglob(".*.tmp*"))
    # The kept state is the good one of epoch 1.
    gan = training.build(
        training.Config(batch_size=32, data="sample").resolved(), tf.distribute.get_strategy()
    )
    assert checkpoints.load_state(gan, run / "state_e0001.npz") == 1
    assert all(
        np.isfinite(np.asarray(v)).all() for v in gan.generator.weights + gan.discriminator.weights
    )
