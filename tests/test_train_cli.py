"""`python -m dcgan.train`: the run directory it leaves, its flags, and its answers to bad input."""

import csv
import json
import os

import numpy as np
import pytest

from dcgan import train

from conftest import run_python

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = pytest.mark.precision


def cli(*args):
    return run_python("-m", "dcgan.train", *args, timeout=300)


@pytest.fixture(scope="module")
def run_dir(trained_run, tmp_path_factory):
    """A copy of the session's two-epoch run, for the tests here that add to it."""
    import shutil

    copy = tmp_path_factory.mktemp("runs") / "r"
    shutil.copytree(trained_run, copy)
    return copy


@pytest.mark.slow
def test_run_directory_explains_itself(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    for key in (
        "epochs",
        "batch_size",
        "latent_dim",
        "lr",
        "beta1",
        "targets",
        "noise",
        "arch",
        "seed",
        "steps_per_epoch",
        "save_every",
        "sample_every",
        "data",
        "out",
        "precision",
        "ema",
    ):
        assert key in config, key
    assert config["lr"] == 2e-4 and config["targets"] == "soft" and config["noise"] == "truncated"
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"d_loss", "g_loss", "d_acc", "d_real", "d_fake"} <= set(rows[0])
    for name in (
        "losses.png",
        "progress.gif",
        "samples/epoch_0001.png",
        "samples/epoch_0002.png",
        "state_e0001.npz",
        "state_e0002.npz",
        "generator_e0002.h5",
        "discriminator_e0002.h5",
        "generator_e0002_savedmodel/saved_model.pb",
        "generator.h5",
        "generator.keras",
        "discriminator.h5",
        "generator_ema.h5",
    ):
        assert (run_dir / name).exists(), name
    # Resume state every epoch; model exports keep --save-every.
    assert not (run_dir / "generator_e0001.h5").exists()
    assert not list(run_dir.glob(".*.tmp*")), "no temporary files left behind"


def test_help_lists_every_flag_with_default():
    text = train.parser().format_help()
    for flag in (
        "--epochs",
        "--batch-size",
        "--latent-dim",
        "--lr",
        "--beta1",
        "--targets",
        "--noise",
        "--arch",
        "--seed",
        "--steps-per-epoch",
        "--save-every",
        "--sample-every",
        "--data",
        "--out",
    ):
        assert flag in text, flag
    text = " ".join(text.split())  # argparse wraps lines
    assert "256 reference" in text and "(default: 100)" in text and "2e-4" in text


@pytest.mark.slow
def test_resume_continues_history(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(run_dir, copy)
    with open(copy / "history.csv", "a") as f:  # an epoch logged after the last checkpoint
        f.write("3,0.5,0.5,0.5,0.5,0.5\n")
    (copy / "state_e0002.npz").write_bytes(b"corrupt")  # the newest checkpoint is broken
    p = cli("--resume", str(copy), "--epochs", "3", "--quiet")
    assert p.returncode == 0, p.stderr
    assert "state_e0002.npz is damaged" in p.stderr and "epoch 1" in p.stderr
    assert [r["epoch"] for r in csv.DictReader(open(copy / "history.csv"))] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--batch-size", "9000", "--data", "sample"], "use --batch-size"),
        (["--batch-size", "31"], "must be even"),
        (["--targets", "fuzzy"], "invalid choice: 'fuzzy' .*'soft', 'hard'"),
        (["--noise", "pink"], "invalid choice: 'pink' .*'truncated', 'normal', 'uniform'"),
        (["--arch", "gpt"], "invalid choice: 'gpt' .*'dcgan', 'mlp'"),
        (["--ema", "2"], "--ema"),
        (["--data", "/no/such/file.npz"], "not found"),
        (["--epochs", "two"], "invalid int"),
        (["--resume", "/no/such/run"], "not a run directory"),
    ],
)
def test_bad_input_is_one_clear_line(argv, words, tmp_path):
    # UsageError from the flags, the library's ValueError or FileNotFoundError from what they name.
    with pytest.raises((ValueError, OSError), match=words) as e:
        out = [] if "--resume" in argv else ["--out", str(tmp_path / "o")]
        train.main([*argv, *out, "--quiet"])
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_a_log_file_gets_plain_lines_within_the_epoch_and_the_cap_is_said(tmp_path):
    """stdout a pipe, as a log file: a plain line every few steps beside Keras's line an epoch;
    --steps-per-epoch beyond the data's 8 steps is said in one line, and 8 are run."""
    from dcgan import data

    x, y, _ = data.load("sample")
    np.savez(tmp_path / "d.npz", x_train=x[:64], y_train=y[:64], x_test=x[:8], y_test=y[:8])
    flags = ["--epochs", "1", "--batch-size", "16", "--steps-per-epoch", "100"]
    p = cli("--data", tmp_path / "d.npz", *flags, "--jit-compile", "off", "--out", tmp_path / "run")
    assert p.returncode == 0, p.stderr
    notes = [line for line in p.stderr.splitlines() if "--steps-per-epoch" in line]
    assert len(notes) == 1 and "is 8 steps, so each epoch runs 8" in notes[0], p.stderr
    steps = [line for line in p.stdout.splitlines() if line.startswith("epoch 1/1 step ")]
    assert [s.split(":")[0] for s in steps] == [f"epoch 1/1 step {i}/8" for i in (2, 4, 6)]
    assert "\r" not in p.stdout and "\x1b[" not in p.stdout
    assert json.loads((tmp_path / "run" / "config.json").read_text())["steps_per_epoch"] == 8


@pytest.mark.slow
def test_bad_files_exit_2_without_traceback(tmp_path, run_dir):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00" * 100)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x_train=np.zeros((10, 32, 32), np.uint8))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    before = sorted(p.name for p in run_dir.iterdir())
    for argv in (
        ["--data", str(bad)],
        ["--data", str(wrong)],
        ["--data", "sample", "--out", str(locked / "run")]
        if os.geteuid()
        else ["--data", "sample", "--out", "/proc/run"],
        ["--data", "sample", "--out", str(run_dir)],
    ):
        p = cli(*argv, "--epochs", "1")
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 2, (argv, p.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in p.stderr, (
            p.stderr
        )
    assert sorted(p.name for p in run_dir.iterdir()) == before, "an existing run is never touched"
