"""In-graph noise, digits and soft targets, drawn with stateless RNG.

Every draw is a pure function of (seed, step, replica, salt), so it works inside `tf.function`,
gives each `tf.distribute` replica its own numbers, and resumes exactly: the step counter is
the optimizer's `iterations`, which the checkpoint already holds.

Two kinds of seed: `make_seed`'s TensorFlow seed, and `jax_key`'s JAX key for the JAX train step
(drawn inside `jax.jit`, where TensorFlow ops cannot run). Each draw takes either and draws with
the matching library: the same distributions, not the same numbers. TensorFlow's numbers stay
what they were, since resuming a saved run replays them.
"""

import enum
import math

import numpy as np

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


# The seeds drawn where none is given (`random_seed`), which are the seeds the demo page takes:
# 0 to SEED_MAX.
SEED_MAX = 2**31 - 1


def random_seed():
    """A seed for a draw that was given none (`generate` prints it, the demo page shows it)."""
    return int(np.random.default_rng().integers(SEED_MAX + 1))


def make_seed(seed, *parts):
    """Folds integers (or int tensors) into a stateless seed of shape [2]; on a machine without
    TensorFlow (a JAX GPU box), `jax_key`'s key: the same distributions, other numbers."""
    try:
        import tensorflow as tf
    except ImportError:
        return jax_key(seed, *(p % 2**32 if isinstance(p, int) else p for p in parts))

    s = tf.constant([int(seed), 0], dtype=tf.int64)
    for p in parts:
        s = tf.random.experimental.stateless_fold_in(s, tf.cast(p, tf.int64))
    return s


def jax_key(seed, *parts):
    """The JAX twin of `make_seed`: a key folded from the seed and integers (or traced ints)."""
    import jax

    key = jax.random.key(int(seed))
    for p in parts:
        key = jax.random.fold_in(key, p)
    return key


def _jax(seed):
    """jax.random when `seed` is a JAX key, else None (a TensorFlow seed)."""
    if type(seed).__module__.startswith("jax"):
        import jax

        return jax.random
    return None


def _cdf(t):
    return 0.5 * math.erfc(-t / math.sqrt(2.0))


def truncated_normal(shape, low, high, seed, dtype="float32"):
    """Standard normal truncated to [low, high] by inverting the CDF.

    Exact for any interval (unlike rejection or `truncated_normal`, which cuts at 2 sigma only),
    and made of ops that XLA and every device support.
    """
    lo, hi = _cdf(low), _cdf(high)
    if rng := _jax(seed):
        import jax

        u = rng.uniform(seed, shape, minval=lo, maxval=hi)
        return jax.scipy.special.ndtri(u).astype(dtype)
    import tensorflow as tf

    u = tf.random.stateless_uniform(shape, seed, minval=lo, maxval=hi, dtype=tf.float32)
    return tf.cast(tf.math.ndtri(u), dtype)


def truncated_rows(width, seed, start, stop):
    """Rows start..stop of `latent((n, width), make_seed(seed))` (truncated, any n >= stop),
    float32 numpy, drawn without the rows before them; None where TensorFlow's stateless draws
    are not Philox's (another algorithm on another device).

    Each step of the Philox counter gives 4 floats, so the numbers from row `start` on are those
    of a counter moved on by start * width / 4, and the uniforms are cut to the truncated
    normal as `truncated_normal` cuts them."""
    try:
        import tensorflow as tf
    except ImportError:
        return None

    key, counter, alg = tf.raw_ops.StatelessRandomGetKeyCounterAlg(seed=make_seed(seed))
    if int(alg) != 1:  # not Philox
        return None
    skip, lead = divmod(start * width, 4)
    low, high = (int(c) for c in counter.numpy())
    low, carry = (low + skip) % 2**64, (low + skip) // 2**64
    counter = tf.constant(np.array([low, (high + carry) % 2**64], np.uint64))
    u = tf.raw_ops.StatelessRandomUniformV2(
        shape=[(stop - start) * width + lead], key=key, counter=counter, alg=alg
    )[lead:]
    lo, hi = (tf.constant(_cdf(t), tf.float32) for t in NOISE_RANGE)
    z = tf.math.ndtri(u * (hi - lo) + lo)
    return np.asarray(z, np.float32).reshape(stop - start, width)


def latent(shape, seed, kind="truncated"):
    if kind == "truncated":
        return truncated_normal(shape, *NOISE_RANGE, seed)
    if rng := _jax(seed):
        if kind == "normal":
            return rng.normal(seed, shape)
        if kind == "uniform":
            return rng.uniform(seed, shape, minval=-1.0, maxval=1.0)
    import tensorflow as tf

    if kind == "normal":
        return tf.random.stateless_normal(shape, seed)
    if kind == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    raise ValueError(f"unknown noise kind {kind!r}; choose truncated, normal or uniform")


def class_ids(n, seed, classes=NUM_CLASSES):
    """n class ids (int32), each of 0..classes-1 equally likely (0-9 for digits): the classes G
    is asked for."""
    if rng := _jax(seed):
        return rng.randint(seed, (n,), 0, classes, dtype="int32")
    import tensorflow as tf

    return tf.random.stateless_uniform((n,), seed, minval=0, maxval=classes, dtype=tf.int32)


def targets(n, real, seed, kind="soft"):
    """Targets of shape (n, 1): soft ones drawn fresh, or hard 1/0."""
    if kind == "hard":
        if _jax(seed):
            import jax.numpy as jnp

            return jnp.full((n, 1), 1.0 if real else 0.0, "float32")
        import tensorflow as tf

        return tf.fill((n, 1), 1.0 if real else 0.0)
    if kind == "soft":
        return truncated_normal((n, 1), *(REAL_RANGE if real else FAKE_RANGE), seed)
    raise ValueError(f"unknown target kind {kind!r}; choose soft or hard")
