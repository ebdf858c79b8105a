"""A folder of your own images is training data (`dcgan.folder`): any size and mode of PNG, JPEG,
BMP or GIF, subfolders as classes, checked file by file before training and streamed through
tf.data; each kind of bad content is one stderr line naming the file, exit code 2."""

import json
import os
from pathlib import Path
import warnings

import numpy as np
from PIL import Image
import pytest

from dcgan import data, folder, runs

from conftest import run_python

# (class, (width, height), PIL mode, extension): every size, mode and format a folder may mix.
MIXED = [
    ("cats", (20, 31), "L", "png"),
    ("cats", (300, 200), "RGB", "jpg"),
    ("cats", (64, 64), "RGBA", "png"),
    ("cats", (40, 40), "P", "gif"),
    ("cats", (28, 28), "L", "bmp"),
    ("dogs", (50, 30), "RGB", "bmp"),
    ("dogs", (33, 90), "P", "png"),
    ("dogs", (100, 100), "RGB", "jpeg"),
    ("dogs", (16, 16), "RGBA", "gif"),
    ("dogs", (70, 45), "L", "jpg"),
]
TINY = "--epochs 1 --steps-per-epoch 2 --batch-size 16 --quiet --jit-compile off".split()


def picture(size, mode, seed=0):
    w, h = size
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return Image.fromarray(rgb).convert(mode)


def make_folder(root, specs=MIXED, copies=1):
    """`copies` of each (class, size, mode, format) under root/class/ (root itself for class
    None)."""
    for i, (cls, size, mode, ext) in enumerate(specs * copies):
        where = root / cls if cls else root
        where.mkdir(parents=True, exist_ok=True)
        image = picture(size, mode, seed=i)
        if ext in ("jpg", "jpeg", "bmp") and mode in ("RGBA", "P"):
            image = image.convert("RGB")
        image.save(where / f"img{i:03d}.{ext}")
    return root


def truncate(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return make_folder(tmp_path_factory.mktemp("mixed") / "pets")


# --- the loader, in this process ----------------------------------------------------------


def test_mixed_folder_loads_with_its_classes_and_conversion(mixed):
    said = []
    train = folder.load(str(mixed), log=said.append)
    assert isinstance(train, folder.ImageFolder) and not said
    assert train.count == len(MIXED) and train.classes == ("cats", "dogs")
    assert np.bincount(train.class_ids).tolist() == [5, 5]
    text = train.description
    assert "10 images in 2 classes (cats, dogs)" in text and str(mixed) in text
    assert "sizes 16x16 to 300x200" in text and "-> 28x28 grey" in text
    assert all(m in text for m in ("RGB", "L", "P", "RGBA")) and "centre-cropped" in text
    images, classes = next(iter(train.dataset(8, seed=0, with_classes=True)))
    assert images.shape == (8, 28, 28, 1) and images.dtype == "float32"
    assert -1.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert set(classes.numpy().tolist()) <= {0, 1}
    colour = folder.load(str(mixed), image_size=32, channels=3)
    assert next(iter(colour.dataset(4, seed=0))).shape == (4, 32, 32, 3)
    assert "-> 32x32 RGB" in colour.description


def test_images_without_subfolders_are_one_unlabelled_set(tmp_path):
    root = make_folder(tmp_path / "flat", [(None, s, m, e) for _, s, m, e in MIXED[:4]])
    train = folder.load(str(root))
    assert train.count == 4 and train.classes is None and "unlabelled" in train.description


def test_images_beside_class_folders_are_left_out_with_a_note(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2] + [(None, (30, 30), "L", "png")])
    said = []
    train = folder.load(str(root), log=said.append)
    assert train.count == 2 and train.classes == ("cats",)
    assert len(said) == 1 and "left out" in said[0] and str(root) in said[0]


