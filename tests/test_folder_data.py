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

from dcgan import data, datasets, folder, runs, trainset

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
    train = trainset.load(str(mixed), log=said.append)
    assert isinstance(train, trainset.ImageFolder) and not said
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
    colour = trainset.load(str(mixed), image_size=32, channels=3)
    assert next(iter(colour.dataset(4, seed=0))).shape == (4, 32, 32, 3)
    assert "-> 32x32 RGB" in colour.description


def test_images_without_subfolders_are_one_unlabelled_set(tmp_path):
    root = make_folder(tmp_path / "flat", [(None, s, m, e) for _, s, m, e in MIXED[:4]])
    train = trainset.load(str(root))
    assert train.count == 4 and train.classes is None and "unlabelled" in train.description


def test_images_beside_class_folders_are_left_out_with_a_note(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2] + [(None, (30, 30), "L", "png")])
    said = []
    train = trainset.load(str(root), log=said.append)
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


def test_digest_follows_the_files(mixed, tmp_path):
    assert trainset.load(str(mixed)).digest == trainset.load(str(mixed)).digest
    copy = make_folder(tmp_path / "pets")
    os.utime(copy / "dogs" / "img009.jpg", ns=(1, 1))  # touched, or copied: the same data
    assert trainset.load(str(copy)).digest == trainset.load(str(mixed)).digest
    picture((100, 100), "RGB", seed=99).save(copy / "dogs" / "img009.jpg")  # new content
    assert trainset.load(str(copy)).digest != trainset.load(str(mixed)).digest
    (copy / "dogs" / "img009.jpg").rename(copy / "cats" / "img009.jpg")  # another class
    assert trainset.load(str(copy)).digest != trainset.load(str(mixed)).digest


def test_resume_refuses_another_folder_and_another_class_count(mixed, tmp_path):
    train = trainset.load(str(mixed))
    run = tmp_path / "run"
    run.mkdir()
    facts = dict(train_images=train.count, train_digest=train.digest, conditional=True)
    (run / "config.json").write_text(json.dumps({**facts, "train_classes": ["a", "b", "c"]}))
    with pytest.raises(ValueError, match="conditional run of 3 classes"):
        runs.check_resume_data(run, train, new_data=True)
    (run / "config.json").write_text(json.dumps({**facts, "train_classes": ["cats", "dogs"]}))
    runs.check_resume_data(run, train)  # the same folder: resumes
    other = trainset.load(str(make_folder(tmp_path / "other", MIXED[3:7])))
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
        trainset.load(str(root))
    assert str(named) in str(e.value) and "\n" not in str(e.value)


def test_a_truncated_image_is_skipped_counted_and_named(tmp_path):
    root = make_folder(tmp_path / "pets")
    truncate(root / "cats" / "img001.jpg")
    said = []
    train = trainset.load(str(root), log=said.append)
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
    assert "a classifier of its 2 classes" in proc.stdout and "floor:" in proc.stdout
    assert len(list(out.glob("classifier_*_28x28x1.h5"))) == 1  # kept for the next evaluation


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
    train = trainset.load(str(root), log=said.append)
    assert train.count == 4 and not any(b"/run/" in p for p in train.paths)
    assert train.classes == (None if layout == "flat" else ("cats",))
    assert [s for s in said if "dcgan run folder" in s] == [
        s for s in said if str(run) in s
    ] and len(said) == 1, said
    (run / "config.json").write_text("{}")  # not a run's config: a folder like any other
    assert any(b"/run/" in p for p in trainset.load(str(root), log=said.append).paths)


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
    train = trainset.load(str(root), log=said.append)
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
    train = trainset.load(str(root), log=said.append)
    assert train.count == 2 and train.skipped == 0
    assert len(said) == 1 and "left out 2 image name(s)" in said[0], said
    assert "not regular files" in said[0]
    for special in ("zz.png", "zero.jpg"):  # replaced after the check: refused, not waited on
        with pytest.raises(ValueError, match="not a regular file"):
            folder.read_image(root / "cats" / special, 28, 1)


