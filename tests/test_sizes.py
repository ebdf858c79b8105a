"""Sizes beyond 28 (`--image-size 28|32|64`, `--channels 1|3`): the nets grow by the DCGAN rule
and 28x28x1 stays the reference's; data is converted to the run's shape; everything that draws
takes any generator's shape; what scores with the MNIST classifier refuses other shapes in one
line. The training runs (marked slow) train, save and load in plain Keras."""

import dataclasses
import json

import keras
import numpy as np
from PIL import Image
import pytest

from dcgan import evaluate as evaluate_cli
from dcgan import images, models, sampling
from dcgan.cli import run_cli
from dcgan.settings import Config

from conftest import run_python

SHAPES = [(32, 32, 1), (32, 32, 3), (64, 64, 1), (64, 64, 3)]
IDS = ["32x1", "32x3", "64x1", "64x3"]


def blocks(net, kind):
    """[(filters, strides, kernel, padding, output side)] of the `kind` layers of a net."""
    return [
        (layer.filters, layer.strides[0], layer.kernel_size, layer.padding, layer.output.shape[1])
        for layer in net.layers
        if type(layer) is kind
    ]


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_nets_grow_by_the_dcgan_rule(shape):
    """One more stride-2 block per doubling, the reference's kernel, padding and widths pattern:
    G doubles its side from a base of at most 8 while halving widths down to 64, then the
    reference's stride-1 32-filter block and a tanh output of `channels` filters; D halves its
    side with doubling widths from 64 until it is 4, then one stride-1 block of twice the last
    width."""
    side, _, channels = shape
    g, d = models.build_pair(image_shape=shape)
    assert g.input_shape == (None, 100) and g.output_shape == (None, *shape)
    assert d.input_shape == (None, *shape) and d.output_shape == (None, 1)

    doublings = {32: 2, 64: 3}[side]
    base = side >> doublings
    widths = [64 * 2**i for i in reversed(range(doublings))]
    dense = g.layers[0]
    assert dense.units == base * base * 2 * widths[0] and g.layers[3].target_shape == (
        base,
        base,
        2 * widths[0],
    )
    deconv = blocks(g, keras.layers.Conv2DTranspose)
    assert deconv == [
        *((w, 2, (3, 3), "same", base * 2 ** (i + 1)) for i, w in enumerate(widths)),
        (32, 1, (3, 3), "same", side),
        (channels, 1, (3, 3), "same", side),
    ]
    kinds = [type(layer).__name__ for layer in g.layers]
    assert kinds == ["Dense", "BatchNormalization", "ReLU", "Reshape"] + [
        "Conv2DTranspose",
        "BatchNormalization",
        "ReLU",
    ] * (doublings + 1) + ["Conv2DTranspose", "Activation"]
    reference = blocks(models.build_generator(), keras.layers.Conv2DTranspose)
    assert [b[:2] for b in deconv[-4:]] == [b[:2] for b in reference[-4:]][:3] + [(channels, 1)]

    conv = blocks(d, keras.layers.Conv2D)
    halvings = {32: 3, 64: 4}[side]
    assert conv == [
        *((64 * 2**i, 2, (3, 3), "same", side >> (i + 1)) for i in range(halvings)),
        (64 * 2**halvings, 1, (3, 3), "same", 4),
    ]
    assert [type(layer).__name__ for layer in d.layers] == [
        "Conv2D",
        "LeakyReLU",
        "Dropout",
    ] * (halvings + 1) + ["Flatten", "Dense", "Activation"]
    # what the 28x28 reference has, the larger D starts with
    ref_d = blocks(models.build_discriminator(), keras.layers.Conv2D)
    assert [b[:4] for b in conv[:3]] == [b[:4] for b in ref_d[:3]]


def test_the_28x28x1_nets_are_the_reference():
    """Asking for the default shape builds the reference's nets, layer for layer."""

    def layers(net):
        return [(type(x).__name__, tuple(x.output.shape[1:]), x.count_params()) for x in net.layers]

    for arch in ("dcgan", "mlp"):
        for given, default in zip(
            models.build_pair(arch, image_shape=(28, 28, 1)), models.build_pair(arch)
        ):
            assert layers(given) == layers(default)
    assert models.generator_plan() == (7, 256, [128, 64])
    assert models.discriminator_plan() == [(64, 2), (128, 2), (256, 2), (512, 1)]


