"""The conditional GAN: the digit really steers G, each net still moves only in its own update,
the two-input models round-trip, and bad digits end in one line."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import classifier as classifiers
from dcgan import data, metrics, noise, sampling, step_tf, trainset
from dcgan.gan import DCGAN
from dcgan.models import build_pair, is_conditional
from dcgan.training import Config, run

from conftest import assert_moves_only


@pytest.fixture(scope="module")
def real():
    x, y, _ = data.load("sample")
    return trainset.to_float(x[:16]), tf.constant(y[:16], tf.int32)


def make_gan(seed=0):
    keras.utils.set_random_seed(seed)
    gan = DCGAN(*build_pair(conditional=True), seed=seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    return gan


def g_inputs(n, step=0):
    return [
        noise.latent((n, 100), noise.make_seed(9, step)),
        noise.class_ids(n, noise.make_seed(8, step)),
    ]


def seeds(step=0):
    return lambda k: noise.make_seed(0, step, 0, k)


def test_nets_take_the_digit_and_use_builtin_layers_only():
    g, d = build_pair(conditional=True)
    assert is_conditional(g) and is_conditional(d)
    images = g(g_inputs(4))
    assert images.shape == (4, 28, 28, 1)
    assert d([images, tf.constant([0, 1, 2, 3])]).shape == (4, 1)
    for layer in g.layers + d.layers:
        assert type(layer).__module__.startswith("keras."), type(layer)
    # Same noise, another digit: another image (the label reaches G's output).
    z, digits = g_inputs(4)
    assert not np.allclose(g([z, digits]), g([z, (digits + 1) % 10]))


def test_d_update_moves_d_only(real):
    gan = make_gan()
    # Every D weight, the label projection included; G's BatchNormalization statistics do
    # follow the batch G makes for D, as unconditionally.
    assert_moves_only(
        lambda: step_tf.train_discriminator(gan, *real, g_inputs(16), seeds()),
        moves=gan.discriminator.trainable_weights,
        stays=gan.generator.trainable_weights,
    )


def test_g_update_moves_g_only(real):
    gan = make_gan()
    # Every G weight, the label embedding included; no D weight.
    assert_moves_only(
        lambda: step_tf.train_generator(gan, g_inputs(32), seeds()),
        moves=gan.generator.trainable_weights,
        stays=gan.discriminator.weights,
    )
    assert gan.discriminator.trainable


@pytest.mark.parametrize("fault", ["writes D too", "misses a G weight"])
def test_the_g_update_check_catches_a_faulty_update(real, fault):
    gan = make_gan()
    g_weights, d_weights = gan.generator.trainable_weights, gan.discriminator.trainable_weights
    written = g_weights + d_weights if fault == "writes D too" else g_weights[1:]
    y = noise.targets(32, True, seeds()(0))
    faulty = lambda: step_tf.update(gan, gan.adversarial, gan.g_optimizer, g_inputs(32), y, written)
    with pytest.raises(
        AssertionError,
        match="should have stayed" if fault == "writes D too" else "should have moved",
    ):
        assert_moves_only(faulty, moves=g_weights, stays=gan.discriminator.weights)


@pytest.mark.slow  # a conditional fit: ~9 s of the fast path
def test_fit_reads_images_and_digits(real):
    gan = make_gan()
    x, y = real
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8, drop_remainder=True)
    logs = gan.fit(ds, epochs=1, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss", "d_acc", "d_real", "d_fake"}
    assert all(np.isfinite(v[0]) for v in logs.values())


def test_dataset_yields_each_image_with_its_own_label():
    x, y, _ = data.load("sample")
    images, labels = next(iter(trainset.make_dataset(x, 64, seed=1, class_ids=y)))
    assert labels.dtype == tf.int32 and images.shape == (64, 28, 28, 1)
    lookup = {xi.tobytes(): yi for xi, yi in zip(x, y)}
    back = sampling.to_uint8(images.numpy())
    assert [lookup[b.tobytes()] for b in back] == list(labels.numpy())


def test_generate_draws_the_digits_asked_for():
    g, _ = build_pair(conditional=True)
    assert sampling.generate(g, 5, seed=1, classes=7).shape == (5, 28, 28)
    np.testing.assert_array_equal(sampling.check_classes(g, None, 12), np.arange(12) % 10)
    rows = sampling.class_rows(g, 3, seed=2)
    assert rows.shape == (10, 3, 28, 28)
    # Row d is the digit d drawn from the same latent vectors as every other row.
    z = np.asarray(sampling.latents(3, 100, 2), np.float32)
    np.testing.assert_array_equal(rows[4], sampling.generate(g, 3, z=z, classes=4))
    for bad in (10, -1, 2.5):
        with pytest.raises(Exception, match="digits must be whole numbers 0-9"):
            sampling.generate(g, 2, classes=bad)
    unconditional, _ = build_pair()
    with pytest.raises(Exception, match="does not take a digit"):
        sampling.generate(unconditional, 2, classes=3)


@pytest.mark.slow
def test_short_training_makes_the_label_steer_the_digit(tmp_path):
    """300 steps of batch 64 on the bundled sample: the classifier reads the digit asked for far
    more often than the 10% of chance (measured ~0.5 at this budget; a G that ignores the label
    scores 0.10)."""
    out = run(
        Config(
            conditional=True,
            data="sample",
            epochs=3,
            steps_per_epoch=100,
            batch_size=64,
            out=str(tmp_path / "run"),
        ),
        verbose=0,
        log=lambda m: None,
    )
    g = sampling.load_generator(out / "generator.h5")
    classifier = classifiers.load_classifier()
    test, test_y, _ = data.load("sample", "test")
    ref = metrics.real_features(classifier, test, classes=test_y)
    scores = metrics.evaluate_generator(g, classifier, ref, n=1000, seed=0)
    assert scores["agreement"] > 0.3, scores["per_class"]
    untrained = metrics.evaluate_generator(build_pair(conditional=True)[0], classifier, ref, n=1000)
    assert untrained["agreement"] < 0.2
    assert len(scores["per_class"]) == 10 and all(
        np.isfinite(r["fid"]) for r in scores["per_class"]
    )


@pytest.mark.slow
def test_generate_cli_digit_and_rows(tiny_conditional_run, tmp_path, python_cli):
    model = tiny_conditional_run / "generator.h5"

    def generate(*args):
        return python_cli("-m", "dcgan.generate", "--model", model, *args, cwd=tmp_path)

    proc = generate("--digit", 7, "-n", 16, "--seed", 1, "--out", tmp_path / "7.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "7.npz") as f:
        assert f["images"].shape == (16, 28, 28) and set(f["digits"]) == {7}
    proc = generate("--digit", "all", "-n", 4, "--out", tmp_path / "rows.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "rows.npz") as f:
        assert f["images"].shape == (10, 4, 28, 28)
        np.testing.assert_array_equal(f["digits"][:, 0], np.arange(10))


@pytest.mark.slow
@pytest.mark.parametrize("digit", ["10", "-1", "x"])
def test_generate_cli_rejects_bad_digits(tiny_conditional_run, tmp_path, digit, python_cli):
    out = tmp_path / "out"
    out.mkdir()
    proc = python_cli(
        "-m",
        "dcgan.generate",
        "--model",
        tiny_conditional_run / "generator.h5",
        "--digit",
        digit,
        "--out",
        out / "x.png",
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --digit") and "0-9" in lines[0], (
        proc.stderr
    )
    assert not list(out.iterdir())


@pytest.mark.slow
def test_generate_cli_digit_needs_a_conditional_model(tiny_run, tmp_path, python_cli):
    proc = python_cli(
        "-m",
        "dcgan.generate",
        "--model",
        tiny_run / "generator.h5",
        "--digit",
        3,
        "--out",
        tmp_path / "x.png",
        cwd=tmp_path,
    )
    assert (
        proc.returncode == 2 and "--conditional" in proc.stderr and "Traceback" not in proc.stderr
    )


@pytest.mark.slow
def test_evaluate_reports_agreement_per_digit(tiny_conditional_run, tmp_path, python_cli):
    args = [
        "--model",
        tiny_conditional_run / "generator.h5",
        "-n",
        200,
        "--data",
        "sample",
        "--json",
        tmp_path / "s.json",
    ]
    proc = python_cli("-m", "dcgan.evaluate", *args)
    assert proc.returncode == 0, proc.stderr
    assert "agreement" in proc.stdout
    import json

    scores = json.loads((tmp_path / "s.json").read_text())
    per_class = scores["generated"]["per_class"]
    assert [r["digit"] for r in per_class] == list(range(10)) and all(
        r["n"] == 20 for r in per_class
    )
    # Real digits with their true labels: the classifier agrees almost always.
    assert scores["real"]["agreement"] > 0.95


def test_a_thousand_class_run_draws_bounded_grids_and_its_gif(tmp_path):
    """The sample grid of a run with many classes shows MAX_ROWS of them, spread over all;
    grids too large for a GIF frame (drawn before the bound) are left out of progress.gif."""
    from types import SimpleNamespace

    import matplotlib.image
    from PIL import Image

    from dcgan import callbacks

    g = build_pair(conditional=True, classes=1000)[0]
    assert sampling.spread_classes(g, 10) == [0, 111, 222, 333, 444, 555, 666, 777, 888, 999]
    assert sampling.spread_classes(build_pair(conditional=True, classes=7)[0], 10) == list(range(7))
    grids = callbacks.SampleGrid(tmp_path, 1, seed=0)
    grids.set_model(SimpleNamespace(generator=g, conditional=True, latent_dim=100))
    grids.on_train_begin()
    (tmp_path / "samples" / "epoch_0001.png").parent.mkdir(exist_ok=True)
    Image.new("L", (70_000, 4)).save(tmp_path / "samples" / "epoch_0001.png")  # an old giant
    grids.on_epoch_end(1)
    grids.on_train_end()
    png = matplotlib.image.imread(tmp_path / "samples" / "epoch_0002.png")
    side = (8 * (28 + 2) + 2) * 3
    assert png.shape[:2] == ((10 * (28 + 2) + 2) * 3, side)  # 10 rows of 8
    with Image.open(tmp_path / "progress.gif") as gif:
        assert gif.n_frames == 1 and gif.size == (side, png.shape[0])
    # any of the classes by number, one row each, in the order asked
    rows = sampling.class_rows(g, 2, seed=1, classes=[999, 10])
    np.testing.assert_array_equal(rows[0], sampling.generate(g, 2, seed=1, classes=999))
    np.testing.assert_array_equal(rows[1], sampling.generate(g, 2, seed=1, classes=10))
    with pytest.raises(ValueError, match="0-999"):
        sampling.class_rows(g, 2, classes=[1000])
