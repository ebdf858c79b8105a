"""`dcgan.sampling` in bounded memory: digits are drawn, written and scored a batch at a time,
and give the same numbers as drawing them all at once (latent walks and grids are also checked
through the CLI in test_generate.py, the writers in test_images.py). Cheap checks (a tiny
generator, small batches), no timing."""

import sys

import numpy as np
import pytest

from dcgan import classifier as classifiers
from dcgan import generate as generate_cli
from dcgan import metrics, sampling
from dcgan.cli import run_cli

from conftest import AliveCounter


class Tiny:
    """A generator-shaped callable (latents (n, 8) -> (n, 28, 28, 1) in [-1, 1]), counting the
    digits of each call. `conditional` adds the digit input."""

    def __init__(self, conditional=False):
        rng = np.random.default_rng(0)
        self.w = rng.normal(size=(8, 784)).astype(np.float32) / 3
        self.conditional = conditional
        self.input_shape = [(None, 8), (None,)] if conditional else (None, 8)
        self.output_shape = (None, 28, 28, 1)
        self.calls = []

    def __call__(self, inputs, training=False):
        z, d = inputs if self.conditional else (inputs, 0)
        z = np.asarray(z, np.float32)
        self.calls.append(len(z))
        out = np.tanh(z @ self.w + np.asarray(d, np.float32).reshape(-1, 1) / 10)
        return out.reshape(-1, 28, 28, 1)


@pytest.mark.parametrize(
    "n, dim, start, stop", [(5, 3, 1, 4), (40, 100, 7, 33), (10, 1, 0, 10), (9, 5, 8, 9)]
)
def test_latent_rows_are_the_rows_of_a_full_draw(n, dim, start, stop):
    full = np.asarray(sampling.latents(n, dim, seed=4), np.float32)
    np.testing.assert_array_equal(sampling.latent_rows(n, dim, 4, start, stop), full[start:stop])
    assert sampling.can_draw_rows_alone()  # this TensorFlow draws rows on their own


def test_where_rows_cannot_be_drawn_alone_a_full_draw_is_sliced(monkeypatch):
    monkeypatch.setattr(sampling, "can_draw_rows_alone", lambda: False)
    sampling.full_draw.cache_clear()
    full = np.asarray(sampling.latents(30, 6, seed=2), np.float32)
    for start, stop in ((0, 7), (7, 14), (28, 30)):
        np.testing.assert_array_equal(sampling.latent_rows(30, 6, 2, start, stop), full[start:stop])
    assert sampling.full_draw.cache_info().misses == 1  # drawn once, not once a batch


def test_batches_are_the_digits_of_one_draw_and_a_prefix_is_the_smaller_draw():
    g = Tiny()
    whole = sampling.generate(g, 50, seed=3, batch_size=50)
    batches = list(sampling.generate_batches(g, 50, seed=3, batch_size=7))
    assert [len(b) for b in batches] == [7] * 7 + [1]
    np.testing.assert_array_equal(np.concatenate(batches), whole)
    np.testing.assert_array_equal(sampling.generate(g, 20, seed=3), whole[:20])
    with pytest.raises(ValueError, match="at least 1"):  # at once, not at the first batch
        sampling.generate_batches(g, 0)


def test_walks_and_class_rows_in_batches_equal_the_whole(monkeypatch):
    g = Tiny(conditional=True)
    z = np.asarray(sampling.latents(2 * 5, 8, seed=2), np.float32)
    t = np.linspace(0, 1, 4, dtype=np.float32)[None, :, None]
    path = ((1 - t) * z[:5, None] + t * z[5:, None]).reshape(20, 8)
    want = sampling.generate(g, 20, z=path, classes=np.repeat(np.arange(5), 4))
    monkeypatch.setattr(sampling, "BATCH", 8)  # two walks of 4 a batch
    walks = list(sampling.interpolate_batches(g, 5, 4, seed=2))
    assert [len(b) for b in walks] == [8, 8, 4]
    np.testing.assert_array_equal(np.concatenate(walks), want)
    np.testing.assert_array_equal(sampling.interpolate(g, 5, 4, seed=2), want.reshape(5, 4, 28, 28))

    zr = np.asarray(sampling.latents(6, 8, seed=1), np.float32)
    rows = np.stack([sampling.generate(g, 6, z=zr, classes=d) for d in range(10)])
    np.testing.assert_array_equal(sampling.class_rows(g, 6, seed=1), rows)


