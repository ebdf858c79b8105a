"""Where the digits (or clothes) come from: Keras's loader, a `.npz`, an IDX folder or the
bundled sample, read by `dcgan.readers` and checked in content here, since a file of the right
shape can still hold NaNs, one-hot labels or strings.

Everything ends as uint8 arrays (n, 28, 28); `dcgan.trainset` streams them to training.
"""

import math
import os
from pathlib import Path

import keras
import numpy as np

from dcgan.files import ENV, NUM_CLASSES
from dcgan.readers import read_idx, read_npz

ENV_VAR = ENV["data"]
SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")
# Where Debian's dataset-fashion-mnist package puts its IDX files.
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)
FIX = (
    "pass --data a Keras-format .npz (x_train, y_train, x_test, y_test) or a folder of "
    "MNIST IDX files"
)


# (source, Keras's loader) -> why it could not be downloaded, for the rest of the process.
_UNREACHABLE = {}


def download_failure(e, longest=200):
    """Why Keras's download failed, in one line: the cause Keras puts after its URL (as in
    "URL fetch failure on URL: None -- [Errno -2] Name or service not known"), cut at a word
    boundary where it is longer than `longest`, never mid-word."""
    text = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    text = text.rsplit(" -- ", 1)[-1].strip() or text
    if len(text) > longest:
        text = text[:longest].rsplit(" ", 1)[0] + " ..."
    return text


def load(source=None, split="train", log=print):
    """Returns (images uint8 (n, 28, 28), labels (n,) whole numbers 0..255, description).

    source: None (then $DCGAN_DATA, then Keras's MNIST, then the bundled sample), "mnist",
    "fashion_mnist", "sample", a `.npz` path or a folder of IDX files.
    Raises FileNotFoundError (no such data) or ValueError (data that is not MNIST-shaped, or
    wrong in content: see `_check`), one line naming the file and the problem.
    """
    from_env = not source and bool(os.environ.get(ENV_VAR))
    explicit = bool(source) or from_env  # named, not the default
    source = source or os.environ.get(ENV_VAR) or "mnist"
    if source == "sample":
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    if source in ("mnist", "fashion_mnist"):
        loader = getattr(keras.datasets, source).load_data
        first = (source, loader) not in _UNREACHABLE
        reason = _UNREACHABLE.get((source, loader))
        if first:  # a command loads both splits, and more than once: one download attempt
            try:
                (xtr, ytr), (xte, yte) = loader()
                return (xtr, ytr, source) if split == "train" else (xte, yte, source)
            except Exception as e:  # no network, a broken cache: both mean "not here"
                reason = _UNREACHABLE[source, loader] = download_failure(e)
        if source == "fashion_mnist":
            for d in FASHION_DIRS:
                if Path(d).is_dir():
                    return (*_read_idx_dir(Path(d), split, log), f"fashion_mnist ({d})")
            raise FileNotFoundError(
                f"Fashion-MNIST could not be downloaded ({reason}); "
                "install dataset-fashion-mnist or pass --data a folder of its IDX files"
            )
        if explicit:  # asked for by name: never another set in its place
            where = f"${ENV_VAR}=mnist" if from_env else "--data mnist"
            raise FileNotFoundError(
                f"MNIST could not be downloaded ({reason}), and {where} asks for it by name: "
                "download it once where there is a network (Keras keeps it in "
                "~/.keras/datasets), pass --data a local mnist.npz, or --data sample for the "
                "bundled 4,000 digits"
            )
        if first:
            log(
                f"MNIST could not be downloaded ({reason}); using the bundled sample of 4,000 "
                f"digits (set --data or ${ENV_VAR} to a local mnist.npz for the full set)"
            )
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    path = Path(source).expanduser()
    if path.is_dir():
        return (*_read_idx_dir(path, split, log), str(path))
    if not path.exists():
        where = f" (from ${ENV_VAR})" if from_env else ""
        raise FileNotFoundError(
            f"data {source!r}{where} not found: {FIX}, or use mnist, fashion_mnist or sample"
        )
    if not path.is_file():  # a pipe or a device would hang or never end
        raise ValueError(f"data {source!r} is not a regular file or folder: {FIX}")
    return (*_read_npz(path, split, log), str(path))


def _check(x, y, where, labels_where=None, log=print):
    """Images and labels checked in content as well as shape: (uint8 (n, 28, 28), int64 (n,)).

    Pixels: uint8, other integers in 0..255, or floats (no NaN or infinity) either all in [0, 1]
    (then scaled by 255 and rounded, and said so through `log`) or all whole numbers in [0, 255].
    Labels: one whole number 0..255 per image (a class number, not one-hot).
    """
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{where} holds images of shape {x.shape}, expected (n, 28, 28): {FIX}")
    if len(x) == 0:
        raise ValueError(f"{where} holds no images: {FIX}")
    x = _pixels(x, where, log)
    y = np.zeros(len(x), np.int64) if y is None else _labels(y, len(x), labels_where or where)
    return x, y


def _kind(dtype):
    """What a dtype holds, in words, for one that is not plain numbers."""
    return {
        "b": "booleans",
        "c": "complex numbers",
        "U": "strings",
        "S": "byte strings",
        "O": "Python objects",
        "V": "structured records",
        "M": "dates",
        "m": "time spans",
    }.get(dtype.kind, f"{dtype} values")


