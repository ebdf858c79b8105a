"""The nets match the reference layer for layer and save with built-in layers only."""

import keras
import numpy as np
import pytest

from dcgan import models


def summary(model):
    return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_discriminator_matches_reference():
    d = models.build_discriminator()
    rows = summary(d)
    convs = [
        (layer.filters, layer.strides, layer.kernel_size, layer.padding)
        for layer in d.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert convs == [
        (64, (2, 2), (3, 3), "same"),
        (128, (2, 2), (3, 3), "same"),
        (256, (2, 2), (3, 3), "same"),
        (512, (1, 1), (3, 3), "same"),
    ]
    conv_out = [shape for name, shape in rows if name == "Conv2D"]
    assert conv_out == [(14, 14, 64), (7, 7, 128), (4, 4, 256), (4, 4, 512)]
    assert [n for n, _ in rows] == ["Conv2D", "LeakyReLU", "Dropout"] * 4 + [
        "Flatten",
        "Dense",
        "Activation",
    ]
    assert all(
        layer.negative_slope == 0.2
        for layer in d.layers
        if isinstance(layer, keras.layers.LeakyReLU)
    )
    assert all(layer.rate == 0.4 for layer in d.layers if isinstance(layer, keras.layers.Dropout))
    assert d.output_shape == (None, 1)


def test_generator_matches_reference():
    g = models.build_generator()
    rows = summary(g)
    assert rows[:4] == [
        ("Dense", (12544,)),
        ("BatchNormalization", (12544,)),
        ("ReLU", (12544,)),
        ("Reshape", (7, 7, 256)),
    ]
    deconv = [
        (layer.filters, layer.strides, layer.kernel_size)
        for layer in g.layers
        if isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    assert deconv == [
        (128, (2, 2), (3, 3)),
        (64, (2, 2), (3, 3)),
        (32, (1, 1), (3, 3)),
        (1, (1, 1), (3, 3)),
    ]
    assert [shape for name, shape in rows if name == "Conv2DTranspose"] == [
        (14, 14, 128),
        (28, 28, 64),
        (28, 28, 32),
        (28, 28, 1),
    ]
    assert all(
        layer.momentum == 0.9
        for layer in g.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert [n for n, _ in rows][-2:] == ["Conv2DTranspose", "Activation"]
    assert g.input_shape == (None, 100) and g.output_shape == (None, 28, 28, 1)


def test_outputs_in_range():
    g, d = models.build_pair("dcgan")
    x = g(np.random.uniform(-1, 1, (4, 100)).astype("float32"))
    assert np.all(np.abs(x) <= 1)
    p = d(x).numpy()
    assert p.shape == (4, 1) and np.all((p >= 0) & (p <= 1))


def test_mlp_variant():
    g, d = models.build_pair("mlp")
    assert [layer.units for layer in g.layers if isinstance(layer, keras.layers.Dense)] == [
        128,
        784,
    ]
    assert [layer.units for layer in d.layers if isinstance(layer, keras.layers.Dense)] == [128, 1]
    assert g.output_shape == (None, 28, 28, 1) and d.output_shape == (None, 1)


def test_adversarial_is_g_then_d():
    g, d = models.build_pair()
    adv = models.build_adversarial(g, d)
    assert adv.layers == [g, d]
    z = np.random.uniform(-1, 1, (3, 100)).astype("float32")
    np.testing.assert_allclose(adv(z), d(g(z)), atol=1e-6)


def test_saved_nets_load_without_project_code(tmp_path):
    for model in models.build_pair():
        for ext in (".h5", ".keras"):
            path = tmp_path / f"{model.name}{ext}"
            model.save(path)
            loaded = keras.models.load_model(path, compile=False)  # no custom_objects needed
            x = np.random.uniform(-1, 1, (2, *model.input_shape[1:])).astype("float32")
            np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_dropout_keeps_the_recipes_rate_under_bf16():
    """A bf16 Dropout draws bf16 uniforms (multiples of 1/128): rate 0.4 then drops 40.6% and its
    output mean is 1.2% low. D's Dropout runs in float32 whatever the policy."""
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        d = models.build_discriminator()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    drop = [layer for layer in d.layers if isinstance(layer, keras.layers.Dropout)]
    assert len(drop) == 4 and d.layers[0].compute_dtype == "bfloat16"
    y = np.asarray(
        tf.cast(drop[0](tf.ones((256, 14, 14, 64), tf.bfloat16), training=True), tf.float32)
    )
    assert abs((y > 0).mean() - 0.6) < 0.003 and abs(y.mean() - 1.0) < 0.005, (
        (y > 0).mean(),
        y.mean(),
    )


def _layer_kinds(model):
    return [
        (type(layer).__module__.split(".")[0], type(layer).__name__, layer.count_params())
        for layer in model._flatten_layers(include_self=False)
    ]


@pytest.mark.parametrize(
    "conditional",
    [False, pytest.param(True, marks=pytest.mark.slow)],  # each ~5 s: one in the fast path
    ids=["dcgan", "conditional"],
)
def test_exported_twins_are_the_reference_nets(conditional, tmp_path):
    """What trains (fused batch norm, no bias before it, a cheap dropout mask) saves as the
    built-in-layer net with the same function, loadable without this project."""
    keras.utils.set_random_seed(1)
    g, d = models.build_pair(conditional=conditional, fast=True)
    digits = np.arange(64) % 10
    z = np.random.default_rng(0).normal(size=(64, 100)).astype("float32")
    g_in = models.net_inputs(z, digits if conditional else None)
    for w in g.trainable_weights + d.trainable_weights:  # weights no fresh net has
        w.assign(w + 0.1 * np.random.default_rng(1).normal(size=w.shape).astype("float32"))
    for _ in range(3):  # and moving statistics
        g(g_in, training=True)
    x = np.asarray(g(g_in, training=False))
    d_in = models.net_inputs(x, digits if conditional else None)
    reference = models.build_pair(conditional=conditional)
    for net, ref, inputs in zip((g, d), reference, (g_in, d_in)):
        plain = models.export(net)
        assert _layer_kinds(plain) == _layer_kinds(ref)  # the reference's layers, biases too
        assert all(module == "keras" for module, _, _ in _layer_kinds(plain))
        want = np.asarray(net(inputs, training=False))
        np.testing.assert_allclose(plain(inputs, training=False), want, atol=1e-5)
        for ext in (".h5", ".keras"):
            plain.save(tmp_path / f"{net.name}{ext}")
            loaded = keras.models.load_model(tmp_path / f"{net.name}{ext}", compile=False)
            np.testing.assert_allclose(loaded(inputs, training=False), want, atol=1e-5)
    assert models.export(reference[0]) is reference[0]  # a built-in net is already its export


@pytest.mark.parametrize("shape", [(64, 300), (64, 7, 7, 16)], ids=["dense", "conv"])
def test_fused_batch_norm_trains_like_keras(shape):
    """Same outputs, gradients and moving statistics as the built-in layer, step after step."""
    import tensorflow as tf

    fused, plain = (
        models.FusedBatchNormalization(momentum=0.9),
        keras.layers.BatchNormalization(momentum=0.9),
    )
    fused.build(shape), plain.build(shape)
    rng = np.random.default_rng(0)
    for layer in (fused, plain):
        layer.set_weights([rng.normal(size=w.shape).astype("float32") ** 2 for w in fused.weights])
        rng = np.random.default_rng(0)
    for step in range(3):
        x = tf.constant(np.random.default_rng(step).normal(2, 3, size=shape).astype("float32"))
        outs = []
        for layer in (fused, plain):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(y * tf.sin(y))
            outs.append([y, *tape.gradient(loss, [x, layer.gamma, layer.beta])])
        # Both sides reduce over the batch in float32, in different orders (TensorFlow's fused
        # kernel vs Keras's ops; oneDNN's AVX-512 kernels differ from the AVX2 ones again), so
        # they agree to float32 rounding of each sum: ~1e-6 of the array's scale per element,
        # times the reduction length. An element near zero (a gradient) has no meaningful
        # relative error, so the bound is relative to the array's largest magnitude.
        for a, b in zip(*outs):
            scale = float(np.max(np.abs(b)))
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4 * max(scale, 1.0))
        for a, b in zip(fused.weights, plain.weights):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    x = np.ones(shape, "float32")
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), atol=1e-5)
    fused.trainable = plain.trainable = False  # frozen: Keras normalises with moving statistics
    np.testing.assert_allclose(fused(x, training=True), plain(x, training=True), atol=1e-5)


def test_fast_dropout_keeps_the_rate_and_the_mean():
    import tensorflow as tf

    drop = models.FastDropout(0.4, seed=3)
    x = tf.ones((256, 14, 14, 64))
    y = np.asarray(drop(x, training=True))
    assert abs((y > 0).mean() - 0.6) < 0.002 and abs(y.mean() - 1.0) < 0.004
    assert not np.array_equal(np.asarray(drop(x, training=True)) > 0, y > 0)  # a new mask a call
    np.testing.assert_array_equal(drop(x, training=False), x)
    again = models.FastDropout(0.4, seed=3)
    np.testing.assert_array_equal(again(x, training=True), y)  # its state fixes the mask
    odd = np.asarray(drop(tf.ones((3, 5, 7)), training=True))  # an odd count of elements
    assert odd.shape == (3, 5, 7) and set(np.unique(odd)) <= {0.0, np.float32(65536 / 39322)}
