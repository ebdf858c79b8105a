"""A run that stops getting better says so in one line of its log (`dcgan.health`): mode
collapse, D winning outright and a stalled FID, each forced here, and none of them said of a
healthy generator or before G has settled."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from dcgan import data, files, health, sampling
from dcgan.models import build_conditional_generator


@pytest.fixture(scope="module")
def real():
    return data.load("sample", log=lambda m: None)[0][:256]


@pytest.fixture(scope="module")
def shipped():
    return sampling.load_generator(files.shipped("generator"))


def model(generator, steps=1000):
    return SimpleNamespace(generator=generator, g_optimizer=SimpleNamespace(iterations=steps))


def watcher(real, generator, steps=1000, **kwargs):
    lines = []
    h = health.Health(real, lines.append, **kwargs)
    h.set_model(model(generator, steps))
    return h, lines


def collapsed_copy(generator):
    """The generator with its Dense kernel zeroed: every noise vector becomes the same image."""
    g = keras.models.clone_model(generator)
    g.set_weights(generator.get_weights())
    dense = next(layer for layer in g.layers if isinstance(layer, keras.layers.Dense))
    dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
    return g


def test_diversity_is_zero_for_one_image_and_positive_for_digits(real):
    assert health.diversity(np.repeat(real[:1], 50, axis=0)) == 0.0
    assert 0.2 < health.diversity(real) < 0.6


def test_a_forced_collapse_is_said_once_with_what_to_try(real, shipped):
    h, lines = watcher(real, collapsed_copy(shipped))
    h.on_epoch_end(0, {})
    h.on_epoch_end(1, {})
    assert len(lines) == 1, lines
    assert lines[0].startswith("warning: epoch 1: G draws nearly the same image"), lines
    assert "--seed" in lines[0] and "\n" not in lines[0]


def test_a_conditional_generator_collapsed_within_its_classes_is_seen(real):
    g = build_conditional_generator()
    h, lines = watcher(real, collapsed_copy(g))
    h.on_epoch_end(0, {})
    assert len(lines) == 1 and "same image for any noise in every class" in lines[0], lines


def test_one_collapsed_class_is_named_while_the_others_vary():
    """Seen in a Fashion-MNIST run: Sandal and Sneaker each became one image while the other
    classes stayed varied, so the variety of all classes together hid it."""
    x, y = data.load("sample", log=lambda m: None)[:2]
    g = sampling.load_generator(files.shipped("conditional_generator"))
    h, lines = watcher(x[:512], g, real_classes=y[:512])
    h.on_epoch_end(0, {})
    assert lines == []  # the shipped generator is varied in every class
    # A class embedding so large that it drowns the noise: class 3 becomes one image.
    emb = next(layer for layer in g.layers if isinstance(layer, keras.layers.Embedding))
    w = keras.ops.convert_to_numpy(emb.embeddings).copy()
    w[3] = 1e4 * np.sign(np.random.default_rng(0).normal(size=w.shape[1]))
    emb.embeddings.assign(w)
    ratios = h.variety(g)
    assert ratios[3] < 0.05 and min(r for c, r in ratios.items() if c != 3) > 0.5, ratios
    h.on_epoch_end(1, {})
    assert len(lines) == 1 and " in class 3 (its samples vary 0.0" in lines[0], lines


def test_a_healthy_generator_and_an_unsettled_one_say_nothing(real, shipped):
    h, lines = watcher(real, shipped)
    h.on_epoch_end(0, {"d_fake": 0.3, "d_acc": 0.7, "fid": 5.0})
    assert lines == []
    h, lines = watcher(real, collapsed_copy(shipped), steps=10)  # G has barely started
    h.on_epoch_end(0, {"d_fake": 0.0, "d_acc": 1.0})
    assert lines == []


def test_d_winning_outright_is_said_when_it_starts(real, shipped):
    h, lines = watcher(real, shipped)
    for epoch, (d_fake, d_acc) in enumerate([(0.3, 0.8), (0.01, 0.999), (0.02, 1.0)]):
        h.on_epoch_end(epoch, {"d_fake": d_fake, "d_acc": d_acc})
    assert len(lines) == 1 and lines[0].startswith("warning: epoch 2: D wins outright"), lines
    assert "--d-lr" in lines[0]


def test_a_stalled_fid_is_said_after_patience_checks(real, shipped):
    h, lines = watcher(real, shipped, patience=3)
    # Epochs without a check log NaN (--eval-every > 1): they neither count nor reset.
    for epoch, fid in enumerate([30.0, 20.0, float("nan"), 21.0, 22.0, 20.5, 23.0]):
        h.on_epoch_end(epoch, {"fid_train": fid})
    assert len(lines) == 1, lines
    assert lines[0].startswith("warning: epoch 6: FID has not improved for 3 checks (best 20.00")
    h.on_epoch_end(7, {"fid_train": 10.0})  # it improves: said again if it stalls again
    assert len(lines) == 1 and "stalled" not in h.active
