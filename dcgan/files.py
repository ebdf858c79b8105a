"""The one home of what touches the file system: the shipped models, the environment variables
that point at files, and writes that never leave half a file (or clobber a neighbour).

Imports nothing heavy, so the command lines can use it before TensorFlow loads.
"""

import contextlib
import fcntl
from importlib.resources import files
import json
import os
from pathlib import Path
import shutil
import stat
import tempfile

NUM_CLASSES = 10  # digits 0-9: the classes of MNIST, of a conditional GAN and of the classifier
IMAGE_FORMATS = (".png", ".npz")  # what generated digits can be written as: a grid, or the arrays
# A PNG grid holds at most this many digits (100 x 100, 9,000 pixels a side at scale 3, ~1 GB
# while matplotlib draws it); more go to an .npz.
MAX_GRID = 10_000
LOCK_NAME = ".lock"  # in a run folder while a process trains it
LOCK_MAX = 32  # bytes: what a lock holds (a pid); a bigger `.lock` is not one of ours

# Each file the project can be pointed at has one flag and one environment variable.
ENV = {
    "data": "DCGAN_DATA",
    "generator": "DCGAN_GENERATOR",
    "conditional_generator": "DCGAN_CONDITIONAL_GENERATOR",
    "classifier": "DCGAN_CLASSIFIER",
    "fashion_classifier": "DCGAN_FASHION_CLASSIFIER",
}

# One model per folder, each with its card (README.md) and Keras's unzipped .keras beside it, so
# that each folder can be pushed to the Hugging Face Hub as it is (`dcgan.hub`).
_SHIPPED = {
    "generator": ("generator", "generator.h5"),
    "conditional_generator": ("conditional", "generator.h5"),
    "classifier": ("classifier", "classifier.h5"),
    "fashion_classifier": ("fashion-classifier", "classifier.h5"),
    "fashion_generator": ("fashion", "generator.h5"),
}


def shipped_dir():
    """The folder of the models that ship with the project, read only (nothing is written there).

    Installed from a wheel, it is the package data `dcgan/saved_models/`, found through
    `importlib.resources`; in a checkout or an editable install, `saved_models/` at the
    repository root, which the wheel build maps to that package folder.
    """
    installed = files("dcgan") / "saved_models"
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parent.parent / "saved_models"


def shipped(name):
    """Path of a shipped model: "generator", "conditional_generator", "classifier",
    "fashion_classifier" or "fashion_generator" (the conditional Fashion-MNIST one)."""
    return shipped_dir().joinpath(*_SHIPPED[name])


def resolve(name, given=None):
    """(path, where it came from) for a file the user can name by flag or environment variable:
    the flag's value, else $ENV[name], else the shipped file.

    A SavedModel folder runs whatever graph it holds, so one is only taken when named
    explicitly (a flag, or a library call): from an environment variable it raises ValueError.
    Keras files (.h5, .keras) and Keras model folders (`is_keras_folder`) are loaded in Keras's
    safe mode and may come from anywhere."""
    if given:
        return Path(given).expanduser(), "flag"
    env = os.environ.get(ENV[name])
    if env:
        path = Path(env).expanduser()
        if path.is_dir() and not is_keras_folder(path):
            raise ValueError(
                f"${ENV[name]} points at the folder {path}, a SavedModel that would run whatever "
                "graph it holds: name it explicitly with the command's flag, or point "
                f"${ENV[name]} at a .h5 or .keras file"
            )
        return path, f"${ENV[name]}"
    return shipped(name), "shipped"


# What the kinds of special file are called, for the one line that refuses one.
_SPECIAL = {stat.S_IFSOCK: "socket", stat.S_IFBLK: "block device"}


