"""Data that is wrong in content, not only in shape, in one table: each file given to
`train --data`, `evaluate --data` or `evaluate --images` ends in exit code 2 and one stderr line
starting 'error:' that names the file and the problem, before any training; no traceback, the
bad files unchanged and nothing written.

The rows run `run_cli(main, argv)` in this process (a subprocess pays ~5 s of TensorFlow start-up).
Float pixels never cast silently, and a compressed claim refused before inflating, are checked
at the end; the readers themselves in test_readers.py.
"""

import gzip
import os
import zipfile

import numpy as np
import pytest

from dcgan import data, evaluate, generate, train
from dcgan.cli import run_cli

from conftest import REPO, npy_bytes, write_idx

MAINS = {"train": train.main, "evaluate": evaluate.main, "generate": generate.main}
TERA = (10**12, 28, 28)  # 784 TB of uint8 digits
IDX_TERA = (10**6, 10**6, 28)  # 28 TB; IDX sizes are 32-bit


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, raw in members.items():
            z.writestr(name, raw)


@pytest.fixture(scope="module")
def digits():
    with np.load(REPO / "dcgan" / "mnist_sample.npz") as f:
        return f["x_train"][:10], f["y_train"][:10].astype(np.int64)


@pytest.fixture(scope="module")
def paths(digits, tmp_path_factory):
    """Every bad file, under {name}; each .npz holds the same bad arrays for both splits, so
    `train` (x_train) and `evaluate --data` (x_test first) meet the same problem."""
    x, y = digits
    d = tmp_path_factory.mktemp("bad_data")
    p = {}

    def npz(name, images=x, labels=y):
        arrays = {"x_train": images, "x_test": images}
        if labels is not None:
            arrays.update(y_train=labels, y_test=labels)
        np.savez(p.setdefault(name, d / f"{name}.npz"), **arrays)

    f = x.astype(np.float32)
    npz("nan_pixels", np.where(np.arange(784).reshape(28, 28) == 400, np.nan, f))
    npz("inf_pixels", np.where(np.arange(784).reshape(28, 28) == 3, -np.inf, f))
    npz("float_over_255", f * 1.5)
    npz("float_negative", f / 255 - 0.5)
    npz("float_fractions", np.minimum(f + 0.25, 255))  # neither [0, 1] nor whole numbers
    npz("int_over_255", x.astype(np.int32) * 4)
    npz("complex_pixels", x.astype(np.complex64))
    npz("string_pixels", x.astype(str))
    npz("bool_pixels", x > 127)
    np.savez(
        p.setdefault("object_pixels", d / "object_pixels.npz"),
        x_train=np.array([x[0], None], dtype=object),
        x_test=np.array([x[0], None], dtype=object),
    )
    npz("string_labels", labels=y.astype(str))
    npz("one_hot_labels", labels=np.eye(10, dtype=np.float32)[y])
    npz("float_labels", labels=y + 0.5)
    npz("scalar_label", labels=np.int64(3))
    npz("negative_labels", labels=y - 5)
    npz("labels_over_255", labels=y + 250)

    # zip members that are not arrays, headers that claim terabytes or more than they hold
    text = b"x_train: a text file, not an array\n"
    both = lambda raw: {"x_train.npy": raw, "x_test.npy": raw}
    write_zip(p.setdefault("text_member", d / "text_member.npz"), both(text))
    write_zip(p.setdefault("bare_member", d / "bare_member.npz"), {"x_train": text, "x_test": text})
    huge = npy_bytes(TERA, body=bytes(100))
    write_zip(p.setdefault("tera_header", d / "tera_header.npz"), both(huge))
    short = npy_bytes((10, 28, 28), body=x.tobytes()[:1000])
    write_zip(p.setdefault("truncated_member", d / "truncated_member.npz"), both(short))
    np.savez_compressed(d / "good_compressed.npz", x_train=x, x_test=x)
    raw = bytearray((d / "good_compressed.npz").read_bytes())
    middle = len(raw) // 4  # inside the first member's compressed body
    raw[middle : middle + 64] = bytes(64)
    (p.setdefault("damaged_member", d / "damaged_member.npz")).write_bytes(bytes(raw))
    np.save(p.setdefault("single_npy", d / "single.npy"), x)
    os.mkfifo(p.setdefault("fifo", d / "fifo.npz"))  # would block a reader forever

    # IDX folders: a header that claims terabytes (raw and gzipped), one-hot labels, extra bytes
    labels = bytes(y.astype(np.uint8))
    for name, images, label_dims, label_body, gz in (
        ("idx_tera", IDX_TERA, (10,), labels, False),
        ("idx_tera_gz", IDX_TERA, (10,), labels, True),
        ("idx_one_hot", (10, 28, 28), (10, 10), np.eye(10, dtype=np.uint8)[y].tobytes(), False),
        ("idx_too_long", (10, 28, 28), (10,), labels + b"extra", False),
    ):
        folder = p.setdefault(name, d / name)
        folder.mkdir()
        ext = ".gz" if gz else ""
        body = x.tobytes() if images == (10, 28, 28) else bytes(784)
        write_idx(folder / f"train-images-idx3-ubyte{ext}", images, body, gz)
        write_idx(folder / f"train-labels-idx1-ubyte{ext}", label_dims, label_body, gz)

    # --images files
    np.savez(p.setdefault("good_images", d / "good_images.npz"), images=x)
    objects = np.array([x, None], dtype=object)
    np.savez(p.setdefault("object_images", d / "object_images.npz"), images=objects)
    write_zip(p.setdefault("tera_images", d / "tera_images.npz"), {"images.npy": huge})
    many = npy_bytes((300_000, 28, 28), body=bytes(100))  # 235 MB claimed: under the cap
    write_zip(p.setdefault("many_images", d / "many_images.npz"), {"images.npy": many})
    write_zip(p.setdefault("text_images", d / "text_images.npz"), {"images.npy": text})
    np.savez(p.setdefault("complex_images", d / "complex_images.npz"), images=x.astype(complex))
    np.savez(p.setdefault("nan_images", d / "nan_images.npz"), images=np.full((10, 28, 28), np.nan))
    np.savez(p.setdefault("string_digits", d / "string_digits.npz"), images=x, digits=y.astype(str))
    one_hot = np.eye(10, dtype=np.int64)[y]
    np.savez(p.setdefault("one_hot_digits", d / "one_hot_digits.npz"), images=x, digits=one_hot)
    return d, p


