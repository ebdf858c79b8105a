"""What --data names becomes one kind of train set (`dcgan.trainset`): digits in memory or a folder
streamed from disk, with the same names for their classes and the same pipeline of batches."""

import hashlib

import numpy as np
from PIL import Image
import pytest

from dcgan import data, datasets, trainset


@pytest.fixture
def digits():
    x, y, _ = data.load("sample")
    return x[:50], y[:50]


@pytest.fixture
def pets(tmp_path):
    """Ten pictures of noise, each its own size: five dark ones in cats/, five bright in dogs/."""
    rng = np.random.default_rng(0)
    for i in range(10):
        cls, low = ("cats", 0) if i < 5 else ("dogs", 156)
        (tmp_path / "pets" / cls).mkdir(parents=True, exist_ok=True)
        picture = rng.integers(low, low + 100, (20 + i, 30, 3), dtype=np.uint8)
        Image.fromarray(picture).save(tmp_path / "pets" / cls / f"{i}.png")
    return tmp_path / "pets"


def test_both_train_sets_name_each_images_class_alike(pets, digits):
    own = trainset.load(str(pets))
    assert isinstance(own, trainset.ImageFolder) and own.classes == ("cats", "dogs")
    assert own.class_ids.tolist() == [0] * 5 + [1] * 5
    images, ids = own.sample(6, seed=1, with_classes=True)
    assert images.shape == (6, 28, 28) and ids.tolist() == (images.mean((1, 2)) > 127).tolist()
    arrays = trainset.load("sample")
    x, y, _ = data.load("sample")
    assert isinstance(arrays, trainset.Arrays) and arrays.classes is None
    np.testing.assert_array_equal(arrays.class_ids, y)
    images, ids = arrays.sample(6, seed=1, with_classes=True)
    pick = np.sort(np.random.default_rng(1).permutation(len(x))[:6])
    np.testing.assert_array_equal(images, x[pick])
    np.testing.assert_array_equal(ids, y[pick])


def test_batches_are_reshuffled_each_epoch_from_the_seed_and_skip_decodes_nothing(pets):
    train = trainset.load(str(pets))

    def order(seed, skip=0, n=4):
        ds = train.dataset(5, seed=seed, repeat=True, with_classes=True, skip=skip)
        return [b[0].numpy() for b in ds.take(n)]

    first = order(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, order(0)))  # the same seed, the same
    assert not np.array_equal(first[0], first[2])  # each epoch (2 batches) in a new order
    assert all(np.array_equal(a, b) for a, b in zip(first[2:], order(0, skip=2, n=2)))


def test_arrays_keep_the_digest_and_the_batches_of_runs_before_folders():
    x, y, source = data.load("sample")
    arrays = trainset.load("sample")
    assert arrays.source == source
    # Runs from before folders stored this fingerprint, and their batches: both unchanged.
    assert arrays.digest == hashlib.sha256(np.ascontiguousarray(x).data).hexdigest()[:16]
    old = trainset.make_dataset(x, 32, seed=3, repeat=True, class_ids=y).skip(5)
    new = arrays.dataset(32, seed=3, repeat=True, with_classes=True, skip=5)
    for (a, b), (c, d) in zip(old.take(2), new.take(2)):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_idx_folders_stay_idx_folders(tmp_path):
    x, y, _ = data.load("sample")
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (20, 28, 28))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header + x[:20].tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1]) + (20).to_bytes(4, "big") + y[:20].astype(np.uint8).tobytes()
    )
    assert not datasets.is_image_folder(str(tmp_path))
    assert isinstance(trainset.load(str(tmp_path)), trainset.Arrays)


@pytest.mark.parametrize("ext", ["png", "JPG"])
def test_an_image_file_is_not_a_data_set(ext, tmp_path):
    one = tmp_path / "pics" / f"cat.{ext}"
    one.parent.mkdir()
    Image.new("RGB", (20, 20)).save(one, format="PNG" if ext == "png" else "JPEG")
    with pytest.raises(ValueError, match="is an image file, not a data set: pass --data the fol"):
        trainset.load(str(one))


def test_pipeline_scales_batches_and_drops_remainder(digits):
    x, _ = digits
    batches = list(trainset.make_dataset(x, 16, seed=0))
    assert len(batches) == 3  # 50 // 16, remainder dropped
    b = np.concatenate([np.asarray(t) for t in batches])
    assert b.shape == (48, 28, 28, 1) and b.dtype == np.float32
    assert b.min() >= -1 and b.max() <= 1 and b.min() == -1 and b.max() == 1
    # Shuffled: not the first 48 in order.
    assert not np.allclose(b[..., 0], (x[:48] - 127.5) / 127.5)


def test_to_shape_resizes_and_adds_colour():
    x = np.zeros((3, 28, 28), np.uint8)
    x[:, 8:20, 8:20] = 255  # a square in the middle
    y = np.asarray(trainset.to_shape(x, 64, 3))
    assert y.shape == (3, 64, 64, 3) and y.dtype == np.uint8
    assert np.array_equal(y[..., 0], y[..., 2])  # grey in three channels
    assert y[0, 32, 32, 0] == 255 and y[0, 2, 2, 0] == 0  # the square is where it was
    assert abs(y.mean() / 255 - x.mean() / 255) < 0.01
    grey = np.asarray(trainset.to_shape(y, 32, 1))  # colour back to grey, and smaller
    assert grey.shape == (3, 32, 32, 1) and grey[0, 16, 16, 0] == 255
    same = np.asarray(trainset.to_shape(x[..., None], 28, 1))
    assert np.array_equal(same, x[..., None])  # nothing to do: as it was
    assert trainset.shape_note((28, 28), (32, 32, 3)) == (
        "28x28x1 resized to 32x32, grey copied to 3 channels"
    )
    assert trainset.shape_note((28, 28), (28, 28, 1)) == ""


def test_dataset_converts_batches_only_for_another_shape():
    x = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    plain = [np.asarray(b) for b in trainset.make_dataset(x, 8, seed=3)]
    default = [np.asarray(b) for b in trainset.make_dataset(x, 8, seed=3, image_shape=(28, 28, 1))]
    # the 28x28x1 path is the one from before sizes: the same batches, bit for bit
    assert all(np.array_equal(a, b) for a, b in zip(plain, default)) and len(plain) == 5
    big = [np.asarray(b) for b in trainset.make_dataset(x, 8, seed=3, image_shape=(32, 32, 3))]
    assert big[0].shape == (8, 32, 32, 3) and big[0].dtype == np.float32
    assert -1 <= min(b.min() for b in big) and max(b.max() for b in big) <= 1
    # the same images in the same order, each converted
    want = np.asarray(
        trainset.to_float(trainset.to_shape((plain[0] * 127.5 + 127.5).round(), 32, 3))
    )
    np.testing.assert_allclose(big[0], want, atol=1e-6)
    colour = np.zeros((16, 32, 32, 3), np.uint8)  # (n, h, w, c) taken as it is
    assert np.asarray(next(iter(trainset.make_dataset(colour, 4)))).shape == (4, 32, 32, 3)