def destination(path):
    """What writing `path` means, found before anything is written: "new" (nothing there yet),
    "file", "folder", or "stream": a named pipe or a character device (a terminal,
    /dev/stdout, /dev/null), which is written directly and never replaced.

    Raises ValueError for what dcgan never writes: a symbolic link to a file or folder (replacing
    it would cut the user's link, writing through it would write wherever it points; links such
    as /dev/stdout to a pipe or a terminal are streams), a socket or a block device."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "new"
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            target = None
        standard = str(path.absolute()).startswith(("/dev/", "/proc/"))  # /dev/stdout & co.
        if target is not None and (
            standard or stat.S_ISFIFO(target.st_mode) or stat.S_ISCHR(target.st_mode)
        ):
            return "stream"
        raise ValueError(
            f"{path} is a symbolic link (to {os.path.realpath(path)}): dcgan replaces the files "
            "it writes and never writes through a link; name the target itself, or remove the "
            "link"
        )
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return "stream"
    kind = _SPECIAL.get(stat.S_IFMT(st.st_mode), "special file")
    raise ValueError(
        f"{path} is a {kind}: dcgan writes regular files, named pipes and terminals, never a "
        f"{kind}; pick another path"
    )


def check_destination(path, flag, suffixes=None):
    """`path` (expanded) if a command may write its output there, checked before the work that
    fills it (writes nothing): a stream (see `destination`), or a file name ending in one of
    `suffixes` in a folder that exists and is writable. Raises ValueError naming `flag`."""
    path = Path(path).expanduser()
    try:
        kind = destination(path)
    except ValueError as e:
        raise ValueError(f"{flag} {e}") from None
    if kind == "stream":
        if not os.access(path, os.W_OK):
            raise ValueError(f"cannot write {flag} {path} (permission denied): pick another {flag}")
        return path
    if suffixes and path.suffix.lower() not in suffixes:
        raise ValueError(
            f"{flag} {path}: unknown extension {path.suffix or '(none)'!r}; "
            f"use {' or '.join(suffixes)}"
        )
    if kind == "folder":
        raise ValueError(f"{flag} {path} is a folder: give a file name")
    folder = path.parent
    if (
        not folder.is_dir()
        or not os.access(folder, os.W_OK | os.X_OK)
        or (kind == "file" and not os.access(path, os.W_OK))
    ):
        raise ValueError(
            f"cannot write {path} (no such folder, or not writable): pick another {flag}"
        )
    return path


def check_image_format(path, name=None):
    """ValueError, naming `name` (default: the path), unless `path` ends in one of
    IMAGE_FORMATS."""
    suffix = Path(path).suffix
    if suffix.lower() not in IMAGE_FORMATS:
        raise ValueError(
            f"{name or path}: unknown extension {suffix or '(none)'!r}; "
            "use .png for a grid or .npz for the arrays"
        )


def check_grid(count, name=None):
    """ValueError, naming `name` if given, unless `count` digits fit in one PNG grid."""
    if count > MAX_GRID:
        raise ValueError(
            f"{name + ': ' if name else ''}{count:,} digits are too many for one PNG grid (at "
            f"most {MAX_GRID:,}): ask for fewer, or write them to an .npz"
        )


# What keras.saving.load_model reads from a folder (a Hugging Face Hub repository's too): the
# members of a .keras zip, unpacked.
KERAS_FOLDER_FILES = ("config.json", "metadata.json", "model.weights.h5")


def is_keras_config(path):
    """Whether the config.json at `path` is a Keras model's (what load_model builds the model
    from), not a dcgan run's settings."""
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and {"class_name", "config"} <= config.keys()


def is_keras_folder(path):
    """Whether `path` is a folder Keras loads as a model (an unzipped .keras), not a
    SavedModel."""
    path = Path(path)
    return (
        path.is_dir()
        and (path / "model.weights.h5").is_file()
        and is_keras_config(path / "config.json")
    )