@pytest.mark.parametrize("why", ["deleted", "truncated", "fifo"])
def test_an_image_that_changes_after_the_check_is_named(why, tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:4])
    train = trainset.load(str(root))
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
        trainset.load(str(root))
    text = str(e.value)
    assert "\n" not in text and "\t" not in text and str(root) in text
    for w in words:
        assert w in text, text


def test_hidden_class_folders_are_left_out_and_said_so(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2] + MIXED[5:7])
    make_folder(root / ".cache", MIXED[:1])
    said = []
    train = trainset.load(str(root), log=said.append)
    assert train.classes == ("cats", "dogs")
    assert len(said) == 1 and ".cache" in said[0] and 'starting with "."' in said[0], said


def test_odd_file_names_stay_on_one_line(tmp_path):
    root = make_folder(tmp_path / "pets", MIXED[:2])
    bad = root / "cats" / "x\nerror: forged.png"
    bad.write_bytes(b"not an image")
    said = []
    train = trainset.load(str(root), log=said.append)
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
        grew = peak_rss_growth(lambda: train.append(trainset.load(str(root), log=said.append)))
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
    assert datasets.is_image_folder(str(root)) and trainset.load(str(root)).count == 3
    classes = make_folder(tmp_path / "pets", MIXED[:3])
    (classes / "train-images-idx3-ubyte").write_bytes(bytes(16))
    assert trainset.load(str(classes)).classes == ("cats",)
    idx = tmp_path / "idx"  # IDX files alone: an IDX folder, that says which file it lacks
    idx.mkdir()
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (1, 28, 28))
    (idx / "train-images-idx3-ubyte").write_bytes(header + bytes(784))
    with pytest.raises(ValueError, match="has no train-labels-idx1-ubyte"):
        trainset.load(str(idx))


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
    from dcgan.cli import run_cli

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
    from dcgan.cli import run_cli

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
    checked = trainset.ImageFolder.dataset

    def then_deleted(self, *args, **kwargs):  # after the check, before the first batch
        shutil.rmtree(root / "cats")
        return checked(self, *args, **kwargs)

    monkeypatch.setattr(trainset.ImageFolder, "dataset", then_deleted)
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


# --- scoring your own pictures ----------------------------------------------------------------


def digit_folder(root, count=1000):
    """`count` digits of the bundled sample as PNGs in one subfolder per digit."""
    x, y, _ = data.load("sample")
    for i, (image, digit) in enumerate(zip(x[:count], y[:count])):
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / str(digit) / f"{i:04d}.png")
    return root


def shapes_folder(root, count=600, side=40):
    """Unlabelled colour pictures: shapes of random colours on a background shaded from one
    random colour to another, with a photo's fine grain."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    yy, xx = np.mgrid[:side, :side]
    for i in range(count):
        a, b = rng.integers(0, 256, (2, 3))
        image = a + (b - a) * (yy / side)[..., None]
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.integers(4, side - 4, 2).tolist() + [int(rng.integers(3, side // 3))]
            inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
            if rng.random() < 0.5:
                inside = (abs(yy - cy) < r) & (abs(xx - cx) < r // 2 + 1)
            image[inside] = rng.integers(0, 256, 3)
        image = image + rng.normal(0, 6, image.shape)
        Image.fromarray(np.clip(image, 0, 255).round().astype(np.uint8)).save(root / f"{i:04d}.png")
    return root


def impostors(real, seed=0):
    """What must never score as well as real images: (name, uint8 images like `real`)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    sigma = (0, 1.5, 1.5) + (0,) * (real.ndim - 3)  # over the rows and columns only
    blurred = gaussian_filter(real.astype(np.float64), sigma)
    return [
        ("bright noise", rng.integers(0, 256, real.shape, dtype=np.uint8)),
        ("dim noise", rng.integers(0, 24, real.shape, dtype=np.uint8)),
        ("black", np.zeros_like(real)),
        ("grey", np.full_like(real, 128)),
        ("blurred", np.clip(blurred, 0, 255).round().astype(np.uint8)),
    ]


