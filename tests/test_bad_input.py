"""Bad input to the three CLIs, in one table: exit code 2, one stderr line starting 'error:' that
names the problem and the fix, no traceback, and nothing written or changed (issue 7, item 5).

Most rows run `run_cli(main, argv)` in this process (a subprocess pays ~5 s of TensorFlow start-up);
rows marked SUB run the real `python -m dcgan.<cli>`. Cases already checked elsewhere are not
repeated: see test_train_cli.py, test_generate.py and test_metrics.py for the others.
"""

import json
import shutil

import numpy as np
import pytest

from dcgan import evaluate, generate, train
from dcgan.cli import run_cli

from conftest import REPO, run_python

MAINS = {"train": train.main, "generate": generate.main, "evaluate": evaluate.main}
SUB = "subprocess"

# (cli, argv with {placeholders} from the `paths` fixture, words the line must hold, how)
CASES = [
    # train: data that is missing, empty, truncated or of the wrong shape
    ("train", ["--data", "{empty_npz}"], ["holds no images", "pass --data"], None),
    ("train", ["--data", "{truncated_npz}"], ["cannot read", "pass --data"], SUB),
    ("train", ["--data", "{images_npz}"], ["no 'x_train' array", "pass --data"], None),
    ("train", ["--data", "{truncated_idx}"], ["truncated", "pass --data"], None),
    ("train", ["--data", "{empty_dir}"], ["has no train-images-idx3-ubyte", "pass --data"], None),
    # train: counts and choices
    ("train", ["--steps-per-epoch", "0"], ["--steps-per-epoch must be at least 1"], None),
    ("train", ["--save-every", "-1"], ["--save-every must be at least 1"], None),
    ("train", ["--lr", "-1"], ["--lr must be greater than 0"], None),
    ("train", ["--precision", "fp8"], ["invalid choice: 'fp8'", "float32"], None),
    ("train", ["--conditional", "--arch", "mlp"], ["--conditional works with --arch dcgan"], None),
    (
        "train",
        ["--conditional", "--data", "{one_class_npz}"],
        ["needs digit labels 0-9", "labelled"],
        None,
    ),
    # train: where it writes and what it resumes
    (
        "train",
        ["--data", "sample", "--out", "{a_file}/run"],
        ["cannot write", "pick another --out"],
        None,
    ),
    ("train", ["--resume", "{empty_dir}"], ["not a run directory", "pass --resume"], SUB),
    # train: never touch what the user owns; no dead ends (every flag checked before a write)
    ("train", ["--out", "{user_folder}"], ["not a dcgan run", "pick a new or empty folder"], None),
    ("train", ["--out", "{a_file}"], ["is a file", "pick a new or empty folder"], None),
    ("train", ["--seed", "-1"], ["--seed must be at least 0"], None),
    ("train", ["--seed", "4294967296"], ["--seed must be at most 4,294,967,295"], None),
    ("train", ["--latent-dim", "100000"], ["--latent-dim must be at most 4,096"], None),
    ("train", ["--batch-size", "1000000"], ["--batch-size must be at most 65,536"], None),
    ("train", ["--eval-samples", "1"], ["--eval-samples must be at least 50"], None),
    ("train", ["--lr", "inf"], ["--lr must be finite"], None),
    ("train", ["--lr", "nan"], ["--lr must be a number"], None),
    ("train", ["--ema", "1"], ["--ema must be less than 1"], None),
    ("train", ["--minutes", "0"], ["--minutes must be greater than 0"], None),
    ("train", ["--minutes", "1e9"], ["--minutes must be at most 10,000,000"], None),
    ("train", ["--epochs", "10000000"], ["--epochs must be at most 1,000,000"], None),
    # train: a `.lock` that dcgan did not make (here a link to a user's file) is never written
    (
        "train",
        ["--data", "sample", "--out", "{lock_link_folder}"],
        ["not dcgan's run lock", "move it away"],
        None,
    ),
    (
        "train",
        ["--resume", "{lock_link_run}", "--epochs", "2"],
        ["not dcgan's run lock", "move it away"],
        None,
    ),
    # train --resume: settings come from the run; its config.json and state must fit
    (
        "train",
        ["--resume", "{run}", "--lr", "0.1"],
        ["--lr would change the run", "drop --lr"],
        None,
    ),
    (
        "train",
        ["--resume", "{config_only_run}", "--seed", "3", "--arch", "mlp"],
        ["--arch, --seed"],
        None,
    ),
    ("train", ["--resume", "{malformed_config_run}"], ["no readable config.json"], None),
    (
        "train",
        ["--resume", "{run}", "--data", "{one_class_npz}", "--epochs", "2"],
        ["was trained on 4,000 digits", "has 100 other ones", "--new-data"],
        None,
    ),
    ("train", ["--new-data"], ["--new-data goes with --resume"], None),
    (
        "train",
        ["--resume", "{edited_config_run}"],
        ["--epochs must be a whole number", "restore it"],
        None,
    ),
    (
        "train",
        ["--resume", "{other_model_run}", "--epochs", "2"],
        ["does not fit this model", "the generator's weights"],
        None,
    ),
    (
        "train",
        ["--resume", "{run}", "--epochs", "1"],
        ["already has 1 epochs", "larger --epochs"],
        None,
    ),
    # generate: models that are not generators, output that cannot be written, too much
    ("generate", ["--model", "{wrong_shape_h5}"], ["maps", "pass the generator"], SUB),
    ("generate", ["--model", "{truncated_h5}"], ["not a loadable", "pass --model"], None),
    ("generate", ["--model", "{run}"], ["not a loadable", "pass --model"], None),
    (
        "generate",
        ["--model", "{generator}", "--out", "{a_file}/grid.png"],
        ["cannot write", "pick another --out"],
        None,
    ),
    (
        "generate",
        ["--model", "{generator}", "-n", "2000000"],
        ["more than 1,000,000", "run several times"],
        None,
    ),
    (
        "generate",
        ["--digit", "all", "--interpolate", "4"],
        ["--interpolate needs one digit", "--digit 0-9"],
        None,
    ),
    # generate & evaluate: a generator whose output is NaN is an error naming it, not black digits
    ("generate", ["--model", "{nan_generator}"], ["NaN or infinite", "nan_generator.h5"], None),
    ("evaluate", ["--model", "{nan_generator}"], ["NaN or infinite", "nan_generator.h5"], None),
    # evaluate: scores against a handful of real digits would mean nothing
    (
        "evaluate",
        ["--images", "{images}", "--data", "{five_test_digits}"],
        ["has 5 test digits", "at least 1,000"],
        None,
    ),
    # evaluate: images that are empty, truncated or not uint8; a discriminator; counts; flags
    ("evaluate", ["--images", "{empty_images}"], ["(0, 28, 28)", "28x28"], None),
    ("evaluate", ["--images", "{truncated_images}"], ["cannot read", "pass --images"], SUB),
    ("evaluate", ["--images", "{float_images}"], ["float32", "uint8"], None),
    ("evaluate", ["--images", "{empty_npz}"], ["no 'images' array", "pass --images"], None),
    ("evaluate", ["--images", "{bad_digits_images}"], ["'digits' must hold one digit 0-9"], None),
    ("evaluate", ["--model", "{discriminator}"], ["discriminator", "pass the generator"], None),
    (
        "evaluate",
        ["--model", "{generator}", "--classifier", "{generator}"],
        ["not 28x28x1 digits -> 10 classes", "--classifier"],
        None,
    ),
    ("evaluate", ["--model", "{generator}", "--k", "0"], ["--k must be at least 1"], None),
    (
        "evaluate",
        ["--model", "{generator}", "--images", "{empty_images}"],
        ["not both"],
        None,
    ),
    ("evaluate", ["--train-classifier", "--epochs", "0"], ["--epochs must be from 1"], None),
    ("evaluate", ["--train-classifier", "--epochs", "10000000"], ["--epochs must be from 1"], None),
    ("evaluate", ["--model", "{generator}", "--seed", "-1"], ["--seed must be from 0"], None),
    # evaluate: every output is checked before the work that fills it; the shipped models stay
    (
        "evaluate",
        ["--train-classifier", "--data", "sample", "--out", "{shipped_classifier}"],
        ["among the shipped models", "never replaced"],
        None,
    ),
    (
        "evaluate",
        ["--train-classifier", "--data", "sample", "--out", "classifier.txt"],
        ["unknown extension '.txt'", ".h5 or .keras"],
        None,
    ),
    (
        "evaluate",
        ["--train-classifier", "--data", "sample", "--json", "{a_file}/x.json"],
        ["cannot write", "pick another --json"],
        None,
    ),
    (
        "evaluate",
        ["--images", "{images}", "--data", "sample", "--json", "{a_file}/x.json"],
        ["cannot write", "pick another --json"],
        None,
    ),
    (
        "evaluate",
        ["--images", "{images}", "--data", "sample", "--json", "{lock_link_folder}/.lock"],
        ["--json", "is a symbolic link", "never writes through a link"],
        None,
    ),
]