@pytest.mark.parametrize("shape", [(64, 64, 3), (32, 32, 1)], ids=["64x3", "32x1"])
def test_every_kind_of_net_takes_the_shape(shape):
    g, d = models.build_pair(conditional=True, fast=True, image_shape=shape)
    assert g.output_shape == (None, *shape) and d.input_shape[0] == (None, *shape)
    x = np.asarray(g([np.zeros((2, 100), "float32"), np.arange(2)], training=False))
    assert x.shape == (2, *shape) and d([x, np.arange(2)]).shape == (2, 1)
    plain = models.export(g)  # what a run saves: built-in layers only
    assert all(type(layer).__module__.startswith("keras") for layer in plain._flatten_layers())
    g, d = models.build_pair("mlp", image_shape=shape)
    assert g.output_shape == (None, *shape) and d.input_shape == (None, *shape)


@pytest.mark.parametrize("shape", [(48, 48, 1), (32, 32, 2), (28, 32, 1), (28, 28)])
def test_other_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="--image-size, --channels"):
        models.build_pair(image_shape=shape)


def test_old_runs_read_as_28x28x1(tmp_path):
    saved = dataclasses.asdict(Config())
    del saved["image_size"], saved["channels"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    cfg = Config.of_run(tmp_path)
    assert (cfg.image_size, cfg.channels, cfg.image_shape) == (28, 1, (28, 28, 1))


@pytest.fixture(scope="module")
def colour_generator(tmp_path_factory):
    """An untrained 32x32x3 generator, saved as a run saves it and loaded back."""
    path = tmp_path_factory.mktemp("colour") / "generator.h5"
    keras.utils.set_random_seed(0)
    models.build_generator(image_shape=(32, 32, 3)).save(path)
    return sampling.load_generator(path)


def test_sampling_draws_any_shape(colour_generator, tmp_path):
    g = colour_generator
    assert sampling.image_shape(g) == (32, 32, 3)
    x = sampling.generate(g, 5, seed=1)
    assert x.shape == (5, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(sampling.generate(g, 3, seed=1), x[:3])  # the first k of n
    walks = sampling.interpolate(g, 2, 4, seed=1)
    assert walks.shape == (2, 4, 32, 32, 3)
    assert images.grid(x, cols=5).shape == (2 + 34, 2 + 5 * 34, 3)
    assert sampling.to_uint8(np.zeros((2, 64, 64, 1))).shape == (2, 64, 64)
    assert sampling.to_uint8(np.zeros((2, 64, 64, 3))).shape == (2, 64, 64, 3)

    png = images.save_images(walks, tmp_path / "walks.png", cols=4)
    rgb = np.asarray(Image.open(png).convert("RGB"))
    assert rgb.shape == (3 * (2 + 2 * 34), 3 * (2 + 4 * 34), 3)
    # the pixels are the images': a colour image, scaled 3x, in the first cell
    np.testing.assert_array_equal(rgb[6 : 6 + 96 : 3, 6 : 6 + 96 : 3], walks[0, 0])
    npz = images.save_images(
        sampling.generate_batches(g, 7, seed=2, batch_size=3),
        tmp_path / "x.npz",
        seed=2,
        shape=(7, 32, 32, 3),
    )
    with np.load(npz) as f:
        assert f["images"].shape == (7, 32, 32, 3)
        np.testing.assert_array_equal(f["images"], sampling.generate(g, 7, seed=2))


def test_conditional_rows_of_any_shape():
    g = models.build_conditional_generator(image_shape=(64, 64, 1))
    rows = sampling.class_rows(g, 2, seed=0)
    assert rows.shape == (10, 2, 64, 64) and sampling.image_shape(g) == (64, 64)


def test_load_generator_refuses_what_is_not_a_generator(tmp_path):
    d = models.build_discriminator(image_shape=(64, 64, 3))
    d.save(tmp_path / "d.h5")
    odd = keras.Sequential(
        [keras.Input((100,)), keras.layers.Dense(48 * 48), keras.layers.Reshape((48, 48, 1))]
    )
    odd.save(tmp_path / "odd.h5")
    for name in ("d.h5", "odd.h5"):
        with pytest.raises(ValueError, match="is it a discriminator") as e:
            sampling.load_generator(tmp_path / name)
        assert "\n" not in str(e.value)


def test_scores_refuse_other_shapes(colour_generator, tmp_path, capsys):
    """The classifiers read 28x28x1 images: `evaluate` of a generator of another shape against
    MNIST says so in one line (exit 2); a run of another shape trains on without FID, in one
    note."""
    from dcgan import training

    path = tmp_path / "generator.h5"
    models.build_generator(image_shape=(32, 32, 3)).save(path)
    with pytest.raises(SystemExit) as e:
        run_cli(evaluate_cli.main, ["--model", str(path), "--data", "sample", "-n", "10"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "32x32x3" in err and "--image-size 28 --channels 1" in err
    notes = []
    cfg = Config(image_size=64, eval_every=1, data="sample")
    assert training.prepare_evaluation(cfg, None, None, log=notes.append) is None
    assert len(notes) == 1 and "64x64x1" in notes[0] and "without FID" in notes[0], notes


def test_demo_draws_any_generator(colour_generator):
    from dcgan import demo_draw as demo_cli

    entry = demo_cli.Models.of("yours", colour_generator, models.build_conditional_generator())
    demo = demo_cli.Demo(entry)
    grid, walk, row, message = demo.show("any", 1, 2)
    side = demo_cli.grid_side(32)
    assert grid.shape == (side, side, 3) and walk.shape[2] == 3 and "Seed 1" in message
    assert row.ndim == 2  # the conditional generator's digits: 28x28 grey
    grid, walk, row, _ = demo.show("7", 1, 2)
    assert grid.shape == (demo_cli.grid_side(28),) * 2
    assert demo.image_side == 32 and demo_cli.scale_for(64) == 1 and demo_cli.scale_for(28) == 2


# A fresh interpreter that never imports dcgan: what a user of the saved files has.
LOAD_PLAIN = """
import sys
from pathlib import Path
import keras
run = Path(sys.argv[1])
for name in ("generator.h5", "generator.keras", "discriminator.h5", "generator_ema.h5"):
    m = keras.models.load_model(run / name, compile=False)
    print(name, tuple(m.input_shape[1:]), tuple(m.output_shape[1:]))
assert not any(k.startswith("dcgan") for k in sys.modules), "dcgan was imported"
"""


@pytest.mark.slow
@pytest.mark.parametrize("size, channels", [(32, 3), (64, 1)], ids=["32x3", "64x1"])
def test_a_run_of_another_size_trains_saves_and_loads_in_plain_keras(size, channels, tmp_path):
    run = tmp_path / "run"
    args = "--epochs 1 --steps-per-epoch 2 --batch-size 16 --data sample --quiet --jit-compile off"
    proc = run_python(
        "-m",
        "dcgan.train",
        "--image-size",
        size,
        "--channels",
        channels,
        *args.split(),
        "--out",
        run,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dcgan.generate --model" in proc.stdout and "dcgan.evaluate" not in proc.stdout
    shape = (size, size, channels)
    summary = (run / "summary.txt").read_text()
    assert f"images         {size}x{size}x{channels} (28x28x1 resized to {size}x{size}" in summary
    config = json.loads((run / "config.json").read_text())
    assert (config["image_size"], config["channels"]) == (size, channels)
    assert (run / "samples" / "epoch_0001.png").exists() and (run / "progress.gif").exists()

    plain = run_python("-c", LOAD_PLAIN, run)
    assert plain.returncode == 0, plain.stderr
    assert f"generator.h5 (100,) {shape}" in plain.stdout
    assert f"generator.keras (100,) {shape}" in plain.stdout
    assert f"discriminator.h5 {shape} (1,)" in plain.stdout

    out = tmp_path / "grid.png"
    proc = run_python(
        "-m", "dcgan.generate", "--model", run / "generator.h5", "-n", 4, "--out", out
    )
    assert proc.returncode == 0, proc.stderr
    image = Image.open(out)
    assert image.size == (3 * (2 + 2 * (size + 2)),) * 2
    pixels = np.asarray(image.convert("RGB"))
    if channels == 3:  # an untrained net's colours differ between channels
        assert not np.array_equal(pixels[..., 0], pixels[..., 1])
    npz = tmp_path / "x.npz"
    proc = run_python(
        "-m", "dcgan.generate", "--model", run / "generator.h5", "-n", 5, "--out", npz
    )
    assert proc.returncode == 0, proc.stderr
    assert f"({size}x{size}x{channels} images)" in proc.stdout
    with np.load(npz) as f:
        want = (5, size, size, 3) if channels == 3 else (5, size, size)
        assert f["images"].shape == want and f["images"].dtype == np.uint8
