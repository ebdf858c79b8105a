"""The TensorFlow adapter: each net's update moves that net's weights and no others, and each
net learns when it should, under every recipe."""

import pytest
import tensorflow as tf
from test_gan import each_recipe, make_gan, seeds, z

from dcgan import data, step_tf, trainset

from conftest import assert_moves_only


@pytest.fixture(scope="module")
def real():
    x, _, _ = data.load("sample")
    return trainset.to_float(x[:16])


@each_recipe
def test_d_update_moves_d_only(real, recipe):
    gan = make_gan(recipe=recipe)
    # (G's BatchNormalization statistics do follow the batch G makes for D.)
    assert_moves_only(
        lambda: step_tf.train_discriminator(gan, real, None, z(16), seeds()),
        moves=gan.discriminator.trainable_weights,
        stays=gan.generator.trainable_weights,
    )


@each_recipe
def test_g_update_moves_g_only(real, recipe):
    gan = make_gan(recipe=recipe)
    # D is frozen inside the adversarial model...
    assert_moves_only(
        lambda: step_tf.train_generator(gan, z(32), seeds()),
        moves=gan.generator.trainable_weights,
        stays=gan.discriminator.weights,
    )
    # ...and still trainable on its own: the naive Keras 3 port loses exactly this.
    assert gan.discriminator.trainable and len(gan.discriminator.trainable_weights) == 10


@pytest.mark.slow  # 15 eager steps of D (~6 s)
@each_recipe
def test_d_learns_to_separate(real, recipe):
    gan = make_gan(recipe=recipe)
    fixed_z = z(16)
    for step in range(15):
        _, p, _ = step_tf.train_discriminator(gan, real, None, fixed_z, seeds(step))
    p = gan.discriminator(tf.concat([real, gan.generator(fixed_z)], 0)).numpy()
    assert p[:16].mean() > p[16:].mean() + 0.3


@pytest.mark.slow  # 15 eager steps (~8 s)
@each_recipe
def test_g_learns_to_fool_a_fixed_d(real, recipe):
    gan = make_gan(recipe=recipe)
    for step in range(5):  # a D with an opinion first
        step_tf.train_discriminator(gan, real, None, z(16, step), seeds(step))
    probe = z(64, 99)
    before = gan.discriminator(gan.generator(probe, training=True)).numpy().mean()
    for step in range(10):
        step_tf.train_generator(gan, z(32, step), seeds(step))
    after = gan.discriminator(gan.generator(probe, training=True)).numpy().mean()
    assert after > before + 0.04