def test_transparency_is_laid_over_black_and_images_are_centre_cropped(tmp_path):
    clear = Image.new("RGBA", (40, 40), (255, 255, 255, 0))
    clear.save(tmp_path / "clear.png")
    assert folder.read_image(tmp_path / "clear.png", 28, 1).max() == 0
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 15:45] = 255  # white over the centre square (20:40): black side bands cut away
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert folder.read_image(tmp_path / "wide.png", 28, 1).min() == 255
    deep = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 16-bit grey
    Image.fromarray(deep).save(tmp_path / "deep.png")
    x = folder.read_image(tmp_path / "deep.png", 28, 1)
    assert 0 < x.mean() < 255 and x.max() > 200  # scaled from 16 bits, not clipped to white


def test_batches_are_reshuffled_each_epoch_from_the_seed_and_skip_decodes_nothing(mixed):
    train = folder.load(str(mixed))

    def order(seed, skip=0, n=4):
        ds = train.dataset(5, seed=seed, repeat=True, with_classes=True, skip=skip)
        return [b[0].numpy() for b in ds.take(n)]

    first = order(0)
    assert all(np.array_equal(a, b) for a, b in zip(first, order(0)))  # the same seed, the same
    assert not np.array_equal(first[0], first[2])  # each epoch (2 batches) in a new order
    assert all(np.array_equal(a, b) for a, b in zip(first[2:], order(0, skip=2, n=2)))


def test_digest_follows_the_files_and_arrays_keep_theirs(mixed, tmp_path):
    import hashlib

    assert folder.load(str(mixed)).digest == folder.load(str(mixed)).digest
    copy = make_folder(tmp_path / "pets")
    os.utime(copy / "dogs" / "img009.jpg", ns=(1, 1))  # touched, or copied: the same data
    assert folder.load(str(copy)).digest == folder.load(str(mixed)).digest
    picture((100, 100), "RGB", seed=99).save(copy / "dogs" / "img009.jpg")  # new content
    assert folder.load(str(copy)).digest != folder.load(str(mixed)).digest
    (copy / "dogs" / "img009.jpg").rename(copy / "cats" / "img009.jpg")  # another class
    assert folder.load(str(copy)).digest != folder.load(str(mixed)).digest
    x, y, source = data.load("sample")
    arrays = folder.load("sample")
    assert isinstance(arrays, folder.Arrays) and arrays.source == source
    # Runs from before folders stored this fingerprint, and their batches: both unchanged.
    assert arrays.digest == hashlib.sha256(np.ascontiguousarray(x).data).hexdigest()[:16]
    old = data.make_dataset(x, 32, seed=3, repeat=True, digits=y).skip(5)
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
    assert not folder.is_image_folder(str(tmp_path))
    assert isinstance(folder.load(str(tmp_path)), folder.Arrays)


def test_resume_refuses_another_folder_and_another_class_count(mixed, tmp_path):
    train = folder.load(str(mixed))
    run = tmp_path / "run"
    run.mkdir()
    facts = dict(train_images=train.count, train_digest=train.digest, conditional=True)
    (run / "config.json").write_text(json.dumps({**facts, "train_classes": ["a", "b", "c"]}))
    with pytest.raises(ValueError, match="conditional run of 3 classes"):
        runs.check_resume_data(run, train, new_data=True)
    (run / "config.json").write_text(json.dumps({**facts, "train_classes": ["cats", "dogs"]}))
    runs.check_resume_data(run, train)  # the same folder: resumes
    other = folder.load(str(make_folder(tmp_path / "other", MIXED[3:7])))
    with pytest.raises(ValueError, match="--new-data"):
        runs.check_resume_data(run, other)

    # A run from before content hashing stored the digest of paths, sizes and mtimes.
    old = {**facts, "train_classes": ["cats", "dogs"], "train_digest": train.legacy_digest()}
    (run / "config.json").write_text(json.dumps(old))
    runs.check_resume_data(run, train)
    os.utime(mixed / "cats" / "img000.png", ns=(1, 1))  # its files changed since: other data
    with pytest.raises(ValueError, match="--new-data"):
        runs.check_resume_data(run, train)