@pytest.fixture(scope="module")
def paths(tiny_run, tmp_path_factory):
    """The bad inputs, and `run`: a copy of the tiny run that every case must leave as it is."""
    import keras

    d = tmp_path_factory.mktemp("bad")
    digits = np.load(REPO / "dcgan" / "mnist_sample.npz")["x_train"][:100]
    p = {
        "run": d / "run",
        "generator": tiny_run / "generator.h5",
        "discriminator": tiny_run / "discriminator.h5",
    }
    shutil.copytree(tiny_run, p["run"])

    np.savez(
        p.setdefault("empty_npz", d / "empty.npz"),
        x_train=np.zeros((0, 28, 28), np.uint8),
        y_train=np.zeros(0, np.uint8),
    )
    np.savez(d / "good.npz", x_train=digits, y_train=np.zeros(100, np.uint8))
    p["one_class_npz"] = d / "good.npz"  # every label 0
    good = (d / "good.npz").read_bytes()
    (p.setdefault("truncated_npz", d / "truncated.npz")).write_bytes(good[: len(good) // 2])
    np.savez(p.setdefault("images_npz", d / "images_only.npz"), images=digits)

    idx = p.setdefault("truncated_idx", d / "idx")
    idx.mkdir()
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (100, 28, 28))
    (idx / "train-images-idx3-ubyte").write_bytes(header + digits[:60].tobytes())  # 60 of 100
    (idx / "train-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(100)
    )
    (p.setdefault("empty_dir", d / "empty_dir")).mkdir()
    (p.setdefault("a_file", d / "a_file")).write_text("a file, not a folder\n")
    (p.setdefault("config_only_run", d / "config_only")).mkdir()
    shutil.copy(tiny_run / "config.json", p["config_only_run"])
    user = p.setdefault("user_folder", d / "users_own")
    user.mkdir()
    (user / "generator.h5").write_text("the user's own file\n")
    (user / "history.csv").write_text("epoch,mine\n1,2\n")
    config = json.loads((tiny_run / "config.json").read_text())
    for name, change in (
        ("malformed", None),
        ("edited", {"epochs": "ten"}),
        ("other_model", {"latent_dim": 64}),
    ):
        folder = p.setdefault(
            f"{name}_config_run" if name != "other_model" else "other_model_run", d / name
        )
        shutil.copytree(tiny_run, folder)
        text = "{not json" if change is None else json.dumps({**config, **change})
        (folder / "config.json").write_text(text)

    from dcgan import files

    p["shipped_classifier"] = files.shipped("classifier")
    notes = p.setdefault("users_notes", d / "notes") / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("the user's own notes\n")
    (p.setdefault("lock_link_folder", d / "lock_link_folder")).mkdir()
    (p["lock_link_folder"] / ".lock").symlink_to(notes)
    shutil.copytree(tiny_run, p.setdefault("lock_link_run", d / "lock_link_run"))
    (p["lock_link_run"] / ".lock").unlink(missing_ok=True)
    (p["lock_link_run"] / ".lock").symlink_to(notes)

    wrong = keras.Sequential([keras.Input((100,)), keras.layers.Dense(10)])
    wrong.save(p.setdefault("wrong_shape_h5", d / "wrong_shape.h5"))
    gen = (tiny_run / "generator.h5").read_bytes()
    (p.setdefault("truncated_h5", d / "truncated.h5")).write_bytes(gen[: len(gen) // 2])

    np.savez(
        p.setdefault("empty_images", d / "empty_images.npz"), images=np.zeros((0, 28, 28), np.uint8)
    )
    np.savez(
        p.setdefault("bad_digits_images", d / "bad_digits.npz"),
        images=digits,
        digits=np.full(100, 10),
    )
    np.savez(p.setdefault("images", d / "images.npz"), images=digits)
    np.savez(
        p.setdefault("five_test_digits", d / "five.npz"),
        x_train=digits,
        y_train=np.arange(100) % 10,
        x_test=digits[:5],
        y_test=np.arange(5),
    )
    nan = keras.models.load_model(tiny_run / "generator.h5", compile=False)
    kernel = next(v for v in nan.weights if "kernel" in v.path)
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    nan.save(p.setdefault("nan_generator", d / "nan_generator.h5"))
    imgs = (d / "images.npz").read_bytes()
    (p.setdefault("truncated_images", d / "truncated_images.npz")).write_bytes(
        imgs[: len(imgs) // 2]
    )
    np.savez(
        p.setdefault("float_images", d / "float_images.npz"), images=digits.astype(np.float32) / 255
    )
    return p


def snapshot(*folders):
    """(relative path, mtime, size) of every file under the folders."""
    return {
        (str(f), str(q.relative_to(f)), q.stat().st_mtime_ns, q.stat().st_size)
        for f in folders
        for q in f.rglob("*")
    }


@pytest.mark.parametrize(
    "cli, argv, words, how",
    # A fresh interpreter costs ~5 s of TensorFlow start-up: those rows join the slow set.
    [pytest.param(*c, marks=[pytest.mark.slow] if c[3] == SUB else []) for c in CASES],
    ids=[f"{c[0]} {' '.join(c[1])}{' (subprocess)' if c[3] else ''}" for c in CASES],
)
def test_bad_input(cli, argv, words, how, paths, tiny_run, tmp_path, monkeypatch, capsys):
    argv = [a.format(**paths) for a in argv]
    if cli == "train":
        argv.append("--quiet")
    monkeypatch.chdir(tmp_path)  # default outputs (runs/..., grid.png) would land here
    monkeypatch.delenv("DCGAN_DATA", raising=False)
    before = snapshot(*watched(paths, tiny_run))
    if how == SUB:
        p = run_python("-m", f"dcgan.{cli}", *argv, cwd=tmp_path)
        code, out, err = p.returncode, p.stdout, p.stderr
    else:
        with pytest.raises(SystemExit) as e:
            run_cli(MAINS[cli], argv)
        code = e.value.code
        out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert "Traceback" not in out + err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert snapshot(*watched(paths, tiny_run)) == before, "bad input changed an existing run"
    assert not list(tmp_path.iterdir()), "bad input wrote something"


def watched(paths, tiny_run):
    """The folders that no bad input may change."""
    names = (
        "run",
        "empty_dir",
        "config_only_run",
        "user_folder",
        "malformed_config_run",
        "edited_config_run",
        "other_model_run",
        "users_notes",
        "lock_link_folder",
        "lock_link_run",
    )
    return [tiny_run, paths["shipped_classifier"].parent, *(paths[n] for n in names)]


@pytest.mark.parametrize(
    "value, words",
    [
        ("{not json", ["TF_CONFIG is not valid JSON"]),
        ('["worker"]', ["TF_CONFIG has no 'cluster' object"]),
        ('{"cluster": {"worker": "localhost:1"}}', ["must be a list of 'host:port' strings"]),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "chief"}}',
            ["must name this machine's type"],
        ),
        (
            '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, '
            '"task": {"type": "worker", "index": 2}}',
            ["task index 2 is out of range", "numbered 0 to 1"],
        ),
        # numbers are range-checked where they enter: a port past 65535, a port 0, no host
        (
            '{"cluster": {"worker": ["localhost:99999"]}, "task": {"type": "worker"}}',
            ["'localhost:99999' needs a host and a port from 1 to 65535"],
        ),
        (
            '{"cluster": {"worker": ["localhost:1", "localhost:70000"]}, '
            '"task": {"type": "worker", "index": 0}}',
            ["'localhost:70000' needs a host and a port from 1 to 65535"],
        ),
        (
            '{"cluster": {"worker": ["localhost:0"]}, "task": {"type": "worker"}}',
            ["port from 1 to 65535"],
        ),
        ('{"cluster": {"worker": [":2222"]}, "task": {"type": "worker"}}', ["needs a host"]),
    ],
)
def test_bad_tf_config(value, words, paths, tiny_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TF_CONFIG", value)
    before = snapshot(*watched(paths, tiny_run))
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, ["--data", "sample", "--epochs", "1", "--quiet"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, (w, err)
    assert snapshot(*watched(paths, tiny_run)) == before and not list(tmp_path.iterdir())
