"""Resume checks everything it reads, appends to or replaces before any work: an edited or
damaged run folder fails in one line naming the file and is left as it was; what the run can
make again (a missing history.csv, samples/ or logs/) is made again, and said so."""

import os
from pathlib import Path
import shutil

import numpy as np
import pytest

from dcgan import train
from dcgan.cli import run_cli

from conftest import REPO


def _copy(src, dst):
    """The tiny run without its models; the big state file hard-linked (never edited in place:
    a case that changes it writes a new file)."""
    dst.mkdir()
    for p in src.iterdir():
        if p.name.endswith((".h5", ".keras", "_savedmodel")):
            continue
        if p.is_dir():
            shutil.copytree(p, dst / p.name)
        elif p.name.endswith(".npz"):
            os.link(p, dst / p.name)
        else:
            shutil.copy2(p, dst / p.name)
    return dst


def _replace(path, writer):
    path.unlink()
    writer(path)


def _edit_history(run, text):
    _replace(run / "history.csv", lambda p: p.write_text(text))


def _state_epoch(run, value):
    state = run / "state_e0001.npz"
    with np.load(state) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["epoch"] = np.asarray(value)
    _replace(state, lambda p: np.savez(p, **arrays))


def _to_file(path):
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.write_text("not what dcgan wrote\n")


def _to_folder(path):
    path.unlink()
    path.mkdir()


HEADER = "epoch,d_acc,d_fake,d_loss,d_real,g_loss\n"

# (what is done to the run, words the error line must hold)
DAMAGE = {
    "history header": (
        lambda r: _edit_history(r, "epoch,mine\n1,2\n"),
        ["history.csv has a header"],
    ),
    "history cell": (
        lambda r: _edit_history(r, HEADER + "1,0.5,0.5,abc,0.5,0.5\n"),
        ["history.csv line 2: d_loss is 'abc'"],
    ),
    "history epoch": (
        lambda r: _edit_history(r, HEADER + "7,0.5,0.5,0.5,0.5,0.5\n"),
        ["history.csv line 2 is for epoch '7'"],
    ),
    "history short": (lambda r: _edit_history(r, HEADER), ["history.csv has 0 epochs"]),
    "history binary": (
        lambda r: _replace(r / "history.csv", lambda p: p.write_bytes(b"\xff\xfe\x00")),
        ["cannot read", "history.csv"],
    ),
    "history folder": (lambda r: _to_folder(r / "history.csv"), ["history.csv is not a regular"]),
    "history link": (
        lambda r: _replace(r / "history.csv", lambda p: p.symlink_to(r.parent / "users.csv")),
        ["history.csv is a symbolic link"],
    ),
    "state epoch negative": (lambda r: _state_epoch(r, -5), ["every checkpoint", "damaged"]),
    "state epoch not its name": (lambda r: _state_epoch(r, 0), ["every checkpoint", "damaged"]),
    "state epoch float": (lambda r: _state_epoch(r, 1.5), ["every checkpoint", "damaged"]),
    "samples file": (lambda r: _to_file(r / "samples"), ["samples is a file"]),
    "logs file": (lambda r: _to_file(r / "logs"), ["logs is a file"]),
    "samples link": (
        lambda r: (shutil.rmtree(r / "samples"), (r / "samples").symlink_to(r.parent)),
        ["samples is a symbolic link"],
    ),
    "grid damaged": (
        lambda r: _replace(r / "samples" / "epoch_0001.png", lambda p: p.write_bytes(b"\x89PNG")),
        ["epoch_0001.png is not a readable PNG"],
    ),
    "best.json damaged": (lambda r: (r / "best.json").write_text("{"), ["best.json is damaged"]),
    "losses.png folder": (lambda r: _to_folder(r / "losses.png"), ["losses.png is not a regular"]),
    "summary.txt fifo": (
        lambda r: _replace(r / "summary.txt", os.mkfifo),
        ["summary.txt is not a regular"],
    ),
}


def snapshot(folder):
    return {
        (str(q.relative_to(folder)), os.lstat(q).st_mtime_ns, os.lstat(q).st_size)
        for q in folder.rglob("*")
    }


def resume(run, capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, ["--resume", str(run), "--epochs", "2", "--quiet"])
    return e.value.code, capsys.readouterr().err


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_run_is_refused_before_any_work(case, tiny_run, tmp_path, capsys):
    (tmp_path / "users.csv").write_text("the user's own table\n")
    run = _copy(tiny_run, tmp_path / "run")
    damage, words = DAMAGE[case]
    damage(run)
    before = snapshot(run)
    code, err = resume(run, capsys)
    assert code == 2, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err  # notes first
    err = errors[0]
    for w in words:
        assert w in err, (w, err)
    assert snapshot(run) == before
    assert (tmp_path / "users.csv").read_text() == "the user's own table\n"


@pytest.mark.slow  # resumes: an epoch and its saves (~15 s)
def test_what_can_be_made_again_is_made_again_and_said_so(tiny_run, tmp_path, capsys):
    run = _copy(tiny_run, tmp_path / "run")
    (run / "history.csv").unlink()
    shutil.rmtree(run / "samples")
    code, err = resume(run, capsys)
    assert code == 0, err
    assert "history.csv is missing: a new one starts at epoch 2" in err
    assert "samples is missing" in err
    assert Path(run / "history.csv").read_text().splitlines()[1].startswith("2,")
    assert (run / "samples" / "epoch_0002.png").exists()


@pytest.mark.slow  # resumes: an epoch and its saves (~15 s)
def test_other_data_is_refused_unless_asked_for(tiny_run, tmp_path, capsys):
    """The same count of other digits (here the sample's, reversed) is caught by the run's
    fingerprint of its data; --new-data goes on, and says so."""
    with np.load(REPO / "dcgan" / "mnist_sample.npz") as f:
        arrays = {k: f[k][::-1] for k in f.files}
    other = tmp_path / "other.npz"
    np.savez(other, **arrays)
    run = _copy(tiny_run, tmp_path / "run")
    before = snapshot(run)
    argv = ["--resume", str(run), "--epochs", "2", "--data", str(other), "--quiet"]
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "was trained on 4,000 digits of bundled MNIST sample" in err and "--new-data" in err
    assert snapshot(run) == before
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, [*argv, "--new-data"])
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    assert "going on with" in err and "(--new-data)" in err