# --- bad content ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """{case: (folder, the path the error must name)}."""
    d = tmp_path_factory.mktemp("bad_folders")
    cases = {}
    (d / "empty").mkdir()
    (d / "empty" / "notes.txt").write_text("no pictures here")
    cases["no_images"] = (d / "empty", d / "empty")
    root = make_folder(d / "empty_class", MIXED[:2])
    (root / "dogs").mkdir()
    cases["empty_class"] = (root, root / "dogs")
    root = make_folder(d / "all_truncated", MIXED[:3])
    for p in sorted(root.rglob("img*")):
        truncate(p)
    cases["all_truncated"] = (root, root / "cats" / "img000.png")
    root = make_folder(d / "class_truncated", MIXED[:2] + MIXED[5:6])
    truncate(root / "dogs" / "img002.bmp")
    cases["class_truncated"] = (root, root / "dogs")
    root = make_folder(d / "loop", MIXED[:2])
    (root / "cats" / "again").symlink_to("..", target_is_directory=True)
    cases["symlink_loop"] = (root, root / "cats" / "again")
    root = make_folder(d / "self_link", MIXED[:2])
    (root / "cats" / "me.png").symlink_to("me.png")
    cases["self_link"] = (root, root / "cats" / "me.png")
    root = make_folder(d / "up_link", MIXED[:2])
    (root / "up").symlink_to("..", target_is_directory=True)  # a class folder around its parent
    cases["class_link_up"] = (root, root / "up")
    return cases


@pytest.mark.parametrize("case", ["no_images", "empty_class", "all_truncated", "class_truncated",
                                  "symlink_loop", "self_link", "class_link_up"])  # fmt: skip
def test_bad_content_is_one_error_naming_the_file(bad, case):
    root, named = bad[case]
    with pytest.raises(ValueError) as e:
        folder.load(str(root))
    assert str(named) in str(e.value) and "\n" not in str(e.value)


def test_a_truncated_image_is_skipped_counted_and_named(tmp_path):
    root = make_folder(tmp_path / "pets")
    truncate(root / "cats" / "img001.jpg")
    said = []
    train = folder.load(str(root), log=said.append)
    assert train.count == len(MIXED) - 1
    assert len(said) == 1 and "skipped 1 of 10" in said[0] and "img001.jpg" in said[0]
    assert "1 skipped as unreadable" in train.description


# --- the command line -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_mixed_folder_trains_a_step_from_the_command_line(tmp_path):
    root = make_folder(tmp_path / "pets", copies=2)
    truncate(root / "cats" / "img001.jpg")
    out = tmp_path / "run"
    proc = run_python("-m", "dcgan.train", *TINY, "--data", root, "--out", out, "--conditional",
                      "--eval-every", "1")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "19 images in 2 classes (cats, dogs)" in proc.stdout
    assert "1 skipped as unreadable" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert any("skipped 1 of 20" in x and "img001.jpg" in x for x in lines), proc.stderr
    assert any("--eval-every is off" in x for x in lines), proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["train_classes"] == ["cats", "dogs"] and config["train_images"] == 19
    assert (out / "generator.h5").exists() and (out / "samples" / "epoch_0001.png").exists()
    rows = Image.open(out / "samples" / "epoch_0001.png").size
    assert rows[0] > 2 * rows[1]  # one row per class: 2 rows of 8
    # Its generator draws a row per class, named, and is scored in pixels against its folder.
    proc = run_python("-m", "dcgan.generate", "--model", out / "generator.h5", "--digit", "all",
                      "-n", "3", "--out", tmp_path / "rows.npz")  # fmt: skip
    assert proc.returncode == 0 and "2 rows of 3 images (cats, dogs)" in proc.stdout, proc.stderr
    assert np.load(tmp_path / "rows.npz")["images"].shape == (2, 3, 28, 28)
    proc = run_python("-m", "dcgan.evaluate", "--model", out / "generator.h5", "-n", "8")
    assert proc.returncode == 0, proc.stderr
    assert "no classifier here reads" in proc.stdout and "precision (k-NN)" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", ["no_images", "empty_class", "all_truncated", "symlink_loop"])