def _pixels(x, where, log):
    if x.dtype == np.uint8:
        return x
    rule = (
        "pixels must be uint8 0..255, or floats all in [0, 1] (scaled by 255) or all whole "
        "numbers in [0, 255]"
    )
    if x.dtype.kind not in "uif":
        raise ValueError(f"{where} holds {_kind(x.dtype)} ({x.dtype}), not pixels: {rule}")
    if x.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad:
            raise ValueError(
                f"{where} has {bad:,} NaN or infinite pixels: fix or drop those images; {rule}"
            )
    lo, hi = x.min(), x.max()
    if lo < 0 or hi > 255:
        raise ValueError(f"{where} has pixels from {lo:g} to {hi:g}, outside 0..255: {rule}")
    if x.dtype.kind in "ui":
        return x.astype(np.uint8)  # exact: every value is 0..255
    if hi <= 1:
        log(f"{where}: float pixels in [0, 1] read as 0..255 (times 255, rounded to uint8)")
        return np.round(x * np.float32(255)).astype(np.uint8)
    whole = np.equal(np.mod(x, 1), 0)
    if not whole.all():
        example = x[~whole].flat[0]
        raise ValueError(
            f"{where} has float pixels up to {hi:g} that are not whole numbers (such as "
            f"{example:g}): {rule}"
        )
    log(f"{where}: float pixels are whole numbers 0..255, read as uint8")
    return x.astype(np.uint8)


def _labels(y, n, where):
    y = np.asarray(y)
    fix = "store one class number 0..255 per image (the digit 0-9 for MNIST), as integers"
    if y.ndim == 0:
        raise ValueError(f"{where} holds a single label, not one per image: {fix}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[0] == n:
        raise ValueError(
            f"{where} holds labels of shape {y.shape}, one-hot or scores rather than one class "
            f"per image: {fix} (for one-hot labels, y.argmax(1))"
        )
    elif y.ndim != 1:
        raise ValueError(f"{where} holds labels of shape {y.shape}, expected ({n},): {fix}")
    if len(y) != n:
        raise ValueError(f"{where} has {n} images but {len(y)} labels: {FIX}")
    if y.dtype.kind not in "uif":
        raise ValueError(f"{where} holds labels that are {_kind(y.dtype)} ({y.dtype}): {fix}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (np.mod(y, 1) != 0)
        if bad.any():
            raise ValueError(
                f"{where} holds float labels that are not whole numbers (such as "
                f"{y[bad][0]:g}): {fix}"
            )
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 255:
        raise ValueError(f"{where} holds labels from {lo:g} to {hi:g}, outside 0..255: {fix}")
    return y.astype(np.int64)


def _read_npz(path, split, log=print):
    key = f"x_{split}"
    arrays, names = read_npz(path, (key, f"y_{split}"), FIX)
    if arrays[key] is None:
        raise ValueError(f"{path} has no {key!r} array (has {', '.join(names) or 'none'}): {FIX}")
    return _check(
        arrays[key], arrays[f"y_{split}"], f"{path}: {key!r}", f"{path}: 'y_{split}'", log
    )


def load_images(path, max_images=None):
    """(uint8 (n, 28, 28), digits (n,) or None) from the 'images' (and 'digits') arrays of a
    .npz such as `dcgan.generate --out x.npz` writes; more than `max_images` digits are refused
    from the header, before they are read. Raises FileNotFoundError or ValueError."""
    path = Path(path)
    fix = "pass --images a .npz holding uint8 (n, 28, 28) digits under the key 'images'"
    if not path.is_file():
        raise FileNotFoundError(f"images {path} not found: {fix}")

    def check_header(where, shape, dtype):
        if where.endswith("'images'") and max_images and shape:
            channel = len(shape) == 4 and shape[-1] == 1  # (n, 28, 28, 1), else (rows, k, 28, 28)
            n = shape[0] if channel or len(shape) < 3 else math.prod(shape[:-2])
            if n > max_images:
                raise ValueError(
                    f"{where} holds {n:,} digits, more than the {max_images:,} scored at once: "
                    "evaluate a sample of them"
                )

    arrays, names = read_npz(path, ("images", "digits"), fix, check_header)
    x, digits = arrays["images"], arrays["digits"]
    if x is None:
        raise ValueError(f"{path} has no 'images' array (has {', '.join(names) or 'none'}): {fix}")
    x = check_images(
        x.reshape(-1, *x.shape[-2:]) if x.ndim == 4 and x.shape[-1] != 1 else x,
        where=f"images in {path}",
    )
    if digits is not None:
        digits = np.asarray(digits).ravel()
        if (
            len(digits) != len(x)
            or not np.issubdtype(digits.dtype, np.integer)
            or digits.min() < 0
            or digits.max() >= NUM_CLASSES
        ):
            raise ValueError(f"{path}: 'digits' must hold one digit 0-9 per image: {fix}")
    return x, digits


def check_images(images, where="images"):
    """uint8 (n, 28, 28) (a trailing channel of 1 is dropped), else ValueError."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
        raise ValueError(
            f"{where} have shape {x.shape}, expected (n, 28, 28) with n >= 1: pass "
            "28x28 greyscale digits"
        )
    if x.dtype != np.uint8:
        raise ValueError(
            f"{where} are {x.dtype}, expected uint8 pixels 0..255: convert generator "
            "output with dcgan.sampling.to_uint8"
        )
    return x


def _read_idx_dir(folder, split, log=print):
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind, idx in (("images", "idx3"), ("labels", "idx1")):
        names = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"]
        hits = [
            folder / (n + ext)
            for n in names
            for ext in ("", ".gz")
            if (folder / (n + ext)).exists()
        ]
        if not hits:
            raise ValueError(f"{folder} has no {names[0]}[.gz]: {FIX}")
        found[kind] = (read_idx(hits[0], FIX), hits[0])
    (x, x_path), (y, y_path) = found["images"], found["labels"]
    return _check(x, y, str(x_path), str(y_path), log)
