"""The nets match the reference layer for layer and save with built-in layers only."""

import keras
import numpy as np

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
