"""What a run shows while it trains: history, sample grids, TensorBoard logs."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = pytest.mark.precision


def events(folder):
    """{tag: [(step, value or image shape)]} from the TensorBoard event files under `folder`."""
    found = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                t = tf.make_ndarray(v.tensor)
                if t.dtype == object:  # an encoded image: (width, height, PNG bytes...)
                    item = tf.io.decode_png(t[2]).shape
                else:
                    item = float(t)
                found.setdefault(v.tag, []).append((event.step, item))
    return found


@pytest.mark.parametrize(
    "steps, per_call, every, said",
    [
        (468, 1, None, [50, 100, 150, 200, 250, 300, 350, 400, 450]),
        (31, 1, None, [7, 14, 21, 28]),
        (10, 4, 3, [4, 8]),  # --steps-per-execution 4: Keras reports every 4 steps
        (3, 1, None, [1, 2]),
        (1, 1, None, []),
    ],
)
def test_step_log_writes_a_plain_line_every_few_steps(steps, per_call, every, said):
    from dcgan.callbacks import StepLog

    lines = []
    log = StepLog(steps, every, print_fn=lambda line, flush: lines.append(line))
    log.set_params({"epochs": 3, "steps": steps})
    log.on_train_begin()
    log.on_epoch_begin(1)
    for end in range(per_call, steps + per_call, per_call):
        log.on_train_batch_end(min(end, steps) - 1, {"d_loss": np.float32(0.5), "g_loss": 1.25})
    assert [int(line.split("step ")[1].split("/")[0]) for line in lines] == said
    for line in lines:
        assert (
            line.startswith("epoch 2/3 step ") and f"/{steps}: d_loss 0.5000 g_loss 1.2500" in line
        )
        assert "s/step" in line and "left in the epoch" in line and "\r" not in line


@pytest.mark.slow
def test_tensorboard_is_one_run_on_one_step_axis(trained_run):
    """2 epochs of 3 steps: per-epoch scalars and grids at steps 3 and 6, one event folder."""
    logs = trained_run / "logs"
    assert not [p for p in logs.iterdir() if p.is_dir()], "one TensorBoard run, not several"
    scalars = events(logs)
    for name in ("d_loss", "g_loss", "d_acc", "d_real", "d_fake", "fid", "fid_ema"):
        assert [step for step, _ in scalars[f"epoch/{name}"]] == [3, 6], name
    rows = list(csv.DictReader(open(trained_run / "history.csv")))
    np.testing.assert_allclose(
        [v for _, v in scalars["epoch/fid"]], [float(r["fid"]) for r in rows], rtol=1e-4
    )
    # Each optimizer's own rate, the recipe's 2e-4, not Keras's unused default optimizer's.
    for net in ("discriminator", "generator"):
        assert scalars[f"lr/{net}"] == [(3, pytest.approx(2e-4)), (6, pytest.approx(2e-4))]
    images = scalars["samples"]
    assert [step for step, _ in images] == [3, 6]
    assert all(shape[:2] == (8 * 30 + 2, 8 * 30 + 2) for _, shape in images), images


def test_tensorboard_writes_scalars_every_n_steps(tmp_path):
    """A long epoch is a curve: with every=2, points at steps 2, 4, ... as well as per epoch,
    also when Keras reports only every few steps (--steps-per-execution)."""
    from dcgan.callbacks import TensorBoard

    class Model:
        d_optimizer = g_optimizer = keras.optimizers.Adam(3e-4)
        steps_per_execution = 3

    board = TensorBoard(tmp_path, every=2)
    board.set_model(Model())
    board.set_params({"steps": 9})
    for epoch in range(2):
        board.on_epoch_begin(epoch)
        for batch in (2, 5, 8):  # called every 3 steps
            board.on_train_batch_end(batch, {"d_loss": float(epoch * 9 + batch)})
        board.on_epoch_end(epoch, {"d_loss": 1.0})
    board.on_train_end()
    scalars = events(tmp_path)
    assert [s for s, _ in scalars["step/d_loss"]] == [3, 6, 9, 12, 15, 18]
    assert [s for s, _ in scalars["epoch/d_loss"]] == [9, 18]
    assert scalars["lr/generator"][0][1] == pytest.approx(3e-4)


@pytest.mark.slow
def test_history_and_grids_per_epoch(trained_run):
    rows = list(csv.DictReader(open(trained_run / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"d_loss", "g_loss", "d_acc", "d_real", "d_fake", "fid", "fid_ema"} <= set(rows[0])
    assert sorted(p.name for p in (trained_run / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]
    assert (trained_run / "losses.png").stat().st_size > 0 and (
        trained_run / "progress.gif"
    ).exists()


@pytest.mark.slow
def test_every_saved_generator_loads_ready_to_fine_tune(trained_run):
    import keras

    from dcgan.models import build_generator

    expected = len(build_generator().trainable_weights)
    for name in (
        "generator.h5",
        "generator_ema.h5",
        "generator_e0002.h5",
        "generator_ema_e0002.h5",
        "generator_best.h5",
    ):
        g = keras.models.load_model(trained_run / name, compile=False)
        assert g.trainable and len(g.trainable_weights) == expected, name