@contextlib.contextmanager
def atomic_path(path):
    """Yields a fresh temporary path beside `path` (same folder, same suffix, a unique name that
    no user file has), then moves it onto `path` in one step; on any error the temporary file or
    folder is removed and `path` is left as it was.

    A named pipe or character device at `path` (a "stream", see `destination`) is yielded as
    it is, to be written directly: it is never replaced by a regular file. A symbolic link, a
    socket or a block device raises ValueError before anything is written."""
    path = Path(path)
    try:
        with _atomic_path(path) as tmp:
            yield tmp
    except OSError as e:
        if e.filename is not None or not e.errno:
            raise
        # A full disk's ENOSPC (from write, fsync or close) names no file: name the one
        raise type(e)(e.errno, e.strerror or str(e), str(path)) from None


@contextlib.contextmanager
def _atomic_path(path):
    if destination(path) == "stream":
        yield path
        return
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    _TEMPORARIES.add(tmp)
    try:
        yield tmp
        if tmp.is_file():  # on disk before the rename, so a crash leaves the old file or the new
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's files are owner-only; ours are not
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    finally:
        _TEMPORARIES.discard(tmp)


_TEMPORARIES = set()  # the temporary files of the atomic writes under way


def _remove(tmp):
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


def remove_temporaries():
    """Removes the temporary files of every atomic write under way: for a process about to end
    without unwinding (a stop request while TensorFlow runs C++ code)."""
    for tmp in list(_TEMPORARIES):
        try:
            _remove(tmp)
        except OSError:
            pass


def _lock_problem(path, st, head):
    """Why the `.lock` at `path` (its stat `st`, its first bytes `head`) is not one dcgan wrote,
    or None: dcgan's is a regular file with no other name, holding nothing or a pid."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_nlink != 1:
        return "has other names (a hard link)"
    if st.st_size > LOCK_MAX or not (head.strip().isdigit() or not head.strip()):
        return "holds something other than a process id"
    return None


def _refuse_lock(folder, why):
    return ValueError(
        f"{Path(folder) / LOCK_NAME} {why}, so it is not dcgan's run lock and is left untouched: "
        "move it away, or pick another folder"
    )


def check_lock(folder):
    """Raises ValueError unless `folder`'s `.lock` is absent or one dcgan left there (reads
    only), so that a run refuses a folder before its work, not when it takes the lock."""
    path = Path(folder) / LOCK_NAME
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    head = b""
    if stat.S_ISREG(st.st_mode) and st.st_size <= LOCK_MAX:
        with open(path, "rb") as f:
            head = f.read(LOCK_MAX + 1)
    why = _lock_problem(path, st, head)
    if why:
        raise _refuse_lock(folder, why)


@contextlib.contextmanager
def lock(folder):
    """Holds an exclusive lock on `folder` (through a `.lock` file in it) while the block runs,
    so that two processes never write the same run. The lock goes with the process, however it
    ends. Raises ValueError when another process holds it, or when the `.lock` there is not one
    dcgan made (a link, a special file, someone's own file): that is never opened for writing
    through, nor overwritten."""
    path = Path(folder) / LOCK_NAME
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask())
    except FileExistsError:
        try:
            fd = os.open(path, flags)  # O_NOFOLLOW: a symbolic link fails here (ELOOP)
        except OSError as e:
            st = os.lstat(path)
            raise _refuse_lock(folder, _lock_problem(path, st, b"") or e.strerror) from None
        st = os.fstat(fd)
        head = os.pread(fd, LOCK_MAX + 1, 0) if stat.S_ISREG(st.st_mode) else b""
        why = _lock_problem(path, st, head)
        if why:
            os.close(fd)
            raise _refuse_lock(folder, why) from None
    f = os.fdopen(fd, "r+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read(LOCK_MAX).strip()
        f.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise ValueError(
            f"{folder} is in use by another dcgan process{who}: wait for it to finish, "
            "or pick another --out"
        ) from None
    try:
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path, data):
    """Writes `data` to `path` atomically, synced to disk."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path, text):
    return write_bytes(path, text.encode())
