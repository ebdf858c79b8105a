"""What lets a run survive: models saved atomically, resume state written and found again."""

import csv
from fnmatch import fnmatch
import json
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan import files
from dcgan.gan import METRICS
from dcgan.models import export
from dcgan.settings import MAX_EPOCHS

STATE_GLOB = "state_e*.npz"


def atomic_save(model, path, trainable=None):
    """Saves `model` to `path` (.h5, .keras, or a SavedModel folder for any other name) through a
    temporary name, so a crash never leaves half a file; a failed save leaves `path` as it was.
    A training twin is saved as its built-in-layer net (`models.export`). `trainable=True` saves
    a frozen net (the EMA generator) like G, so that it loads ready to fine-tune."""
    path, model = Path(path), export(model)
    was = model.trainable
    model.trainable = was if trainable is None else trainable
    try:
        with files.atomic_path(path) as tmp:
            if path.suffix in (".h5", ".keras"):
                model.save(tmp)
            else:  # SavedModel folder: export wants a path that does not exist yet
                tmp.unlink()
                model.export(str(tmp), verbose=False)
    finally:
        model.trainable = was
    return path


GROUPS = {
    "g": "the generator's weights",
    "d": "the discriminator's weights",
    "gopt": "the generator's optimizer",
    "dopt": "the discriminator's optimizer",
    "ema": "the EMA generator's weights",
}


def _all_variables(gan):
    """Everything resume needs, in a fixed order."""
    # `variables`, not `weights`: D's Dropout layers keep their RNG state there.
    groups = {
        "g": gan.generator.variables,
        "d": gan.discriminator.variables,
        "gopt": gan.g_optimizer.variables,
        "dopt": gan.d_optimizer.variables,
    }
    if gan.ema_generator is not None:
        groups["ema"] = gan.ema_generator.weights
    return groups


def save_state(gan, path, epoch):
    """Weights, both optimizers, EMA and the epoch, written atomically as one .npz."""
    arrays = {
        f"{k}/{i:04d}": np.asarray(v)
        for k, vs in _all_variables(gan).items()
        for i, v in enumerate(vs)
    }
    with files.atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, epoch=epoch, **arrays)


def load_state(gan, path):
    """Restores a state file into a compiled DCGAN; returns the epoch it was saved at.
    Raises ValueError when the file does not fit the model."""
    gan.d_optimizer.build(gan.discriminator.trainable_variables)
    gan.g_optimizer.build(gan.generator.trainable_variables)
    with np.load(path) as f:
        for k, vs in _all_variables(gan).items():
            names = sorted(n for n in f.files if n.startswith(f"{k}/"))
            if len(names) != len(vs) and k in ("g", "d"):  # written before RNG state was kept
                vs = (gan.generator if k == "g" else gan.discriminator).weights
            shapes = [tuple(f[n].shape) for n in names]
            if shapes != [tuple(v.shape) for v in vs]:
                raise ValueError(
                    f"{path} does not fit this model ({GROUPS[k]} differ): it is from another "
                    "run or another version; resume the run it belongs to, or start a new one"
                )
            for v, n in zip(vs, names):
                v.assign(f[n])
        return int(f["epoch"])


def latest_state(run_dir, log=print):
    """(path, epoch) of the newest state file that reads back whole, skipping damaged ones;
    (None, 0) when there is none. Every array is read, so each zip member's CRC-32 checksum is
    verified, not only the epoch's."""
    for path in sorted(Path(run_dir).glob(STATE_GLOB), reverse=True):
        try:
            with np.load(path, allow_pickle=False) as f:
                for name in f.files:
                    f[name]
                return path, _epoch(path, f["epoch"])
        except Exception as e:
            log(
                f"checkpoint {path.name} is damaged ({type(e).__name__}); falling back to the "
                "one before"
            )
    return None, 0


def _epoch(path, value):
    """The epoch a state file holds: a whole number, the one its name says (state_e0003.npz
    holds 3); anything else (an edited field, a renamed file) makes it damaged."""
    named = path.name.removeprefix("state_e").removesuffix(".npz")
    if (
        value.shape != ()
        or value.dtype.kind not in "iu"
        or not named.isdigit()
        or int(value) != int(named)
        or not 1 <= int(value) <= MAX_EPOCHS
    ):
        raise ValueError(f"{path.name} holds epoch {value!r}, not {named}")
    return int(value)


