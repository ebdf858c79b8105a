"""A checkpoint save that fails midway leaves the previous checkpoint as it was and no temporary
file behind (issue 7, item 2). Each failure is forced by a save that writes part of its file and
then raises, as a full disk or a crash inside h5py would."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from dcgan import callbacks as cb
from dcgan import checkpoints, sampling, training

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = pytest.mark.precision


class DiskFull(OSError):
    pass


def files(folder):
    """{relative path: bytes} of everything under `folder`, temporary files included."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    return copy


@pytest.fixture(scope="module")
def gan(tiny_run):
    """The tiny run's DCGAN, built (not trained): what Checkpoints saves."""
    cfg = training.Config.of_run(tiny_run).resolved()
    return training.build(cfg, tf.distribute.get_strategy())


def test_failed_model_save_keeps_previous_file(run_copy, monkeypatch):
    generator = sampling.load_generator(run_copy / "generator.h5")
    before = files(run_copy)

    def half_save(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(before["generator.h5"][:1000])  # a start of an HDF5 file, then the disk fills
        raise DiskFull(28, "No space left on device")

    for name in ("generator.h5", "generator.keras"):
        monkeypatch.setattr(generator, "save", half_save)
        with pytest.raises(DiskFull):
            checkpoints.atomic_save(generator, run_copy / name)
        assert files(run_copy) == before, f"{name}: the old file changed or a partial file was left"
    sampling.load_generator(run_copy / "generator.h5")  # still loads


def test_failed_savedmodel_export_keeps_previous_folder(run_copy, monkeypatch):
    generator = sampling.load_generator(run_copy / "generator.h5")
    before = files(run_copy)

    def half_export(path, *args, **kwargs):
        (tmp := run_copy / path).mkdir()
        (tmp / "saved_model.pb").write_bytes(b"\x08\x01 half")
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(generator, "export", half_export)
    with pytest.raises(DiskFull):
        checkpoints.atomic_save(generator, run_copy / "generator_e0001_savedmodel")
    assert files(run_copy) == before
    assert not list(run_copy.glob(".*.tmp*")), "a temporary folder was left"


def test_failed_state_save_keeps_previous_state_and_resume_point(run_copy, gan, monkeypatch):
    assert checkpoints.load_state(gan, run_copy / "state_e0001.npz") == 1
    before = files(run_copy)
    real_savez = np.savez

    def half_savez(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)  # half of the new state reached the disk
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(np, "savez", half_savez)
    with pytest.raises(DiskFull):
        checkpoints.save_state(gan, run_copy / "state_e0002.npz", 2)
    with pytest.raises(DiskFull):  # overwriting the same epoch's state
        checkpoints.save_state(gan, run_copy / "state_e0001.npz", 1)
    monkeypatch.undo()
    assert files(run_copy) == before, "the old state changed or a partial state file was left"
    path, epoch = checkpoints.latest_state(run_copy, log=lambda m: None)
    assert (path.name, epoch) == ("state_e0001.npz", 1)
    assert checkpoints.load_state(gan, path) == 1


@pytest.mark.slow  # saves every net and calibrates the EMA generator: ~9 s
def test_checkpoint_callback_failing_midway_leaves_last_complete_checkpoint(
    run_copy, gan, monkeypatch
):
    """Checkpoints at epoch 2: the .h5 files are written, then the state save fails. Resume still
    finds epoch 1's state, and nothing half-written is left."""
    ckpt = cb.Checkpoints(run_copy, every=1, savedmodel=False)
    ckpt.set_model(gan)
    state1 = (run_copy / "state_e0001.npz").read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise DiskFull(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(DiskFull):
        ckpt.on_epoch_end(1)  # the end of epoch 2
    assert (run_copy / "state_e0001.npz").read_bytes() == state1
    assert not (run_copy / "state_e0002.npz").exists()
    assert not list(run_copy.glob(".*.tmp*"))
    assert checkpoints.latest_state(run_copy, log=lambda m: None)[1] == 1
