"""`dcgan.images`: an .npz written a batch at a time, equal to one written at once, and never
half written; a PNG grid bounded (grids of any shape: test_sizes.py; through the CLI:
test_generate.py)."""

import numpy as np
import pytest

from dcgan import files, images
from dcgan import generate as generate_cli

from conftest import AliveCounter


def test_streamed_npz_reads_back_equal_to_the_in_memory_result(tmp_path):
    want = np.random.default_rng(9).integers(0, 256, (45, 28, 28), dtype=np.uint8)
    digits = np.arange(45) % 10
    batches = AliveCounter(want[i : i + 4].copy() for i in range(0, 45, 4))
    images.save_images(batches, tmp_path / "s.npz", seed=9, classes=digits, shape=(45, 28, 28))
    np.savez_compressed(tmp_path / "m.npz", images=want, digits=digits.astype(np.uint8), seed=9)
    with np.load(tmp_path / "s.npz", allow_pickle=False) as s, np.load(tmp_path / "m.npz") as m:
        assert s.files == m.files == ["images", "digits", "seed"]
        for name in s.files:
            np.testing.assert_array_equal(s[name], m[name])
            assert s[name].dtype == m[name].dtype and s[name].shape == m[name].shape
    assert batches.most <= 2, "the writer kept earlier batches"  # the current one and the last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "s.npz"]


def test_a_writer_given_too_few_or_too_many_digits_writes_nothing(tmp_path):
    for count in (3, 5):
        with pytest.raises(ValueError, match="pixels than"):
            images.write_npz(tmp_path / "x.npz", [np.zeros((count, 28, 28), np.uint8)], (4, 28, 28))
    assert not list(tmp_path.iterdir())


def test_png_grid_refuses_more_than_it_can_draw(tmp_path):
    with pytest.raises(ValueError, match="too many for one PNG grid.*npz"):
        images.save_grid(np.zeros((files.MAX_GRID + 1, 28, 28), np.uint8), tmp_path / "g.png")
    assert not list(tmp_path.iterdir())
    assert generate_cli.MAX_GRID == files.MAX_GRID
