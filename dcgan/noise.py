"""In-graph noise, digits and soft targets, drawn with stateless RNG.

Every draw is a pure function of (seed, step, replica, salt), so it works inside `tf.function`,
gives each `tf.distribute` replica its own numbers, and resumes exactly: the step counter is
the optimizer's `iterations`, which the checkpoint already holds. TensorFlow is imported where a
draw is made, so the ranges and streams below also serve scripts/train_jax.py.
"""

import enum
import math

from dcgan.files import NUM_CLASSES

# The reference draws its real/fake targets ("soft labels") with scipy's truncnorm(a, b): a
# standard normal cut to [a, b].
REAL_RANGE = (0.7, 1.2)
FAKE_RANGE = (0.0, 0.3)
NOISE_RANGE = (-1.0, 1.0)


class Stream(enum.IntEnum):
    """The random streams of one training step, each with its own key, so no two draws share
    numbers. The values are part of every saved run's random sequence: never renumber them."""

    FAKE_LATENTS = 0  # G's latents for the fake half of D's batch
    G_LATENTS = 1  # G's latents for its own update
    REAL_TARGETS = 2  # soft targets for D's real half
    FAKE_TARGETS = 3  # soft targets for D's fake half
    G_TARGETS = 4  # soft "real" targets for G's update
    FAKE_DIGITS = 5  # digits G is asked for in D's fake half (conditional)
    G_DIGITS = 6  # digits G is asked for in its own update (conditional)


def make_seed(seed, *parts):
    """Folds integers (or int tensors) into a stateless seed of shape [2]."""
    import tensorflow as tf

    s = tf.constant([int(seed), 0], dtype=tf.int64)
    for p in parts:
        s = tf.random.experimental.stateless_fold_in(s, tf.cast(p, tf.int64))
    return s


def truncated_normal(shape, low, high, seed, dtype="float32"):
    """Standard normal truncated to [low, high] by inverting the CDF.

    Exact for any interval (unlike rejection or `truncated_normal`, which cuts at 2 sigma only),
    and made of ops that XLA and every device support.
    """
    import tensorflow as tf

    cdf = lambda t: 0.5 * math.erfc(-t / math.sqrt(2.0))
    lo, hi = cdf(low), cdf(high)
    u = tf.random.stateless_uniform(shape, seed, minval=lo, maxval=hi, dtype=tf.float32)
    return tf.cast(tf.math.ndtri(u), dtype)


def latent(shape, seed, kind="truncated"):
    import tensorflow as tf

    if kind == "truncated":
        return truncated_normal(shape, *NOISE_RANGE, seed)
    if kind == "normal":
        return tf.random.stateless_normal(shape, seed)
    if kind == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    raise ValueError(f"unknown noise kind {kind!r}; choose truncated, normal or uniform")


def digits(n, seed):
    """n digits (int32), each of 0-9 equally likely: the digits G is asked for."""
    import tensorflow as tf

    return tf.random.stateless_uniform((n,), seed, minval=0, maxval=NUM_CLASSES, dtype=tf.int32)


def targets(n, real, seed, kind="soft"):
    """Targets of shape (n, 1): soft ones drawn fresh, or hard 1/0."""
    import tensorflow as tf

    if kind == "hard":
        return tf.fill((n, 1), 1.0 if real else 0.0)
    if kind == "soft":
        return truncated_normal((n, 1), *(REAL_RANGE if real else FAKE_RANGE), seed)
    raise ValueError(f"unknown target kind {kind!r}; choose soft or hard")
