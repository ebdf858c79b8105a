"""`python -m dcgan.generate`: grids, arrays, walks, every saved format, and one-line errors.

A few checks run the real CLI in a subprocess (start-up, exit codes, what reaches stderr); the
rest call the same `main` in this process, which saves a TensorFlow start-up per check.
"""

import matplotlib.image
import numpy as np
import pytest

from dcgan import generate


def in_process(*args, capfd=None):
    """Runs the CLI's `run_cli(main)` here; returns (exit code, stdout, stderr)."""
    from dcgan.cli import run_cli

    with pytest.raises(SystemExit) as e:
        run_cli(generate.main, [str(a) for a in args])
    out, err = capfd.readouterr() if capfd else ("", "")
    return e.value.code, out, err


def images(path):
    with np.load(path) as f:
        return f["images"]


def assert_usage_error(code, err, out_dir):
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip("\n").split("\n")
    assert (
        len(lines) == 1 and lines[0].startswith("error:") and lines[0][len("error:") :].strip()
    ), err
    assert not list(out_dir.iterdir()), f"bad input still wrote {list(out_dir.iterdir())}"


def grid_side(count, scale=3, pad=2):
    """Pixels of a save_grid PNG along one axis holding `count` digits."""
    return (count * (28 + pad) + pad) * scale