def test_generate_cli_streams_an_npz_in_batches(tmp_path, monkeypatch, capsys):
    """`generate -n` draws and writes a batch at a time: the generator sees batches only, and
    no more than two batches are alive at once."""
    g = Tiny()
    monkeypatch.setattr(sampling, "load_generator", lambda path: g)
    monkeypatch.setattr(sampling, "BATCH", 16)
    counters = []
    real = sampling.generate_batches
    monkeypatch.setattr(
        sampling,
        "generate_batches",
        lambda *a, **k: counters.append(AliveCounter(real(*a, **k))) or counters[-1],
    )
    argv = ["--model", "x.h5", "-n", "100", "--seed", "5", "--out", str(tmp_path / "d.npz")]
    with pytest.raises(SystemExit) as e:
        run_cli(generate_cli.main, argv)
    assert e.value.code == 0, capsys.readouterr().err
    assert g.calls == [16] * 6 + [4]
    assert counters[0].most <= 2
    with np.load(tmp_path / "d.npz") as f:
        np.testing.assert_array_equal(f["images"], sampling.generate(Tiny(), 100, seed=5))


def test_features_are_read_from_batches_without_holding_them():
    classifier = classifiers.load_classifier()
    g = Tiny()
    batches = AliveCounter(sampling.generate_batches(g, 30, seed=1, batch_size=8))
    feats, probs = classifiers.features_and_probs(classifier, batches)
    want_f, want_p = classifiers.features_and_probs(classifier, sampling.generate(g, 30, seed=1))
    np.testing.assert_allclose(feats, want_f, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs, want_p, rtol=1e-5, atol=1e-6)
    assert len(feats) == 30 and batches.most <= 2


def test_distances_are_computed_in_bounded_blocks(monkeypatch):
    """Precision/recall never make a distance block of more than BLOCK_ENTRIES."""
    monkeypatch.setattr(metrics, "BLOCK_ENTRIES", 300)
    seen = []
    real_partition = np.partition
    monkeypatch.setattr(
        np, "partition", lambda d, k, axis: seen.append(d.size) or real_partition(d, k, axis=axis)
    )
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(100, 4)), rng.normal(size=(120, 4))
    got = metrics.precision_recall(a, b, k=3)
    blocks = list(seen)
    monkeypatch.setattr(metrics, "BLOCK_ENTRIES", 1 << 24)
    assert got == metrics.precision_recall(a, b, k=3)
    assert len(blocks) > 2 and max(blocks) <= 300


def test_progress_bar_on_a_terminal_only(capsys, monkeypatch):
    """Long drawing shows Keras's bar on a terminal; a pipe or log file gets the batches alone."""
    batches = [np.zeros((3, 2, 28, 28), np.uint8), np.zeros((1, 2, 28, 28), np.uint8)]
    assert len(list(sampling.with_progress(iter(batches), 8))) == 2
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert len(list(sampling.with_progress(iter(batches), 8))) == 2
    assert "8/8" in capsys.readouterr().out


def test_the_library_takes_a_class_by_its_runs_name(tmp_path):
    """`generate`, `interpolate` and `check_classes` take a class by number or by the name the
    settings of the generator's run give it (a folder run: its subfolders), in any case."""
    import json

    from dcgan.models import build_pair

    names = [f"kind {i}" for i in range(12)]
    (tmp_path / "config.json").write_text(json.dumps({"conditional": True, "train_classes": names}))
    build_pair(conditional=True, classes=12)[0].save(tmp_path / "generator.h5")
    g = sampling.load_generator(tmp_path / "generator.h5")
    assert sampling.class_names(g) == tuple(names)
    np.testing.assert_array_equal(sampling.check_classes(g, "KIND 11", 3), [11, 11, 11])
    np.testing.assert_array_equal(sampling.check_classes(g, ["kind 2", 10, "3"], 3), [2, 10, 3])
    by_name = sampling.generate(g, 4, seed=1, classes="Kind 11")
    np.testing.assert_array_equal(by_name, sampling.generate(g, 4, seed=1, classes=11))
    walk = sampling.interpolate(g, 1, 3, seed=2, class_id="kind 10")
    np.testing.assert_array_equal(walk, sampling.interpolate(g, 1, 3, seed=2, class_id=10))
    for bad in ("kind 12", "12", "cat"):
        with pytest.raises(ValueError, match="is not a class of .*kind 0, kind 1"):
            sampling.check_classes(g, bad, 2)
    # settings that name another number of classes than the generator has are not its own
    (tmp_path / "config.json").write_text(json.dumps({"train_classes": names[:5]}))
    g = sampling.load_generator(tmp_path / "generator.h5")
    assert sampling.class_names(g) is None
    with pytest.raises(ValueError, match="unknown"):
        sampling.check_classes(g, "kind 1", 2)