def assert_real_is_best(scores, name):
    from dcgan import metrics

    got, floor = scores["generated"], scores["real"]
    for key, better in metrics.OWN:
        worse = got[key] > floor[key] if better == "lower" else got[key] < floor[key]
        assert worse, f"{name}: {key} {got[key]:.4f}, real (floor) {floor[key]:.4f}"


@pytest.fixture(scope="module")
def digits_read(tmp_path_factory):
    """A folder of digits in class folders, its classifier trained once, and its reader."""
    from dcgan import features

    own = trainset.load(str(digit_folder(tmp_path_factory.mktemp("own") / "digits")))
    cache = tmp_path_factory.mktemp("run")
    classifier, note = features.folder_classifier(own, cache, log=lambda m: None)
    return own, features.Reader((28, 28, 1), classifier, note), cache


def test_a_folder_with_classes_scores_noise_black_and_blur_below_real_images(digits_read):
    from dcgan import metrics

    own, read, cache = digits_read
    assert len(read.nets) == 2 and "classifier of its 10 classes" in read.describe
    assert len(list(cache.glob(f"classifier_{own.digest}_28x28x1.h5"))) == 1
    real = own.sample(own.count)
    scored, unseen = real[:600], real[600:]  # the reference and floor halves, and other images
    for name, images in impostors(unseen):
        assert_real_is_best(metrics.own_scores(images, scored, read, seed=0), name)
    # real images that are neither reference nor floor score about as the floor does
    scores = metrics.own_scores(unseen, scored, read, seed=0)
    assert scores["generated"]["precision"] > 0.7 and scores["generated"]["recall"] > 0.7
    assert scores["generated"]["fid"] < 2 * scores["real"]["fid"]


def test_evaluate_reads_a_folder_with_classes_with_its_classifier(
    digits_read, tmp_path, monkeypatch, capsys
):
    from dcgan import evaluate, features

    own, _, cache = digits_read
    # --images keeps no classifier: this one reads the one the fixture trained and kept
    kept = features.folder_classifier
    monkeypatch.setattr(features, "folder_classifier", lambda f, _, log: kept(f, cache, log=log))
    np.savez(tmp_path / "x.npz", images=np.zeros((200, 28, 28), np.uint8))
    argv = ["--images", tmp_path / "x.npz", "--data", own.source, "--json", tmp_path / "s.json"]
    assert evaluate.main(list(map(str, argv))) == 0
    table, rest = report_numbers(capsys.readouterr().out)
    assert "and 128 of a classifier of its 10 classes" in rest[0], rest[0]
    assert table["FID"][0] > table["FID"][1] and table["precision (k-NN)"][0] == 0.0
    saved = json.loads((tmp_path / "s.json").read_text())
    assert "classifier of its 10 classes" in saved["reference"]["features"]


def test_the_folder_classifier_is_kept_and_reused(digits_read):
    from dcgan import features

    own, read, cache = digits_read
    said = []
    again, note = features.folder_classifier(own, cache, log=said.append)
    assert not said and str(cache) in note  # loaded, not trained again
    x = own.sample(50)
    assert np.allclose(read(x)[1], features.Reader((28, 28, 1), again, note)(x)[1], atol=1e-5)


def test_evaluate_scores_a_generator_against_its_folder_with_the_kept_classifier(
    digits_read, tmp_path, capsys
):
    """--model: an untrained generator, in a run folder that keeps the folder's classifier
    (as a first evaluation leaves it), is scored in its features below the real floor."""
    import shutil

    from dcgan import evaluate
    from dcgan.models import build_pair

    own, _, cache = digits_read
    run = tmp_path / "run"
    run.mkdir()
    build_pair()[0].save(run / "generator.h5")
    shutil.copy(next(cache.glob("classifier_*.h5")), run)
    argv = ["--model", run / "generator.h5", "--data", own.source, "-n", "100"]
    assert evaluate.main(list(map(str, argv))) == 0
    out, err = capsys.readouterr()
    table, rest = report_numbers(out)
    assert "training a classifier" not in err and str(run) in rest[0]  # the kept one
    assert (
        table["FID"][0] > table["FID"][1] and table["recall (k-NN)"][0] < table["recall (k-NN)"][1]
    )


