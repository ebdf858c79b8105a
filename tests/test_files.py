"""Writes that never leave half a file nor touch a neighbour, and where named files come from."""

import os
import stat

import pytest

from dcgan import files

from conftest import REPO, run_python


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


# The run lock never writes through what it finds: a link, a special file, someone's own file.


def _lock_cases(tmp_path):
    mine = tmp_path / "users_file.txt"
    mine.write_text("the user's own text\n")
    cases = {}
    for name in ("symlink", "own_file", "hard_link", "fifo", "folder"):
        run = tmp_path / name
        run.mkdir()
        lock = run / files.LOCK_NAME
        if name == "symlink":
            lock.symlink_to(mine)
        elif name == "own_file":
            lock.write_text("my notes, not a pid\n")
        elif name == "hard_link":
            os.link(mine, lock)
        elif name == "fifo":
            os.mkfifo(lock)
        else:
            lock.mkdir()
        cases[name] = run
    return mine, cases


def test_the_lock_never_writes_through_a_file_it_did_not_make(tmp_path):
    mine, cases = _lock_cases(tmp_path)
    for run in cases.values():
        with pytest.raises(ValueError, match="not dcgan's run lock"):
            files.check_lock(run)
        with pytest.raises(ValueError, match="not dcgan's run lock"):
            with files.lock(run):
                pass
    assert mine.read_text() == "the user's own text\n"
    assert (cases["own_file"] / files.LOCK_NAME).read_text() == "my notes, not a pid\n"
    assert (cases["symlink"] / files.LOCK_NAME).is_symlink()


def test_a_lock_left_by_a_killed_run_is_taken(tmp_path):
    (tmp_path / files.LOCK_NAME).write_text("12345")
    files.check_lock(tmp_path)
    with files.lock(tmp_path):
        assert (tmp_path / files.LOCK_NAME).read_text() == str(os.getpid())
    with files.lock(tmp_path):  # taken again once released
        pass


def test_a_new_run_refuses_a_folder_whose_lock_is_not_dcgans(tmp_path):
    from dcgan.runs import check_new_run_dir

    mine, cases = _lock_cases(tmp_path)
    for run in cases.values():
        with pytest.raises(ValueError, match="not dcgan's run lock"):
            check_new_run_dir(run)
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / files.LOCK_NAME).write_text("12345")
    assert check_new_run_dir(stale) == stale


# Special files are written as what they are (a pipe, a terminal) or refused, never replaced.


def test_a_named_pipe_is_written_into_not_replaced(tmp_path):
    import threading

    fifo = tmp_path / "scores.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    files.write_text(fifo, '{"fid": 1}\n')
    reader.join(10)
    assert got == [b'{"fid": 1}\n']
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["scores.json"]


def test_a_character_device_is_written_into_not_replaced():
    files.write_text("/dev/null", "gone\n")  # as root, a rename would have replaced it
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert files.destination("/dev/stdout") == "stream"


def test_a_socket_a_link_and_a_block_device_are_refused_before_writing(tmp_path):
    import socket

    sock_path = tmp_path / "s.json"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    mine = tmp_path / "mine.txt"
    mine.write_text("mine\n")
    (tmp_path / "link.json").symlink_to(mine)
    try:
        for path, words in ((sock_path, "is a socket"), (tmp_path / "link.json", "symbolic link")):
            with pytest.raises(ValueError, match=words):
                files.write_text(path, "x")
            with pytest.raises(ValueError, match=f"--json .*{words}"):
                files.check_destination(path, "--json")
        block = tmp_path / "b.json"
        try:
            os.mknod(block, stat.S_IFBLK | 0o600, os.makedev(7, 0))
        except OSError:  # no CAP_MKNOD here
            pass
        else:
            with pytest.raises(ValueError, match="block device"):
                files.write_text(block, "x")
            assert stat.S_ISBLK(os.lstat(block).st_mode)
            block.unlink()
    finally:
        sock.close()
    assert mine.read_text() == "mine\n" and (tmp_path / "link.json").is_symlink()
    assert stat.S_ISSOCK(os.lstat(sock_path).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["link.json", "mine.txt", "s.json"]


@pytest.mark.slow  # a fresh interpreter loading TensorFlow and the classifier
def test_json_to_stdout(tmp_path):
    digits = __import__("numpy").load(REPO / "dcgan" / "mnist_sample.npz")["x_test"][:60]
    __import__("numpy").savez(tmp_path / "d.npz", images=digits)
    p = run_python(
        "-m",
        "dcgan.evaluate",
        "--images",
        tmp_path / "d.npz",
        "--data",
        "sample",
        "--json",
        "/dev/stdout",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert '"fid"' in p.stdout and os.listdir(tmp_path) == ["d.npz"]


def test_a_full_disk_names_the_file(tmp_path, monkeypatch, capsys):
    import errno

    from dcgan.cli import run_cli

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "history.csv"
    with pytest.raises(OSError, match="history.csv"):
        files.write_text(target, "epoch\n")
    assert os.listdir(tmp_path) == []

    def main(argv):
        files.write_text(target, "epoch\n")

    with pytest.raises(SystemExit) as e:
        run_cli(main, [])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert (
        err == f"error: {target}: No space left on device (free some space, or write elsewhere)\n"
    )


def test_a_full_device_written_directly_names_it(capsys):
    from dcgan.cli import run_cli

    with pytest.raises(SystemExit) as e:
        run_cli(lambda argv: files.write_text("/dev/full", "x" * 100_000), [])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error: /dev/full: No space left on device")