def test_bad_folder_exits_2_with_one_line(bad, case, tmp_path):
    root, named = bad[case]
    proc = run_python("-m", "dcgan.train", *TINY, "--data", root, "--out", tmp_path / "run")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(named) in lines[0], lines
    assert not (tmp_path / "run").exists()
    assert Path(root).exists()


@pytest.mark.slow
def test_a_resumed_folder_run_ends_where_an_uninterrupted_one_ends(tmp_path):
    import h5py

    root = make_folder(tmp_path / "pets", copies=2)
    args = [*TINY, "--data", root, "--conditional", "--save-every", "1", "--ema", "0.9"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    for argv in (
        [*args, "--epochs", "2", "--out", straight],
        [*args, "--out", stopped],  # 1 epoch, then resumed to 2
        ["--resume", stopped, "--epochs", "2", "--quiet"],
    ):
        proc = run_python("-m", "dcgan.train", *argv)
        assert proc.returncode == 0, proc.stderr

    def weights(path):
        out = []
        with h5py.File(path) as f:
            f.visititems(lambda _, o: out.append(np.array(o)) if isinstance(o, h5py.Dataset) else 0)
        return out

    for name in ("generator.h5", "discriminator.h5", "generator_ema.h5"):
        for a, b in zip(weights(straight / name), weights(stopped / name), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name)


# --- what a scan reads, and what it never opens --------------------------------------------


def fake_run(where):
    """A folder as a dcgan run leaves it: config.json, samples, a loss plot."""
    where.mkdir(parents=True)
    (where / "config.json").write_text(json.dumps({"epochs": 20, "batch_size": 256, "out": "x"}))
    picture((28, 28), "L").save(where / "losses.png")
    (where / "samples").mkdir()
    picture((280, 280), "L").save(where / "samples" / "epoch_0001.png")
    return where


@pytest.mark.parametrize("layout", ["flat", "classes", "nested"])
def test_run_folders_inside_the_data_are_never_read_as_images(layout, tmp_path):
    specs = MIXED[:4] if layout != "flat" else [(None, s, m, e) for _, s, m, e in MIXED[:4]]
    root = make_folder(tmp_path / "pets", specs)
    run = fake_run(root / "cats" / "run" if layout == "nested" else root / "run")
    said = []
    train = folder.load(str(root), log=said.append)
    assert train.count == 4 and not any(b"/run/" in p for p in train.paths)
    assert train.classes == (None if layout == "flat" else ("cats",))
    assert [s for s in said if "dcgan run folder" in s] == [
        s for s in said if str(run) in s
    ] and len(said) == 1, said
    (run / "config.json").write_text("{}")  # not a run's config: a folder like any other
    assert any(b"/run/" in p for p in folder.load(str(root), log=said.append).paths)


def test_a_run_folder_inside_the_data_is_refused(tmp_path, monkeypatch):
    data_dir = make_folder(tmp_path / "pets", MIXED[:2])
    (tmp_path / "link").symlink_to(data_dir, target_is_directory=True)
    for out in (data_dir / "run", data_dir, tmp_path / "link" / "cats" / "run"):
        with pytest.raises(ValueError, match="inside the training data.*--out"):
            runs.check_outside_data(str(out), data_dir)
    with pytest.raises(ValueError, match="move .* out of"):
        runs.check_outside_data(str(data_dir / "run"), data_dir, resume=True)
    runs.check_outside_data(str(tmp_path / "run"), data_dir)  # beside it: fine
    runs.check_outside_data(None, data_dir)  # runs/ under the tests' directory
    monkeypatch.chdir(data_dir / "cats")  # the default runs/<time> would land inside
    with pytest.raises(ValueError, match="default run folder .*inside the training data"):
        runs.check_outside_data(None, data_dir)
    runs.check_outside_data(None, None)  # digits in memory: anywhere


def eps(path):
    """A tiny EPS file: PIL reads one by running Ghostscript."""
    path.write_text(
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n0 0 moveto 8 8 lineto stroke\n%%EOF\n"
    )


@pytest.mark.parametrize("kind", ["eps", "tiff", "webp", "jpeg_as_png"])
def test_content_of_other_formats_is_never_decoded(kind, tmp_path, monkeypatch):
    import subprocess

    root = make_folder(tmp_path / "pets", MIXED[:2])
    odd = root / "cats" / "odd.png"
    if kind == "eps":
        eps(odd)
    else:
        fmt = {"tiff": "TIFF", "webp": "WEBP", "jpeg_as_png": "JPEG"}[kind]
        picture((30, 30), "RGB").save(odd, format=fmt)
    with Image.open(odd) as im:  # what PIL alone would do with it
        assert im.format == {"eps": "EPS", "tiff": "TIFF", "webp": "WEBP"}.get(kind, "JPEG")

    def no_program(*args, **kwargs):
        raise AssertionError(f"a program was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_program)
    said = []
    train = folder.load(str(root), log=said.append)
    if kind == "jpeg_as_png":  # a format dcgan reads, whatever the name says
        assert train.count == 3 and not said
        return
    assert train.count == 2 and len(said) == 1, said
    assert "skipped 1 of 3" in said[0] and "odd.png" in said[0] and "not a BMP, GIF" in said[0]


def test_files_that_are_not_regular_files_are_never_opened(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2])
    os.mkfifo(root / "cats" / "zz.png")  # opened for reading, it would wait for a writer
    (root / "cats" / "zero.jpg").symlink_to("/dev/zero")  # would never end
    said = []
    train = folder.load(str(root), log=said.append)
    assert train.count == 2 and train.skipped == 0
    assert len(said) == 1 and "left out 2 image name(s)" in said[0], said
    assert "not regular files" in said[0]
    for special in ("zz.png", "zero.jpg"):  # replaced after the check: refused, not waited on
        with pytest.raises(ValueError, match="not a regular file"):
            folder.read_image(root / "cats" / special, 28, 1)


@pytest.mark.parametrize("why", ["deleted", "truncated", "fifo"])
def test_an_image_that_changes_after_the_check_is_named(why, tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:4])
    train = folder.load(str(root))
    gone = root / "cats" / "img002.png"
    if why == "truncated":
        truncate(gone)
    else:
        gone.unlink()
        if why == "fifo":
            os.mkfifo(gone)
    import tensorflow as tf

    with pytest.raises(tf.errors.OpError):  # the pipeline's, which `training.run` replaces
        for _ in train.dataset(4, seed=0):
            pass
    assert [p for p, _ in train.unreadable] == [str(gone)]