# What a run folder holds, by the kind each name must be: resume reads or replaces them all.
RUN_FILES = (
    "config.json",
    "summary.txt",
    "history.csv",
    "losses.png",
    "progress.gif",
    "best.json",
    "*.h5",
    "*.keras",
    STATE_GLOB,
)
RUN_FOLDERS = {
    "samples": "the run's folder of sample grids",
    "logs": "the run's TensorBoard logs",
    "generator_e*_savedmodel": "a SavedModel the run exported",
}


def check_resumable(run_dir, epoch, log=print):
    """Checks, before any work, everything that resuming `run_dir` from `epoch` reads, appends
    to or replaces, so that a damaged or edited run folder fails in one line naming the file
    instead of in a traceback after an epoch of work. What the run makes again is only noted
    through `log` (a missing history.csv, samples/ or logs/ folder).

    Raises ValueError naming the file: a symbolic link anywhere in the run (a write there would
    land outside it), a folder where the run writes a file or a file where it keeps a folder,
    a history.csv that does not parse or stops before `epoch`, a damaged best.json or sample
    grid."""
    run_dir = Path(run_dir)
    for folder, dirs, names in os.walk(run_dir):  # does not follow links
        for name in dirs + names:
            p = Path(folder, name)
            if p.is_symlink():
                raise ValueError(
                    f"{p} is a symbolic link (to {os.path.realpath(p)}), which a resumed run "
                    "would write through: replace it with the file itself, or start a new run"
                )
    for p in run_dir.iterdir():
        wanted_file = any(fnmatch(p.name, pat) for pat in RUN_FILES)
        if wanted_file and not p.is_file():
            raise ValueError(
                f"{p} is not a regular file, and the resumed run reads or replaces it: "
                "move it away (or restore the run's own), then resume"
            )
    for pattern, what in RUN_FOLDERS.items():
        for p in run_dir.glob(pattern):
            if not p.is_dir():
                raise ValueError(
                    f"{p} is a file, not {what}: move it away (the folder is made again), "
                    "then resume"
                )
    for name in ("samples", "logs"):
        if not (run_dir / name).exists():
            log(f"{run_dir / name} is missing: it is made again from epoch {epoch + 1} on")
    _check_history(run_dir / "history.csv", epoch, log)
    _check_best(run_dir / "best.json")
    _check_grids(run_dir / "samples")


def _check_history(path, epoch, log):
    if not path.exists():
        if epoch:
            log(f"{path} is missing: a new one starts at epoch {epoch + 1}")
        return
    fix = f"restore it, or move it away to start a new history at epoch {epoch + 1}, then resume"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"cannot read {path} ({type(e).__name__}): {fix}") from None
    if not rows:
        if epoch:
            raise ValueError(f"{path} is empty but the run is at epoch {epoch}: {fix}")
        return
    header = rows[0]
    missing = [k for k in METRICS if k not in header]
    if header[:1] != ["epoch"] or missing or len(set(header)) != len(header) or "" in header:
        raise ValueError(
            f"{path} has a header that is not the run's (epoch, then metric names such as "
            f"{', '.join(METRICS)}, once each): {fix}"
        )
    for i, row in enumerate(rows[1 : 1 + epoch], start=1):
        where = f"{path} line {i + 1}"
        if len(row) != len(header):
            raise ValueError(f"{where} has {len(row)} cells, the header {len(header)}: {fix}")
        if row[0] != str(i):
            raise ValueError(f"{where} is for epoch {row[0]!r}, expected {i}: {fix}")
        for k, cell in zip(header[1:], row[1:]):
            try:
                value = float(cell) if cell or k in METRICS else 0.0
            except ValueError:
                value = None
            if value is None or (k in METRICS and not math.isfinite(value)):
                raise ValueError(f"{where}: {k} is {cell!r}, not a number: {fix}")
    if len(rows) - 1 < epoch:
        raise ValueError(
            f"{path} has {len(rows) - 1} epochs but the run's checkpoint is at epoch {epoch}: {fix}"
        )


def _check_best(path):
    if not path.exists():
        return
    try:
        best = json.loads(path.read_text())
        ok = isinstance(best, dict) and isinstance(best.get("fid"), (int, float))
        ok = ok and not isinstance(best["fid"], bool) and not math.isnan(best["fid"])
    except (OSError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{path} is damaged (no FID of the best generator): restore it, or move it and "
            "generator_best.h5 away so that the best is chosen again, then resume"
        )


def _check_grids(folder):
    if not folder.is_dir():
        return

    for p in sorted(folder.glob("epoch_*.png")):
        try:
            with Image.open(p) as im:
                im.verify()
        except Exception as e:
            raise ValueError(
                f"{p} is not a readable PNG ({type(e).__name__}), and the run's progress.gif "
                "is made from the grids: restore it or move it away, then resume"
            ) from None
