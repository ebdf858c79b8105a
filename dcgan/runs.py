"""A run folder's life: made new (never over anyone's files), written (config.json first, so the
folder explains itself), found again to resume (its checkpoint, its data, its backend), and
closed (what the run ends with). `dcgan.training.run` takes these steps in turn."""

import dataclasses
import json
from pathlib import Path
import sys
import tempfile
import time

from dcgan import datasets, ema, files
from dcgan.callbacks import read_history
from dcgan.checkpoints import STATE_GLOB, latest_state
from dcgan.cli import cannot_write
from dcgan.distribute import backend, is_chief


def find_resume_state(run_dir, log=print):
    """(state file or None, epoch) to resume `run_dir` from: its newest state file that reads
    back whole, or (None, 0) for a run that stopped before its first one. Raises ValueError for
    a folder that is not a run, or whose every state file is damaged."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise ValueError(
            f"{run_dir} is not a run (no config.json): pass --resume a run directory written "
            "by dcgan.train"
        )
    files.check_lock(run_dir)  # before any work: a `.lock` that is not ours stays untouched
    state, epoch = latest_state(run_dir, log)
    if state is None and any(run_dir.glob(STATE_GLOB)):
        raise ValueError(
            f"{run_dir}: every checkpoint (state_eNNNN.npz) is damaged, so the run cannot go on: "
            "start a new run"
        )
    return state, epoch


def check_resume_data(run_dir, train, new_data=False, log=print):
    """Resuming `run_dir` on other training data (`dcgan.trainset`'s `Arrays` or `ImageFolder`)
    than it was trained on (another count, or another digest) is refused, unless `new_data`
    asks for it (then said so through `log`): silently, a run of 4,000 digits would go on with
    60,000. A conditional run's nets draw as many classes as it started with, whatever the
    data."""
    saved = datasets.read_run_file(Path(run_dir) / "config.json")
    count, digest = saved.get("train_images"), saved.get("train_digest")
    source = train.source
    if saved.get("conditional"):
        before = saved.get("train_classes") or [str(d) for d in range(files.NUM_CLASSES)]
        now = train.classes or [str(d) for d in range(files.NUM_CLASSES)]
        if len(before) != len(now):
            raise ValueError(
                f"{run_dir} is a conditional run of {len(before)} classes and {source} has "
                f"{len(now)}: resume it on data of {len(before)} classes, or start a new run"
            )
    if count in (None, train.count) and digest in (None, train.digest):
        return
    legacy = getattr(train, "legacy_digest", None)  # a folder's digest of older runs
    if count == train.count and legacy is not None and digest == legacy():
        return
    before = f"{count:,} digits" if isinstance(count, int) else "other digits"
    before += f" of {saved['data_source']}" if saved.get("data_source") else ""
    if not new_data:
        raise ValueError(
            f"{run_dir} was trained on {before}, but {source} has {train.count:,} other ones: "
            "resume with --data naming what it was trained on, or pass --new-data to go on "
            "with these"
        )
    log(f"note: {run_dir} was trained on {before}; going on with {source} (--new-data)")


def check_outside_data(run_dir, data_folder, resume=False):
    """ValueError unless the run folder (None: a new runs/<timestamp> here) lies outside the
    image folder the run trains on: inside it, the run's samples would be read as training
    images by the next run, or by this one's resume."""
    if data_folder is None:
        return
    data_folder = Path(data_folder).expanduser().resolve()
    where = Path(run_dir or "runs").expanduser().resolve()
    if where != data_folder and data_folder not in where.parents:
        return
    if resume:
        fix = f"move {run_dir} out of {data_folder}, then resume it from there"
    elif run_dir is None:
        fix = "pass --out a folder outside it, or start from another directory"
    else:
        fix = "pass --out a folder outside it"
    what = f"the run folder {run_dir}" if run_dir else f"the default run folder {where}/<time>"
    raise ValueError(f"{what} is inside the training data {data_folder}: {fix}")


def make_run_dir(out):
    """A new run directory at `out` (default runs/<timestamp>), checked (`check_new_run_dir`)
    and made writable."""
    path = check_new_run_dir(Path(out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ValueError(cannot_write(f"the run directory {path}", e, "--out")) from None
    return path


def check_new_run_dir(path):
    """`path` if a new run may go there (writes nothing): a folder that exists must be empty; a
    run there is continued with --resume, and anything else in it is someone's and stays
    untouched."""
    if path is None:
        return None
    path = Path(path)
    if (path / "config.json").exists():
        raise ValueError(
            f"{path} already holds a run: continue it with --resume {path} or pick another --out"
        )
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} is a file: pick a new or empty folder")
    if path.is_dir() and any(p.name != files.LOCK_NAME for p in path.iterdir()):
        raise ValueError(
            f"--out {path} is a folder with other files in it, not a dcgan run: "
            "pick a new or empty folder, so nothing of yours is overwritten"
        )
    if path.is_dir():  # empty but for a `.lock`: only one a killed dcgan run left is taken
        files.check_lock(path)
    return path


def write_config(run_dir, cfg, **facts):
    """config.json: every setting, then facts about the run (data, strategy, versions)."""
    files.write_text(
        Path(run_dir) / "config.json",
        json.dumps({**dataclasses.asdict(cfg), "out": str(run_dir), **facts}, indent=2) + "\n",
    )


def closing(run_dir, seconds):
    """The lines a finished run ends with: its last epoch's scores, the wall time, whether
    --minutes ended it early (and how to go on), and the file to use next (the EMA generator
    where the run kept one)."""
    run_dir = Path(run_dir)
    rows = read_history(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
    lines = [f"trained in {seconds / 60:.1f} min of wall time"]
    if rows:
        last = rows[-1]
        scores = ", ".join(f"{k} {float(v):.4g}" for k, v in last.items() if k != "epoch" and v)
        lines[0] = f"epoch {last['epoch']}: {scores}; " + lines[0]
        saved = _saved_config(run_dir)
        epochs, minutes = saved.get("epochs"), saved.get("minutes")
        if minutes and isinstance(epochs, int) and int(last["epoch"]) < epochs:
            lines.append(
                f"stopped by --minutes {minutes:g} after epoch {last['epoch']} of {epochs}; go "
                f"on with python -m dcgan.train --resume {run_dir}"
            )
    best = next((run_dir / n for n in (ema.FILE, "generator.h5") if (run_dir / n).exists()), None)
    if best is not None:
        lines.append(f"next: python -m dcgan.generate --model {best} -n 64 --out grid.png")
        if _scorable(run_dir):
            lines.append(f"      python -m dcgan.evaluate --model {best}")
    return "\n".join(lines)


def _saved_config(run_dir):
    try:
        saved = datasets.read_run_file(Path(run_dir) / "config.json")
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _scorable(run_dir):
    """Whether `dcgan.evaluate` scores this run's images: its classifier reads 28x28x1 digits
    (runs from before --image-size and --channels drew those)."""
    saved = _saved_config(run_dir)
    return (saved.get("image_size", 28), saved.get("channels", 1)) == (28, 1)


def truncate_history(csv_path, epochs):
    """Keeps the first `epochs` rows of history.csv: a resumed run neither loses nor repeats one."""
    if csv_path.exists():
        lines = csv_path.read_text().splitlines(keepends=True)
        files.write_text(csv_path, "".join(lines[: 1 + epochs]))


def choose_run_dir(cfg, resume):
    """(run directory, is this process the chief). Only the chief writes the run directory;
    every other worker of a multi-worker run writes the same files into a scratch folder of
    its own (its weights equal the chief's; a test compares them) and, on resume, reads its
    state from the chief's run directory, so all workers start from the same checkpoint."""
    if not is_chief():
        return Path(tempfile.mkdtemp(prefix="dcgan-worker-")), False
    return (Path(resume) if resume else make_run_dir(cfg.out)), True


def write_run_config(run_dir, cfg, resume, **facts):
    """config.json of a new run; a resumed run's gets only what may change: epochs, data,
    minutes and whether XLA compiles the step (and the nets an older run trained, now written
    down)."""
    if resume and run_dir == Path(resume):
        saved = datasets.read_run_file(run_dir / "config.json")
        saved.update(
            epochs=cfg.epochs,
            data=cfg.data,
            data_source=facts["data_source"],
            train_images=facts["train_images"],
            train_digest=facts["train_digest"],
            jit_compile=cfg.jit_compile,
            nets=cfg.nets,
            log_every=cfg.log_every,
            minutes=cfg.minutes,
        )
        saved.pop("train_classes", None)  # a folder's class names, when it has them
        if "train_classes" in facts:
            saved["train_classes"] = facts["train_classes"]
        files.write_text(run_dir / "config.json", json.dumps(saved, indent=2) + "\n")
    else:
        write_config(run_dir, cfg, **facts)


def check_backend(run_dir):
    """Refuses to resume a run under another Keras backend: its random draws, and the state
    its resume file holds, are its own backend's. Runs from before the backend was recorded
    trained on TensorFlow."""
    saved = datasets.read_run_file(Path(run_dir) / "config.json").get("backend", "tensorflow")
    if saved != backend():
        raise ValueError(
            f"{run_dir} was trained on the {saved} backend and this is {backend()}: resume it "
            f"with KERAS_BACKEND={saved}, or start a new run"
        )


def jax_version():
    return {"jax": sys.modules["jax"].__version__} if "jax" in sys.modules else {}


def data_changed(path, reason, run_dir):
    """The error for an image that could not be read again while training (deleted, replaced,
    cut short since the check): what is kept, and how to go on."""
    good = latest_state(run_dir, log=lambda m: None)[0]
    kept = f"its last checkpoint {good.name} is kept" if good else "it had no checkpoint yet"
    return ValueError(
        f"{path} changed while training ({reason}), so the run stopped; {kept} in {run_dir}: put "
        f"the file back and go on with python -m dcgan.train --resume {run_dir} (or add "
        "--new-data to go on without it)"
    )


def diverged(epoch, run_dir):
    """The error for a run that went NaN: what is kept, and what to do."""
    good = latest_state(run_dir, log=lambda m: None)[0]
    kept = (
        f"the last good checkpoint {good.name} and the samples so far"
        if good
        else "the samples so far"
    )
    # A resumed run would replay the same steps (and resume keeps the saved --lr): start afresh.
    return ValueError(
        f"training diverged in epoch {epoch} (a loss or weight became NaN or infinite), "
        f"so no final model was written; {kept} are kept in {run_dir}: start a new run "
        "with a lower --lr"
    )