# --- class names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names, words",
    [
        ([b"caf\xe9", b"tea"], ["caf\\udce9", "not UTF-8", "rename it"]),
        ([b"tea\nerror: forged", b"milk"], ["tea\\nerror: forged", "control character"]),
        ([b"tab\there", b"milk"], ["tab\\there", "control character"]),
        (["café".encode(), "cafe\u0301".encode()], ["'caf\\xe9'", "'cafe\\u0301'", "NFC"]),
    ],
    ids=["not_utf8", "newline", "tab", "nfc_nfd_twins"],
)
def test_class_names_that_cannot_be_shown_or_written_are_refused(names, words, tmp_path):
    root = tmp_path / "pets"
    root.mkdir()
    for i, name in enumerate(names):
        os.mkdir(os.path.join(os.fsencode(root), name))
        picture((20, 20), "L", seed=i).save(os.path.join(os.fsencode(root), name, b"a.png"))
    with pytest.raises(ValueError) as e:
        folder.load(str(root))
    text = str(e.value)
    assert "\n" not in text and "\t" not in text and str(root) in text
    for w in words:
        assert w in text, text


def test_hidden_class_folders_are_left_out_and_said_so(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2] + MIXED[5:7])
    make_folder(root / ".cache", MIXED[:1])
    said = []
    train = folder.load(str(root), log=said.append)
    assert train.classes == ("cats", "dogs")
    assert len(said) == 1 and ".cache" in said[0] and 'starting with "."' in said[0], said