@pytest.mark.parametrize("damage", ["truncated", "text", "other classes"])
def test_a_kept_classifier_that_does_not_fit_is_trained_again(digits_read, tmp_path, damage):
    from dcgan import classifier as classifiers
    from dcgan import features

    own, _, cache = digits_read
    kept = next(cache.glob("classifier_*.h5"))
    bad = tmp_path / kept.name
    if damage == "truncated":
        bad.write_bytes(kept.read_bytes()[:2000])
    elif damage == "text":
        bad.write_text("not a model")
    else:
        classifiers.save_classifier(classifiers.build_classifier(classes=3), bad)
    small = trainset.load(str(digit_folder(tmp_path / "few", count=60)))
    (tmp_path / f"classifier_{small.digest}_28x28x1.h5").write_bytes(bad.read_bytes())
    said = []
    model, note = features.folder_classifier(small, tmp_path, log=said.append)
    assert "training it again" in said[0] and "training a classifier" in said[1], said
    assert model.output_shape[1:] == (10,) and "kept as" in note
    assert features.folder_classifier(small, tmp_path, log=said.append)[0] is not None
    assert len(said) == 2  # the second time it is read back


def report_numbers(out):
    """The numbers of the evaluate report's table, {label: [images, real (floor)]}, and its
    other lines."""
    table, rest = {}, []
    for line in out.splitlines():
        cells = line.rsplit(None, 2)
        try:
            table[cells[0].strip()] = [float(cells[1]), float(cells[2])]
        except (IndexError, ValueError):
            rest.append(line)
    return table, rest


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return shapes_folder(tmp_path_factory.mktemp("own") / "shapes")


def test_every_number_of_the_report_ranks_real_pictures_first(shapes, tmp_path, capsys):
    """An unlabelled folder, through `dcgan.evaluate` itself (its --images are 28x28 grey):
    each impostor's every printed number is worse than the real held-out half's, and the
    report says what the floor is."""
    from dcgan import evaluate

    own = trainset.load(str(shapes))
    # evaluate scores against 2 x 200 images of the folder, picked by --seed as `sample` picks
    # them: the other 200 are real images it has never seen
    unseen = own.sample(own.count, seed=0)[400:]
    for name, images in [("real", unseen), *impostors(unseen)]:
        np.savez(tmp_path / "x.npz", images=images)
        argv = ["--images", tmp_path / "x.npz", "--data", shapes, "--json", tmp_path / "s.json"]
        assert evaluate.main(list(map(str, argv))) == 0
        table, rest = report_numbers(capsys.readouterr().out)
        assert set(table) == {"FID", "precision (k-NN)", "recall (k-NN)"}, table
        how = rest[0].split("; scored in ")[1]
        assert "random multi-scale convnet" in how and "classifier" not in how
        assert any(line.startswith("floor: real (floor) is 200 other real images") for line in rest)
        if name == "real":  # as good as the floor, within noise
            assert table["precision (k-NN)"][0] > 0.7 and table["recall (k-NN)"][0] > 0.7
            continue
        for label, (got, floor) in table.items():
            worse = got > floor if label == "FID" else got < floor
            assert worse, f"{name}: {label} {got}, real (floor) {floor}"
        saved = json.loads((tmp_path / "s.json").read_text())
        assert saved["generated"]["n"] == saved["real"]["n"] == 200


def test_colour_pictures_score_noise_black_and_blur_below_real_ones(shapes):
    from dcgan import features, metrics

    own = trainset.load(str(shapes), 32, 3)
    real = own.sample(own.count)
    read = features.Reader((32, 32, 3))
    for name, images in impostors(real[400:]):
        assert_real_is_best(metrics.own_scores(images, real[:400], read, seed=0), name)