@pytest.mark.slow
def test_cli_writes_png_grid_with_model_from_env(tiny_run, tmp_path, python_cli):
    proc = python_cli(
        "-m",
        "dcgan.generate",
        "-n",
        16,
        "--seed",
        3,
        "--out",
        "grid.png",
        cwd=tmp_path,
        DCGAN_GENERATOR=str(tiny_run / "generator.h5"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "16 digits" in proc.stdout and "seed 3" in proc.stdout
    png = matplotlib.image.imread(tmp_path / "grid.png")
    assert png.shape[:2] == (grid_side(4), grid_side(4))  # 16 digits as 4 x 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]  # no temporary left behind


@pytest.mark.slow
def test_npz_same_seed_same_digits_across_processes(tiny_run, tmp_path, capfd, python_cli):
    model = tiny_run / "generator.h5"
    args = ["--model", model, "-n", 12, "--seed", 1, "--out", tmp_path / "a.npz"]
    proc = python_cli("-m", "dcgan.generate", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    a = images(tmp_path / "a.npz")
    assert a.dtype == np.uint8 and a.shape == (12, 28, 28)

    for seed, name in ((1, "b.npz"), (2, "c.npz")):
        code, out, err = in_process(
            "--model", model, "-n", 12, "--seed", seed, "--out", tmp_path / name, capfd=capfd
        )
        assert code == 0, err
    np.testing.assert_array_equal(images(tmp_path / "b.npz"), a)  # same seed, another process
    assert not np.array_equal(images(tmp_path / "c.npz"), a)  # another seed


def test_model_accepts_h5_keras_and_savedmodel_folder(tiny_run, tmp_path, capfd):
    # The SavedModel is the epoch-1 checkpoint, saved with generator_e0001.h5; after one epoch
    # generator.h5 and generator.keras hold the same weights too.
    got = {}
    for model in (
        "generator_e0001.h5",
        "generator.h5",
        "generator.keras",
        "generator_e0001_savedmodel",
    ):
        out = tmp_path / f"{model}.npz"
        code, _, err = in_process(
            "--model", tiny_run / model, "-n", 8, "--seed", 5, "--out", out, capfd=capfd
        )
        assert code == 0, f"{model}: {err}"
        got[model] = images(out)
        assert got[model].shape == (8, 28, 28) and got[model].dtype == np.uint8
    np.testing.assert_array_equal(got["generator.keras"], got["generator.h5"])
    diff = np.abs(got["generator_e0001_savedmodel"].astype(int) - got["generator_e0001.h5"])
    assert diff.max() <= 1  # a graph and an eager run may round one grey level apart


def test_interpolate_rows_of_walks(tiny_run, tmp_path, capfd):
    model = tiny_run / "generator.h5"
    code, out, err = in_process(
        "--model",
        model,
        "-n",
        3,
        "--interpolate",
        5,
        "--seed",
        7,
        "--out",
        tmp_path / "walks.npz",
        capfd=capfd,
    )
    assert code == 0, err
    assert "3 rows of 5" in out
    walks = images(tmp_path / "walks.npz")
    assert walks.dtype == np.uint8 and walks.shape == (3, 5, 28, 28)

    # The ends of each row are the digits of the two latent vectors it joins.
    from dcgan import sampling

    g = sampling.load_generator(model)
    z = np.asarray(sampling.latents(6, 100, 7))
    np.testing.assert_array_equal(walks[:, 0], sampling.generate(g, 3, z=z[:3]))
    np.testing.assert_array_equal(walks[:, -1], sampling.generate(g, 3, z=z[3:]))
    mid = sampling.generate(g, 3, z=(z[:3] + z[3:]) / 2)
    assert np.abs(walks[:, 2].astype(int) - mid).max() <= 1  # step 2 of 0..4 is the midpoint

    code, _, err = in_process(
        "--model", model, "-n", 2, "--interpolate", 4, "--out", tmp_path / "walks.png", capfd=capfd
    )
    assert code == 0, err
    png = matplotlib.image.imread(tmp_path / "walks.png")
    assert png.shape[:2] == (grid_side(2), grid_side(4))  # one walk a row


@pytest.mark.slow
@pytest.mark.parametrize("case", ["text file", "discriminator", "missing"])
def test_cli_bad_model_is_one_line_exit_2(case, tiny_run, tmp_path, python_cli):
    models = tmp_path / "models"
    models.mkdir()
    (models / "generator.h5").write_text("not a model\n")
    model = {
        "text file": models / "generator.h5",
        "discriminator": tiny_run / "discriminator.h5",
        "missing": models / "nope.h5",
    }[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["--model", model, "-n", 4, "--out", out_dir / "grid.png"]
    proc = python_cli("-m", "dcgan.generate", *args, cwd=out_dir)
    assert_usage_error(proc.returncode, proc.stderr, out_dir)
    assert str(model.name) in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["-n", 0],
        ["-n", -3],
        ["--out", "x.jpg2"],
        ["--out", "noext"],
        ["--out", "nodir/x.png"],
        ["--out", "."],
        ["--interpolate", 1],
        ["--seed", 2**64],
        ["--frobnicate"],
        ["-n", "many"],
    ],
    ids=lambda a: " ".join(map(str, a)),
)
def test_bad_arguments_are_one_line_exit_2(args, tiny_run, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = in_process("--model", tiny_run / "generator.h5", *args, capfd=capfd)
    assert_usage_error(code, err, tmp_path)


def test_missing_default_model_says_how_to_fix(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DCGAN_GENERATOR", str(tmp_path / "absent.h5"))
    code, _, err = in_process("-n", 4, capfd=capfd)
    assert_usage_error(code, err, tmp_path)
    assert "absent.h5" in err and "DCGAN_GENERATOR" in err


def test_default_model_is_the_shipped_one(monkeypatch):
    from dcgan import files

    monkeypatch.delenv("DCGAN_GENERATOR", raising=False)
    assert files.resolve("generator") == (files.shipped("generator"), "shipped")
    assert files.shipped("generator").is_file()
    monkeypatch.setenv("DCGAN_GENERATOR", "elsewhere.keras")
    assert files.resolve("generator")[0].name == "elsewhere.keras"
    assert files.resolve("generator", "given.h5")[0].name == "given.h5"


def test_a_savedmodel_named_only_by_the_environment_is_refused(tmp_path, capfd, monkeypatch):
    folder, work = tmp_path / "generator_savedmodel", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    (folder / "saved_model.pb").write_bytes(b"whatever graph")
    monkeypatch.chdir(work)
    monkeypatch.setenv("DCGAN_GENERATOR", str(folder))
    code, _, err = in_process("-n", 4, capfd=capfd)
    assert_usage_error(code, err, work)
    assert "$DCGAN_GENERATOR points at the folder" in err and "explicitly" in err


FRUIT = [
    "apple", "banana", "cherry", "date", "elder", "fig", "grape", "guava", "kiwi", "lemon",
    "lime", "mango", "melon", "nectarine", "olive", "papaya", "peach", "pear", "plum", "quince",
    "raspberry",
]  # fmt: skip


@pytest.fixture(scope="module")
def conditional_models(tmp_path_factory):
    """Untrained conditional generators: a 21-class folder run (its config.json names its
    subfolders), one of classes named by numbers, and one with no run settings beside it."""
    import json

    from dcgan.models import build_pair

    root = tmp_path_factory.mktemp("conditional")
    made = {}
    for name, classes, config in (
        ("fruit", len(FRUIT), {"conditional": True, "data": "x/fruit", "train_classes": FRUIT}),
        (
            "numbered",
            4,
            {"conditional": True, "data": "x/n", "train_classes": ["0", "1", "10", "2"]},
        ),
        ("bare", 10, None),
    ):
        (root / name).mkdir()
        build_pair(conditional=True, classes=classes)[0].save(root / name / "generator.h5")
        if config:
            (root / name / "config.json").write_text(json.dumps(config))
        made[name] = root / name / "generator.h5"
    return made


@pytest.mark.parametrize(
    "model, asked, index, says",
    [
        ("fruit", "Banana", 1, "of class 1 (banana)"),
        ("fruit", " kiwi ", 8, "of class 8 (kiwi)"),
        ("fruit", "15", 15, "of class 15 (papaya)"),  # a class past the ten digits
        ("fruit", "raspberry", 20, "of class 20 (raspberry)"),
        ("numbered", "10", 2, "of class 2 (10)"),  # a name wins over a number
        ("numbered", "3", 3, "of class 3 (2)"),
        ("bare", "9", 9, "digits 9"),
    ],
)
def test_a_class_by_the_name_its_run_gives_it(
    conditional_models, model, asked, index, says, tmp_path, capfd
):
    out = tmp_path / "x.npz"
    argv = ["--model", conditional_models[model], "--class", asked, "-n", 3, "--out", out]
    code, stdout, err = in_process(*argv, capfd=capfd)
    assert code == 0, err
    assert says in stdout
    with np.load(out) as f:
        assert (f["digits"] == index).all()


@pytest.mark.parametrize(
    "model, asked, says",
    [
        ("fruit", "Sneaker", "its classes are apple, banana, cherry"),
        ("fruit", "21", "... (21 in all), or 0-20 by number"),
        ("bare", "Sneaker", "unknown: no run settings"),  # never guessed from the name asked
        ("bare", "Ankle boot", "so ask for one by number"),
        ("bare", "10", "its classes are 0-9"),
        ("bare", "²", "not a class of"),  # a digit to str.isdigit, not to int()
        ("bare", "٣", "not a class of"),
        ("bare", "1.5", "not a class of"),
        ("bare", " ", "is empty"),
    ],
)
def test_a_class_that_is_not_the_generators_is_one_line(
    conditional_models, model, asked, says, tmp_path, capfd
):
    argv = ["--model", conditional_models[model], "--class", asked, "--out", tmp_path / "x.png"]
    code, _, err = in_process(*argv, capfd=capfd)
    assert_usage_error(code, err, tmp_path)
    assert says in err and "invalid literal" not in err
