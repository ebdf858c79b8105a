"""The in-graph draws follow the reference's scipy distributions, and are reproducible."""

import numpy as np
import pytest
from scipy import stats
import tensorflow as tf

from dcgan import noise

# (low, high, a draw of 10,000 from a seed or key): the noise and both kinds of soft target.
DRAWS = [
    (-1.0, 1.0, lambda key: noise.latent((10_000,), key)),
    (0.7, 1.2, lambda key: noise.targets(10_000, True, key)),
    (0.0, 0.3, lambda key: noise.targets(10_000, False, key)),
]


@pytest.mark.parametrize("low, high, draw", DRAWS)
def test_matches_scipy_truncnorm(low, high, draw):
    x = draw(noise.make_seed(1234)).numpy().ravel()
    assert x.min() >= low and x.max() <= high
    reference = stats.truncnorm.rvs(low, high, size=10_000, random_state=np.random.default_rng(0))
    assert stats.ks_2samp(x, reference).pvalue > 0.01
    assert stats.kstest(x, stats.truncnorm(low, high).cdf).pvalue > 0.01


def test_real_labels_are_not_uniform():
    # The reference's real labels pile up near 0.7: a uniform stand-in would fail this.
    x = noise.targets(10_000, True, noise.make_seed(5)).numpy().ravel()
    assert stats.kstest(x, stats.uniform(0.7, 0.5).cdf).pvalue < 1e-6
    assert np.mean(x) == pytest.approx(stats.truncnorm(0.7, 1.2).mean(), abs=0.005)


def test_other_kinds():
    s = noise.make_seed(3)
    u = noise.latent((10_000,), s, "uniform").numpy()
    assert stats.kstest(u, stats.uniform(-1, 2).cdf).pvalue > 0.01
    n = noise.latent((10_000,), s, "normal").numpy()
    assert stats.kstest(n, "norm").pvalue > 0.01
    assert set(np.unique(noise.targets(5, True, s, "hard").numpy())) == {1.0}
    assert set(np.unique(noise.targets(5, False, s, "hard").numpy())) == {0.0}
    with pytest.raises(ValueError):
        noise.latent((2,), s, "gaussian")


def test_seeds_reproduce_and_separate():
    a = noise.latent((4, 100), noise.make_seed(7, 3, 0)).numpy()
    assert np.array_equal(a, noise.latent((4, 100), noise.make_seed(7, 3, 0)).numpy())
    # Another step, another replica: other numbers.
    assert not np.allclose(a, noise.latent((4, 100), noise.make_seed(7, 4, 0)).numpy())
    assert not np.allclose(a, noise.latent((4, 100), noise.make_seed(7, 3, 1)).numpy())


def test_works_in_tf_function():
    f = tf.function(lambda step: noise.latent((8, 100), noise.make_seed(0, step)))
    assert f(tf.constant(1, tf.int64)).shape == (8, 100)


@pytest.mark.parametrize("low, high, draw", DRAWS)
def test_jax_keys_draw_the_same_distributions(low, high, draw):
    pytest.importorskip("jax", reason="JAX is not installed: pip install dcgan[jax]")
    x = np.asarray(draw(noise.jax_key(1234, 0, 0, 2))).ravel()
    assert x.min() >= low and x.max() <= high
    assert stats.kstest(x, stats.truncnorm(low, high).cdf).pvalue > 0.01


def test_jax_keys_reproduce_and_separate():
    jax = pytest.importorskip("jax", reason="JAX is not installed: pip install dcgan[jax]")
    a = np.asarray(noise.latent((4, 100), noise.jax_key(7, 3, 0, 0)))
    assert np.array_equal(a, np.asarray(noise.latent((4, 100), noise.jax_key(7, 3, 0, 0))))
    for other in ((7, 4, 0, 0), (7, 3, 0, 1), (8, 3, 0, 0)):  # step, stream, seed
        assert not np.allclose(a, np.asarray(noise.latent((4, 100), noise.jax_key(*other))))
    digits = noise.class_ids(10_000, noise.jax_key(0, 1))
    assert digits.dtype == "int32" and set(np.unique(np.asarray(digits))) == set(range(10))
    # Inside jax.jit, with a traced step: the train step's case.
    f = jax.jit(lambda step: noise.latent((8, 100), noise.jax_key(0, step), "uniform"))
    assert f(np.int32(1)).shape == (8, 100)
    assert set(np.asarray(noise.targets(5, False, noise.jax_key(0), "hard")).ravel()) == {0.0}
