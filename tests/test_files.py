"""Writes that never leave half a file nor touch a neighbour, and where named files come from."""

import os

import pytest

from dcgan import files


def test_atomic_write_replaces_in_one_step(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    neighbour = tmp_path / ".tmp-a.json"  # a user's file with the name older code used
    neighbour.write_text("mine")
    files.write_text(target, "new")
    assert target.read_text() == "new" and neighbour.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-a.json", "a.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["grid.png"]


def test_atomic_path_replaces_a_folder(tmp_path):
    target = tmp_path / "model_savedmodel"
    target.mkdir()
    (target / "old").write_text("x")
    with files.atomic_path(target) as tmp:
        tmp.unlink()
        tmp.mkdir()
        (tmp / "new").write_text("y")
    assert os.listdir(target) == ["new"] and os.listdir(tmp_path) == ["model_savedmodel"]


def test_resolve_flag_then_environment_then_shipped(monkeypatch):
    for name, variable in files.ENV.items():
        monkeypatch.delenv(variable, raising=False)
        if name == "data":
            continue
        assert files.resolve(name) == (files.shipped(name), "shipped")
        assert files.shipped(name).is_file(), name
        monkeypatch.setenv(variable, "from_env.h5")
        assert files.resolve(name) == (files.Path("from_env.h5"), f"${variable}")
        assert files.resolve(name, "flag.h5")[1] == "flag"


def test_a_savedmodel_is_never_taken_from_the_environment(tmp_path, monkeypatch):
    folder = tmp_path / "generator_savedmodel"
    folder.mkdir()
    for name, variable in files.ENV.items():
        if name == "data":
            continue
        monkeypatch.setenv(variable, str(folder))
        with pytest.raises(ValueError, match=f"\\${variable} points at the folder .*explicitly"):
            files.resolve(name)
        assert files.resolve(name, str(folder)) == (folder, "flag")  # named: the user's choice


def test_written_files_get_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        files.write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
