"""Resume survives what happens to real runs: a damaged checkpoint, a kill during the final
save, a second process, data that moved, a run stopped before its first checkpoint."""

import json
from pathlib import Path
import shutil

import numpy as np
import pytest

from dcgan import checkpoints, files, train
from dcgan.cli import run_cli

from conftest import REPO

pytestmark = pytest.mark.slow  # fresh interpreters that train and resume


def run_train(argv, capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(train.main, [str(a) for a in argv])
    return e.value.code, capsys.readouterr().err


def weights(path):
    """The model's weights in layer order (not by HDF5 name: layer names carry counters that
    depend on what else the process built before)."""
    import keras

    return keras.models.load_model(path, compile=False).get_weights()


@pytest.fixture
def run_copy(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def test_a_damaged_checkpoint_falls_back_to_the_one_before(run_copy):
    newest = run_copy / "state_e0002.npz"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit inside an array: only its checksum sees it
    newest.write_bytes(bytes(data))
    notes = []
    assert checkpoints.latest_state(run_copy, log=notes.append) == (run_copy / "state_e0001.npz", 1)
    assert "state_e0002.npz is damaged" in notes[0]


def test_a_run_killed_during_its_final_save_is_completed_by_resume(run_copy, capsys):
    final = ("generator.h5", "generator.keras", "discriminator.h5", "generator_ema.h5")
    for name in final:
        (run_copy / name).unlink()
    code, err = run_train(["--resume", run_copy, "--quiet"], capsys)
    assert code == 0, err
    assert all((run_copy / name).exists() for name in final)
    # The final models are the last state's: the same weights as the epoch-2 export.
    for a, b in zip(weights(run_copy / "generator.h5"), weights(run_copy / "generator_e0002.h5")):
        np.testing.assert_array_equal(a, b)
    code, err = run_train(["--resume", run_copy, "--quiet"], capsys)
    assert code == 2 and "already has 2 epochs and its final models" in err


def test_two_processes_cannot_train_one_run(run_copy, capsys):
    with files.lock(run_copy):
        before = sorted((p.name, p.stat().st_mtime_ns) for p in run_copy.iterdir())
        code, err = run_train(["--resume", run_copy, "--epochs", "3", "--quiet"], capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "in use by another dcgan process (pid" in err
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run_copy.iterdir()) == before


def test_resume_takes_moved_data_and_a_run_without_checkpoints(tmp_path, capsys):
    first, moved = tmp_path / "a.npz", tmp_path / "moved" / "b.npz"
    shutil.copy(REPO / "dcgan" / "mnist_sample.npz", first)
    run = tmp_path / "run"
    flags = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "32", "--quiet"]
    code, err = run_train([*flags, "--data", first, "--out", run], capsys)
    assert code == 0, err
    # Killed before its first checkpoint: only config.json and what the first epoch began.
    for p in run.iterdir():
        if p.name not in ("config.json", "logs", files.LOCK_NAME):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    moved.parent.mkdir()
    first.rename(moved)
    code, err = run_train(["--resume", run, "--quiet"], capsys)
    assert code == 2 and "a.npz" in err and "not found" in err
    code, err = run_train(["--resume", run, "--data", moved, "--quiet"], capsys)
    assert code == 0, err
    assert "from its start (epoch 0)" in err
    assert (run / "state_e0001.npz").exists() and (run / "generator.h5").exists()
    assert json.loads((run / "config.json").read_text())["data"] == str(moved)


def test_new_runs_leave_no_lock_held(trained_run):
    with files.lock(trained_run):  # the finished run released its lock
        pass
    assert Path(trained_run, files.LOCK_NAME).exists()