TRAIN = [
    ("nan_pixels", ["'x_train'", "10 NaN or infinite pixels"]),
    ("inf_pixels", ["'x_train'", "NaN or infinite pixels"]),
    ("float_over_255", ["'x_train'", "outside 0..255", "all in [0, 1]"]),
    ("float_negative", ["'x_train'", "outside 0..255"]),
    ("float_fractions", ["'x_train'", "not whole numbers", "all in [0, 1]"]),
    ("int_over_255", ["'x_train'", "outside 0..255"]),
    ("complex_pixels", ["'x_train'", "complex numbers"]),
    ("string_pixels", ["'x_train'", "strings"]),
    ("bool_pixels", ["'x_train'", "booleans"]),
    ("object_pixels", ["'x_train'", "need pickle"]),
    ("string_labels", ["'y_train'", "labels that are strings"]),
    ("one_hot_labels", ["'y_train'", "one-hot", "argmax"]),
    ("float_labels", ["'y_train'", "not whole numbers"]),
    ("scalar_label", ["'y_train'", "a single label"]),
    ("negative_labels", ["'y_train'", "outside 0..255"]),
    ("labels_over_255", ["'y_train'", "outside 0..255"]),
    ("text_member", ["'x_train'", "not a numpy array"]),
    ("bare_member", ["'x_train'", "not a numpy array"]),
    ("tera_header", ["'x_train'", "784.0 TB", "more than the 8.0 GB"]),
    ("truncated_member", ["'x_train'", "truncated"]),
    ("damaged_member", ["'x_train'", "cannot read"]),
    ("single_npy", ["single .npy array", "numpy.savez"]),
    ("fifo", ["not a regular file"]),
    ("idx_tera", ["train-images-idx3-ubyte", "28.0 TB"]),
    ("idx_tera_gz", ["train-images-idx3-ubyte.gz", "28.0 TB"]),
    ("idx_one_hot", ["train-labels-idx1-ubyte", "one-hot"]),
    ("idx_too_long", ["train-labels-idx1-ubyte", "longer than its header"]),
]
EVALUATE_DATA = [
    ("nan_pixels", ["'x_test'", "NaN or infinite"]),
    ("one_hot_labels", ["'y_test'", "one-hot"]),
    ("tera_header", ["'x_test'", "784.0 TB"]),
    ("object_pixels", ["'x_test'", "need pickle"]),
]
EVALUATE_IMAGES = [
    ("object_images", ["'images'", "need pickle"]),
    ("tera_images", ["'images'", "784.0 TB"]),
    ("text_images", ["'images'", "not a numpy array"]),
    ("complex_images", ["complex128", "expected uint8"]),
    ("nan_images", ["float64", "expected uint8"]),
    ("string_digits", ["'digits' must hold one digit 0-9"]),
    ("one_hot_digits", ["'digits' must hold one digit 0-9"]),
]
CASES = (
    [("train", ["--data", f"{{{name}}}"], name, words) for name, words in TRAIN]
    + [
        ("evaluate", ["--images", "{good_images}", "--data", f"{{{name}}}"], name, words)
        for name, words in EVALUATE_DATA
    ]
    + [("evaluate", ["--images", f"{{{name}}}"], name, words) for name, words in EVALUATE_IMAGES]
    + [
        # too much at once: refused before a model is loaded or a digit drawn
        ("evaluate", ["--images", "{many_images}"], "many_images", ["300,000", "100,000"]),
        ("evaluate", ["--model", "g.h5", "-n", "100001"], None, ["at most 100,000"]),
        ("evaluate", ["--model", "g.h5", "-n", "3"], None, ["too few for --k 3"]),
        ("generate", ["-n", "10001", "--out", "big.png"], None, ["10,001 digits", "an .npz"]),
        ("generate", ["-n", "5000", "--interpolate", "3", "--out", "w.png"], None, ["15,000"]),
        ("generate", ["--digit", "all", "-n", "1001", "--out", "r.png"], None, ["10,010"]),
    ]
)