def test_odd_file_names_stay_on_one_line(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2])
    bad = root / "cats" / "x\nerror: forged.png"
    bad.write_bytes(b"not an image")
    said = []
    train = folder.load(str(root), log=said.append)
    assert all("\n" not in s for s in said) and "x\\nerror: forged.png" in said[0]
    assert train.description.count("\n") == 2 and "forged" in train.description


# --- how big an image may be ----------------------------------------------------------------


def peak_rss_growth(work):
    """Bytes the peak resident memory grew by while `work()` ran (Linux: the peak is reset
    through /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pytest.skip("no resettable peak memory here")

    def kb(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(key))

    before = kb("VmRSS:")
    work()
    return (kb("VmHWM:") - before) * 1024


def test_big_images_are_refused_from_their_header_and_decoded_reduced(tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    # 42 megapixels over the limit: refused without decoding (~42 MB as grey pixels).
    Image.new("L", (7000, 6000)).save(root / "huge.png")
    Image.new("1", (10000, 9000)).save(root / "bomb.png")  # over PIL's own warning, 90 MP
    # 16 megapixels of RGBA (64 MB decoded) under it: decoded, premultiplied once to be shrunk
    # (PIL's reduce of RGBA), then composited small: ~2x, where it was ~4x (~250 MB).
    Image.new("RGBA", (4000, 4000), (200, 10, 10, 128)).save(root / "big.png")
    picture((30, 30), "L").save(root / "small.png")
    said, train = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PIL's bomb warning is no second line
        grew = peak_rss_growth(lambda: train.append(folder.load(str(root), log=said.append)))
    assert train[0].count == 2 and len(said) == 1, said
    assert "skipped 2 of 4" in said[0] and "bomb.png" in said[0]
    assert "10000x9000 is over the 40-megapixel limit" in said[0]
    with pytest.raises(ValueError, match="7000x6000 is over the 40-megapixel limit"):
        folder.read_image(root / "huge.png", 28, 1)
    assert grew < 2.5 * 64e6, grew
    x = folder.read_image(root / "big.png", 28, 1)
    assert x.shape == (28, 28, 1) and abs(int(x.mean()) - round(0.299 * 200 / 2)) < 5


# --- what --data is, and the lines a run ends with ------------------------------------------


def test_a_stray_idx_file_does_not_make_pictures_digits(tmp_path):
    root = make_folder(tmp_path / "flat", [(None, s, m, e) for _, s, m, e in MIXED[:3]])
    (root / "t10k-labels-idx1-ubyte").write_bytes(bytes(8))
    assert folder.is_image_folder(str(root)) and folder.load(str(root)).count == 3
    classes = make_folder(tmp_path / "pets", MIXED[:3])
    (classes / "train-images-idx3-ubyte").write_bytes(bytes(16))
    assert folder.load(str(classes)).classes == ("cats",)
    idx = tmp_path / "idx"  # IDX files alone: an IDX folder, that says which file it lacks
    idx.mkdir()
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (1, 28, 28))
    (idx / "train-images-idx3-ubyte").write_bytes(header + bytes(784))
    with pytest.raises(ValueError, match="has no train-labels-idx1-ubyte"):
        folder.load(str(idx))


@pytest.mark.parametrize("ext", ["png", "JPG"])
def test_an_image_file_is_not_a_data_set(ext, tmp_path):
    one = tmp_path / "pics" / f"cat.{ext}"
    one.parent.mkdir()
    picture((20, 20), "RGB").save(one, format="PNG" if ext == "png" else "JPEG")
    with pytest.raises(ValueError, match="is an image file, not a data set: pass --data the fol"):
        folder.load(str(one))


def test_a_run_ended_by_minutes_says_so_and_how_to_go_on(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"epochs": 20, "minutes": 5.0}))
    (run / "history.csv").write_text("epoch,d_loss\n1,0.5\n2,0.4\n3,0.3\n")
    lines = runs.closing(run, 300.0).splitlines()
    assert f"stopped by --minutes 5 after epoch 3 of 20; go on with python -m dcgan.train " \
        f"--resume {run}" in lines  # fmt: skip
    (run / "history.csv").write_text("epoch,d_loss\n" + "".join(f"{e},1\n" for e in range(1, 21)))
    assert "stopped by" not in runs.closing(run, 300.0)  # all its epochs: not the limit


def test_two_names_of_one_flag_are_refused(capsys):
    from dcgan import train
    from dcgan.errors import run_cli

    for argv in (
        ["--targets", "soft", "--labels", "hard"],
        ["--labels", "soft", "--targets", "soft"],
    ):
        with pytest.raises(SystemExit) as e:
            run_cli(train.main, argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1 and "same setting" in err, err
    args = train.parser().parse_args(["--labels", "hard", "--labels", "soft"])
    assert args.targets == "soft"  # one name given twice: the last, as for any flag


def snapshot(root):
    return {(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in Path(root).rglob("*")}


@pytest.mark.parametrize("where", ["out", "out_is_data", "default_from_inside", "resume"])
def test_a_run_folder_inside_the_data_is_one_line_and_nothing_written(where, tmp_path, monkeypatch,
                                                                      capsys):  # fmt: skip
    from dcgan import train
    from dcgan.errors import run_cli

    root = make_folder(tmp_path / "pets", MIXED[:4])
    argv = [*TINY, "--data", str(root)]
    if where == "out":
        argv += ["--out", str(root / "cats" / "run")]
    elif where == "out_is_data":
        argv += ["--out", str(root / "dogs")]
    elif where == "default_from_inside":
        monkeypatch.chdir(root)
    else:
        run = fake_run(root / "old_run")
        argv = ["--resume", str(run), "--quiet"]
        (run / "config.json").write_text(
            json.dumps({"epochs": 1, "batch_size": 16, "out": str(run), "data": str(root)})
        )
    before = snapshot(root)
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "inside the training data" in err and str(root) in err, err
    assert ("move" if where == "resume" else "--out") in err
    assert snapshot(root) == before


@pytest.mark.slow  # trains twice, a few steps each
def test_an_image_gone_while_training_stops_the_run_resumably(tmp_path, monkeypatch):
    import shutil

    from dcgan import training

    root = make_folder(tmp_path / "pets", copies=2)
    keep = shutil.copytree(root, tmp_path / "keep")
    checked = folder.ImageFolder.dataset

    def then_deleted(self, *args, **kwargs):  # after the check, before the first batch
        shutil.rmtree(root / "cats")
        return checked(self, *args, **kwargs)

    monkeypatch.setattr(folder.ImageFolder, "dataset", then_deleted)
    out = tmp_path / "run"
    cfg = training.Config(epochs=1, steps_per_epoch=2, batch_size=8, data=str(root),
                          out=str(out), jit_compile=False, conditional=True)  # fmt: skip
    with pytest.raises(ValueError) as e:
        training.run(cfg, verbose=0, log=lambda m: None)
    text = str(e.value)
    assert "\n" not in text and str(root / "cats") in text and "changed while training" in text
    assert f"--resume {out}" in text and "no checkpoint yet" in text
    monkeypatch.undo()
    shutil.copytree(keep / "cats", root / "cats")  # put back: the same data, so it resumes
    training.run(training.Config.of_run(out), resume=str(out), verbose=0, log=lambda m: None)
    assert (out / "generator.h5").exists()
