"""What a run shows while it trains: history, sample grids, TensorBoard logs."""

import csv

import numpy as np
import tensorflow as tf


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


def test_tensorboard_logs_metrics_fid_and_sample_grids(trained_run):
    scalars = events(trained_run / "logs" / "train")
    for name in ("d_loss", "g_loss", "d_acc", "d_real", "d_fake", "fid", "fid_ema"):
        assert [step for step, _ in scalars[f"epoch_{name}"]] == [0, 1], name
    rows = list(csv.DictReader(open(trained_run / "history.csv")))
    np.testing.assert_allclose(
        [v for _, v in scalars["epoch_fid"]], [float(r["fid"]) for r in rows], rtol=1e-4
    )
    images = events(trained_run / "logs" / "samples")["samples"]
    assert [step for step, _ in images] == [1, 2]
    assert all(shape[:2] == (8 * 30 + 2, 8 * 30 + 2) for _, shape in images), images


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