def snapshot(folder):
    return {(str(q), q.lstat().st_mtime_ns, q.lstat().st_size) for q in folder.rglob("*")}


@pytest.mark.parametrize(
    "cli, argv, name, words", CASES, ids=[f"{c[0]} {' '.join(c[1][-2:])}" for c in CASES]
)
def test_bad_data(cli, argv, name, words, paths, tmp_path, monkeypatch, capsys):
    folder, p = paths
    argv = [a.format(**{k: str(v) for k, v in p.items()}) for a in argv]
    if cli == "train":
        argv += ["--quiet", "--epochs", "1", "--steps-per-epoch", "1"]
    monkeypatch.chdir(tmp_path)  # default outputs (runs/..., classifier.h5) would land here
    monkeypatch.delenv("DCGAN_DATA", raising=False)
    before = snapshot(folder)
    with pytest.raises(SystemExit) as e:
        run_cli(MAINS[cli], argv)
    out, err = capsys.readouterr()
    assert e.value.code == 2, (e.value.code, err)
    assert "Traceback" not in out + err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    if name:
        assert str(p[name]) in lines[0], ("the line must name the file", lines[0])
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert snapshot(folder) == before, "bad data changed a file"
    assert not list(tmp_path.iterdir()), "bad data wrote something"


# --- pixels and labels read by a stated rule; a bomb refused from the command line -----------


def test_float_pixels_are_read_only_by_a_stated_rule(tmp_path, digits):
    """[0, 1] floats are scaled by 255 and said so; whole numbers 0..255 are exact; the line
    names the file."""
    x, y = digits
    said = []
    np.savez(tmp_path / "unit.npz", x_train=x.astype(np.float32) / 255, y_train=y)
    got, labels, _ = data.load(str(tmp_path / "unit.npz"), log=said.append)
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(labels, y)
    assert len(said) == 1 and "[0, 1]" in said[0] and "unit.npz" in said[0]
    np.savez(tmp_path / "whole.npz", x_train=x.astype(np.float64), y_train=y.astype(np.float32))
    got, labels, _ = data.load(str(tmp_path / "whole.npz"), log=said.append)
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(labels, y)
    assert got.dtype == np.uint8 and labels.dtype == np.int64


def test_column_labels_and_fortran_order_read_as_saved(tmp_path, digits):
    x, y = digits
    np.savez(tmp_path / "d.npz", x_train=np.asfortranarray(x), y_train=y[:, None])
    got, labels, _ = data.load(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(got, x)
    np.testing.assert_array_equal(labels, y)


def _zeros_gz(path, header, nbytes):
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(header)
        block = bytes(1 << 24)
        for start in range(0, nbytes, len(block)):
            f.write(block[: min(len(block), nbytes - start)])


@pytest.mark.parametrize("kind", ["idx.gz", "npz"])
def test_a_compressed_claim_far_past_its_size_is_refused_before_inflating(
    kind, tmp_path, monkeypatch, capsys
):
    """A few hundred kB that claim (and would inflate to) 200 MB of digits: refused from the
    header and the compressed size, in one line, without inflating it."""
    n = 255_102  # 200 MB of 28x28 digits
    if kind == "idx.gz":
        folder = tmp_path / "idx"
        folder.mkdir()
        header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28))
        _zeros_gz(folder / "train-images-idx3-ubyte.gz", header, n * 784)
        write_idx(folder / "train-labels-idx1-ubyte", (n,), bytes(n))
        given = folder
    else:
        given = tmp_path / "zeros.npz"
        with zipfile.ZipFile(given, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            with z.open("x_train.npy", "w", force_zip64=True) as f:
                f.write(npy_bytes((n, 28, 28)))
                block = bytes(1 << 24)
                for start in range(0, n * 784, len(block)):
                    f.write(block[: min(len(block), n * 784 - start)])
            z.writestr("y_train.npy", npy_bytes((n,), body=bytes(n)))
    assert sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file()) < 2_000_000
    inflated = []
    real_read = gzip.GzipFile.read
    monkeypatch.setattr(
        gzip.GzipFile, "read", lambda self, k=-1: inflated.append(k) or real_read(self, k)
    )
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, ["--data", str(given), "--quiet"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "refused before inflating it" in err and "200.0 MB" in err, err
    assert sum(k for k in inflated if k > 0) < 1000  # the header only
    assert not list(work.iterdir())
