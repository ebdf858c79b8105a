"""Each net learns when it should and stays put when it should not (the Keras 3 trap)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import data, noise, step_tf, trainset
from dcgan.gan import DCGAN
from dcgan.models import build_pair
from dcgan.settings import RECIPES, Config

from conftest import assert_moves_only


@pytest.fixture(scope="module")
def real():
    x, _, _ = data.load("sample")
    return trainset.to_float(x[:16])


def make_gan(seed=0, recipe="reference", **kwargs):
    """A GAN compiled with a --recipe's optimizers (both nets' learning rates and betas)."""
    cfg = Config(recipe=recipe).checked()
    keras.utils.set_random_seed(seed)
    g, d = build_pair()
    gan = DCGAN(g, d, seed=seed, **kwargs)
    adam = lambda lr: keras.optimizers.Adam(lr, beta_1=cfg.beta1, beta_2=cfg.beta2)
    gan.compile(d_optimizer=adam(cfg.d_lr), g_optimizer=adam(cfg.lr))
    return gan


# Every recipe's one step does what the reference's does: each net learns when it should.
each_recipe = pytest.mark.parametrize("recipe", RECIPES)


def seeds(step=0):
    return lambda k: noise.make_seed(0, step, 0, k)


def z(n, step=0):
    return noise.latent((n, 100), noise.make_seed(9, step))


@pytest.mark.slow  # traces the whole train step (~8 s)
def test_fit_trains_both_and_reports_hard_accuracy(real):
    gan = make_gan()
    # A D that says "real" to everything: against hard labels that is 50% accuracy, while the
    # reference's accuracy against soft labels would read 0.
    gan.discriminator.layers[-2].bias.assign([20.0])
    ds = tf.data.Dataset.from_tensor_slices(real).batch(8, drop_remainder=True)
    logs = {}
    assert_moves_only(
        lambda: logs.update(gan.fit(ds, epochs=1, verbose=0).history),
        moves=gan.generator.trainable_weights + gan.discriminator.trainable_weights,
        stays=[],
    )
    assert set(logs) == {"d_loss", "g_loss", "d_acc", "d_real", "d_fake"}
    assert logs["d_acc"][0] == pytest.approx(0.5)
    assert logs["d_real"][0] > 0.99 and logs["d_fake"][0] > 0.99


# Traces and runs two whole fits (~17 s); resume's bit-identical checks are slow too.
@pytest.mark.slow
def test_same_seed_same_training(real):
    ds = tf.data.Dataset.from_tensor_slices(real).batch(8, drop_remainder=True)
    runs = []
    for _ in range(2):
        gan = make_gan(seed=3)
        gan.fit(ds, epochs=1, verbose=0)
        runs.append(gan.generator.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_ema_tracks_generator(real):
    gan = make_gan(ema_decay=0.5)
    start = [np.array(w) for w in gan.ema_generator.weights]
    step_tf.train_generator(gan, z(32), seeds())
    d = min(0.5, (1 + 1) / (10 + 1))  # decay warm-up after one update
    for e, w, s in zip(gan.ema_generator.weights, gan.generator.weights, start):
        if w.trainable:
            np.testing.assert_allclose(
                np.array(e), d * s + (1 - d) * np.array(w), rtol=1e-5, atol=1e-6
            )
        else:  # BatchNormalization statistics: left for calibrated_ema to re-estimate
            np.testing.assert_array_equal(np.array(e), s)


@pytest.mark.slow  # 10 batches of 256 through G, eagerly (~12 s)
def test_calibrated_ema_fits_its_own_batch_statistics():
    gan = make_gan(ema_decay=0.9)
    probe = z(256, 5)
    g = gan.calibrated_ema()
    batch_stats = np.asarray(g(probe, training=False))
    g.trainable = True
    train_mode = np.asarray(g(probe, training=True))
    g.trainable = False
    # After calibration, inference mode matches what the net does with batch statistics.
    assert np.abs(batch_stats - train_mode).mean() < 0.05
    assert not g.trainable and gan.calibrated_ema() is g
