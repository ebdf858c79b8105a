"""A run folder's life, step by step: made new, written, found again to resume, closed. The
command-line tests (test_train_cli, test_resume*) run these through `dcgan.train`; here each
step is held to its promise on its own."""

import json
import types

import numpy as np
import pytest

from dcgan import runs
from dcgan.settings import Config


def write_state(run_dir, epoch):
    path = run_dir / f"state_e{epoch:04d}.npz"
    np.savez(path, epoch=np.int64(epoch), weights=np.arange(4.0))
    return path


@pytest.fixture
def run_dir(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    runs.write_config(folder, Config(epochs=3), data_source="sample", backend="tensorflow")
    return folder


def test_a_folder_without_config_json_is_not_resumed(tmp_path):
    with pytest.raises(ValueError, match="is not a run.*--resume a run directory"):
        runs.find_resume_state(tmp_path)


def test_resume_takes_the_newest_whole_state_and_says_which_it_skipped(run_dir):
    assert runs.find_resume_state(run_dir) == (None, 0)  # stopped before its first epoch
    write_state(run_dir, 1)
    write_state(run_dir, 2).write_bytes(b"PK\x03\x04 cut short")
    said = []
    state, epoch = runs.find_resume_state(run_dir, log=said.append)
    assert (state.name, epoch) == ("state_e0001.npz", 1)
    assert len(said) == 1 and "state_e0002.npz is damaged" in said[0]


def test_every_state_damaged_refuses_and_keeps_the_files(run_dir):
    damaged = write_state(run_dir, 1)
    damaged.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="every checkpoint.*is damaged.*start a new run"):
        runs.find_resume_state(run_dir, log=lambda m: None)
    assert damaged.read_bytes() == b"not a zip"


def test_a_run_folder_inside_its_image_folder_is_refused(tmp_path):
    images = tmp_path / "pictures"
    images.mkdir()
    runs.check_outside_data(tmp_path / "elsewhere", images)  # outside: fine
    runs.check_outside_data(tmp_path / "pictures-runs", images)  # a sibling with a longer name
    runs.check_outside_data(images / "run", None)  # not a folder of images: nothing to guard
    with pytest.raises(ValueError, match="inside the training data.*pass --out a folder outside"):
        runs.check_outside_data(images / "cats" / "run", images)
    with pytest.raises(ValueError, match="move .* out of .*then resume it"):
        runs.check_outside_data(images / "run", images, resume=True)


def test_a_new_run_never_goes_over_anyones_files(tmp_path, run_dir):
    with pytest.raises(ValueError, match="already holds a run: continue it with --resume"):
        runs.check_new_run_dir(run_dir)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(ValueError, match="other files in it"):
        runs.make_run_dir(mine)
    assert (mine / "thesis.tex").read_text() == "keep me"
    made = runs.make_run_dir(tmp_path / "new" / "run")
    assert made.is_dir() and not any(made.iterdir())


def test_a_resumed_run_rewrites_only_what_resume_may_change(run_dir):
    before = json.loads((run_dir / "config.json").read_text())
    cfg = Config(epochs=9, lr=0.5, minutes=4.0)
    facts = dict(data_source="mnist", train_images=10, train_digest="d")
    runs.write_run_config(run_dir, cfg, str(run_dir), **facts)
    after = json.loads((run_dir / "config.json").read_text())
    assert (after["epochs"], after["minutes"], after["train_images"]) == (9, 4.0, 10)
    assert after["lr"] == before["lr"], "a resumed run keeps its recipe"
    assert after["backend"] == "tensorflow" and after["out"] == before["out"]


def test_history_keeps_exactly_the_epochs_resumed_from(run_dir):
    csv = run_dir / "history.csv"
    csv.write_text("epoch,d_loss\n1,0.5\n2,0.4\n3,0.3\n")
    runs.truncate_history(csv, 2)
    assert csv.read_text() == "epoch,d_loss\n1,0.5\n2,0.4\n"
    runs.truncate_history(run_dir / "none.csv", 2)  # a run with no history yet: nothing to do


def test_the_closing_lines_say_how_to_go_on_and_what_to_use(run_dir):
    (run_dir / "history.csv").write_text("epoch,d_loss,fid\n1,0.5,\n")
    (run_dir / "generator_ema.h5").write_bytes(b"")
    saved = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**saved, "minutes": 2.0}))
    lines = runs.closing(run_dir, 90).splitlines()
    assert lines[0] == "epoch 1: d_loss 0.5; trained in 1.5 min of wall time"
    assert "stopped by --minutes 2 after epoch 1 of 3" in lines[1]
    assert f"--resume {run_dir}" in lines[1]
    assert "generator_ema.h5" in lines[2] and "dcgan.evaluate" in lines[3]
    # Images no shipped classifier reads are not offered to evaluate.
    (run_dir / "config.json").write_text(json.dumps({**saved, "channels": 3}))
    assert "dcgan.evaluate" not in runs.closing(run_dir, 90)


def test_another_backends_run_is_refused_with_the_one_to_use(run_dir, monkeypatch):
    monkeypatch.setattr(runs, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="tensorflow backend and this is jax.*KERAS_BACKEND="):
        runs.check_backend(run_dir)


def test_other_training_data_is_refused_unless_asked_for(run_dir):
    saved = json.loads((run_dir / "config.json").read_text())
    saved.update(train_images=100, train_digest="abc")
    (run_dir / "config.json").write_text(json.dumps(saved))
    same = types.SimpleNamespace(source="x", count=100, digest="abc", classes=None)
    runs.check_resume_data(run_dir, same)
    other = types.SimpleNamespace(source="y.npz", count=60, digest="zzz", classes=None)
    with pytest.raises(ValueError, match="trained on 100 digits.*pass --new-data"):
        runs.check_resume_data(run_dir, other)
    said = []
    runs.check_resume_data(run_dir, other, new_data=True, log=said.append)
    assert said and "--new-data" in said[0]


def test_a_conditional_run_keeps_its_number_of_classes(run_dir):
    saved = json.loads((run_dir / "config.json").read_text())
    saved.update(conditional=True, train_classes=["cat", "dog"])
    (run_dir / "config.json").write_text(json.dumps(saved))
    three = types.SimpleNamespace(source="pets", count=1, digest="d", classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="conditional run of 2 classes and pets has 3"):
        runs.check_resume_data(run_dir, three, new_data=True)
