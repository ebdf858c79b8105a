"""The EMA generator: its decay schedule, its update, and the BatchNormalization statistics it
re-estimates before drawing."""

import keras
from keras import ops
import numpy as np
import pytest

from dcgan import ema, models


def test_decay_warms_up_then_holds_at_the_given_decay():
    # (1 + t) / (10 + t): 0.1 at the first update, so the random start is soon forgotten.
    assert float(ema.decay_at(0.999, 0)) == pytest.approx(0.1)
    assert float(ema.decay_at(0.999, 90)) == pytest.approx(91 / 100)
    assert float(ema.decay_at(0.999, 10**6)) == pytest.approx(0.999)
    steps = [float(ema.decay_at(0.999, t)) for t in range(0, 20_000, 500)]
    assert steps == sorted(steps) and max(steps) == pytest.approx(0.999)
    # A longer warm-up holds the average back for longer.
    assert float(ema.decay_at(0.999, 100, warmup=100.0)) < float(ema.decay_at(0.999, 100))


def test_update_moves_the_average_towards_gs_weights_and_leaves_g_alone():
    g = models.build_generator()
    average = ema.EMA(g, decay=0.9)
    start = [w.copy() for w in average.generator.get_weights()]
    g_before = [w.copy() for w in g.get_weights()]
    for w in g.trainable_weights:
        w.assign(w + 1.0)
    average.update(step=10**6)  # past the warm-up: decay 0.9
    for (e, w), e0 in zip(average.pairs, [start[i] for i in trainable_indices(average)]):
        np.testing.assert_allclose(ops.convert_to_numpy(e), 0.9 * e0 + 0.1 * (e0 + 1.0), atol=1e-5)
        assert e is not w
    # G's own weights are what training made them; the average's are a separate copy.
    for w, before in zip(g.trainable_weights, [g_before[i] for i in g_trainable(g)]):
        np.testing.assert_allclose(ops.convert_to_numpy(w), before + 1.0, atol=1e-6)
    assert not average.generator.trainable


def trainable_indices(average):
    ids = [id(e) for e, _ in average.pairs]
    return [i for i, w in enumerate(average.generator.weights) if id(w) in ids]


def g_trainable(g):
    ids = {id(w) for w in g.trainable_weights}
    return [i for i, w in enumerate(g.weights) if id(w) in ids]


def test_moving_statistics_are_not_averaged():
    # Only trainable weights are averaged: BatchNormalization's statistics are re-estimated.
    g = models.build_generator()
    average = ema.EMA(g, decay=0.999)
    moving = {id(w) for w in g.non_trainable_weights}
    assert moving and not any(id(w) in moving for _, w in average.pairs)


def norms(g):
    return [x for x in g.layers if isinstance(x, keras.layers.BatchNormalization)]


def test_recalibration_sets_the_statistics_to_gs_own_and_restores_the_layers():
    g = models.build_generator()
    g.trainable = False  # as the EMA generator is
    layers = norms(g)
    for layer in layers:
        layer.moving_mean.assign(ops.ones_like(layer.moving_mean) * 5.0)
    momenta = [layer.momentum for layer in layers]
    kernels = [ops.convert_to_numpy(w) for w in g.weights if "kernel" in w.path]
    ema.recalibrate_batchnorm(g, batches=2, batch_size=64)
    for layer in layers:
        assert np.all(np.abs(ops.convert_to_numpy(layer.moving_mean)) < 5.0), layer.name
    assert [layer.momentum for layer in layers] == momenta
    assert not any(layer.trainable for layer in layers)
    after = [ops.convert_to_numpy(w) for w in g.weights if "kernel" in w.path]
    assert all(np.array_equal(a, b) for a, b in zip(kernels, after)), "weights stay put"


def test_recalibration_is_the_mean_of_its_batches_statistics():
    # With one batch the moving mean is exactly that batch's mean (momentum 0 on the first).
    g = models.build_generator()
    ema.recalibrate_batchnorm(g, batches=1, batch_size=32, seed=3)
    z = np.asarray(
        ema.noise.latent((32, models.latent_dim(g)), ema.noise.make_seed(3, -1, 0), "truncated")
    )
    dense, first = g.layers[0], norms(g)[0]
    batch_mean = ops.convert_to_numpy(ops.mean(dense(z), axis=0))
    np.testing.assert_allclose(ops.convert_to_numpy(first.moving_mean), batch_mean, atol=1e-4)


def test_calibration_runs_once_per_step():
    g = models.build_generator()
    average = ema.EMA(g, decay=0.999)
    drawn = average.calibrated(5)
    first = norms(drawn)[0]
    first.moving_mean.assign(ops.ones_like(first.moving_mean) * 7.0)
    average.calibrated(5)  # the same step: not again
    assert np.allclose(ops.convert_to_numpy(first.moving_mean), 7.0)
    average.calibrated(6)  # a later step: re-estimated
    assert not np.allclose(ops.convert_to_numpy(first.moving_mean), 7.0)
