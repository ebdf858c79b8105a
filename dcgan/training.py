"""The training library: a `Config`, the GAN it builds, and `run`, which trains it into a run
directory that explains itself (config first, then everything the run writes).

    from dcgan.training import Config, run
    run_dir = run(Config(epochs=5, data="sample", batch_size=64))

`python -m dcgan.train` is a thin command line over this module.
"""

import contextlib
import dataclasses
import json
from pathlib import Path
import tempfile
import time

from dcgan import files

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
ARCHS = ("dcgan", "mlp")
NOISE_KINDS = ("truncated", "normal", "uniform")
TARGET_KINDS = ("soft", "hard")
# What trains: the nets' fast twins or the built-in nets (every saved file is the built-in net
# either way); auto picks the twins unless XLA compiles the step, which fuses the same ops itself.
NETS = ("auto", "fast", "builtin")
JIT = ("auto", True, False)
# The vanilla MLP GAN of the reference trains with its own recipe.
ARCH_DEFAULTS = {
    "dcgan": dict(lr=2e-4, labels="soft", noise="truncated"),
    "mlp": dict(lr=1e-4, labels="hard", noise="uniform"),
}


@dataclasses.dataclass
class Config:
    """Every setting of a run; `python -m dcgan.train --help` says what each one does.
    `labels` is the kind of real/fake targets (soft or hard), as the reference calls them."""

    epochs: int = 1
    batch_size: int = 256
    latent_dim: int = 100
    lr: float = None
    beta1: float = 0.5
    labels: str = None
    noise: str = None
    arch: str = "dcgan"
    conditional: bool = False
    seed: int = 0
    steps_per_epoch: int = None
    save_every: int = 5
    sample_every: int = 1
    log_every: int = 50
    data: str = None
    out: str = None
    precision: str = "auto"
    # The EMA generator scored better than the raw one at every epoch of every run measured
    # (FID 61 vs 67 after one epoch, 27 vs 28 after two; docs/training.md).
    ema: float = 0.999
    steps_per_execution: int = 1
    jit_compile: bool | str = "auto"
    eval_every: int = None
    eval_samples: int = 2000
    nets: str = "auto"
    minutes: float = None

    def resolved(self):
        """A copy with the arch-dependent defaults and the precision filled in, every value
        checked. Raises ValueError naming the flag and what to pass instead."""
        c = self.checked()
        from dcgan.distribute import backend, best_jit, best_precision

        if backend() == "jax":  # JAX compiles every step; the fast twins are TensorFlow kernels
            c.jit_compile, c.nets = True, "builtin"
        if c.precision == "auto":
            c.precision = best_precision()
        if c.jit_compile == "auto":
            c.jit_compile = best_jit(c.precision)
        if c.nets == "auto":
            c.nets = "builtin" if c.jit_compile else "fast"
        return c

    def checked(self):
        """A copy with the arch-dependent defaults filled in and every value checked, type and
        bounds (without importing TensorFlow: the command line calls this before it loads).
        Raises ValueError naming the flag."""
        c = dataclasses.replace(self)
        for k, v in ARCH_DEFAULTS.get(c.arch, {}).items():
            if getattr(c, k) is None:
                setattr(c, k, v)
        if c.ema == 0:  # --ema 0: no EMA generator
            c.ema = None
        for f in dataclasses.fields(c):
            _check_field(f.name, getattr(c, f.name))
        if c.batch_size % 2:
            raise ValueError(
                f"--batch-size {c.batch_size} must be even (half real, half generated)"
            )
        if c.conditional and c.arch != "dcgan":
            raise ValueError(
                f"--conditional works with --arch dcgan, not {c.arch}: drop one of them"
            )
        return c

    @classmethod
    def of_run(cls, run_dir):
        """The checked Config a run directory was trained with (its config.json). Raises
        ValueError for a folder without one, or one that is malformed or edited out of bounds."""
        path = Path(run_dir) / "config.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            raise ValueError(
                f"{run_dir} is not a run directory (no readable config.json): "
                "pass --resume a folder written by dcgan.train"
            ) from None
        if not isinstance(saved, dict):
            raise ValueError(f"{path} is not a dcgan run's config (not a JSON object): restore it")
        fields = {f.name for f in dataclasses.fields(cls)}
        saved = {"nets": "builtin", **saved}  # runs from before the fast twins trained builtin
        try:
            return cls(**{k: v for k, v in saved.items() if k in fields}).checked()
        except ValueError as e:
            raise ValueError(f"{path} does not hold a usable config ({e}): restore it") from None


# Each setting: (type, lowest, highest, can it be None). The bounds keep every run buildable on
# one machine and inside what TensorFlow's seeds and shapes take.
BOUNDS = {
    "epochs": (int, 1, 1_000_000, False),
    "batch_size": (int, 2, 65_536, False),
    "latent_dim": (int, 1, 4_096, False),
    "lr": (float, 0.0, float("inf"), False),  # exclusive at both ends: > 0 and finite
    "beta1": (float, 0.0, 1.0, False),  # [0, 1)
    "seed": (int, 0, 2**32 - 1, False),  # keras.utils.set_random_seed's range
    "steps_per_epoch": (int, 1, 10**9, True),
    "save_every": (int, 1, 1_000_000, False),
    "sample_every": (int, 1, 1_000_000, False),
    "log_every": (int, 1, 1_000_000, False),
    "ema": (float, 0.0, 1.0, True),  # exclusive at both ends
    "steps_per_execution": (int, 1, 10_000, False),
    "eval_every": (int, 1, 1_000_000, True),
    "eval_samples": (int, 50, 100_000, False),  # FID of fewer digits is noise
    "minutes": (float, 0.0, 10**7, True),  # > 0: ends at the first epoch boundary past it
}
CHOICES = {
    "arch": ARCHS,
    "labels": TARGET_KINDS,
    "noise": NOISE_KINDS,
    "precision": PRECISIONS,
    "nets": NETS,
    "jit_compile": JIT,
}
# Which ends are exclusive.
OPEN = {"lr": (True, True), "beta1": (False, True), "ema": (True, True), "minutes": (True, False)}


def _check_field(name, value):
    flag = "--" + name.replace("_", "-")
    if name in CHOICES:
        # `is`: True == 1 in Python, and a config.json's 1 is not a choice of --jit-compile.
        if not any(value is c or value == c and type(value) is type(c) for c in CHOICES[name]):
            raise ValueError(f"{flag} {value!r} is not one of {', '.join(map(str, CHOICES[name]))}")
    elif name in BOUNDS:
        kind, low, high, optional = BOUNDS[name]
        if value is None and optional:
            return
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or (kind is int and not isinstance(value, int)) or value != value:
            what = "a whole number" if kind is int else "a number"
            raise ValueError(f"{flag} must be {what}, got {value!r}")
        low_open, high_open = OPEN.get(name, (False, False))
        if value < low or (low_open and value == low):
            bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
            raise ValueError(f"{flag} must be {bound}, got {value!r}")
        if value > high or (high_open and value == high):
            bound = f"less than {high:g}" if high_open else f"at most {high:,}"
            bound = "finite" if high == float("inf") else bound
            raise ValueError(f"{flag} must be {bound}, got {value!r}")
    elif name == "conditional":
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false, got {value!r}")
    elif value is not None and not isinstance(value, str):  # data, out
        raise ValueError(f"{flag} must be a path, got {value!r}")


def build(cfg, strategy):
    """The compiled DCGAN for a resolved config, built in the strategy's scope."""
    import keras

    from dcgan.distribute import fit_metrics_workaround
    from dcgan.gan import DCGAN
    from dcgan.models import FusedBatchNormalization, build_pair

    keras.utils.set_random_seed(cfg.seed)
    # Layers keep the policy they were built under; the global one goes back as it was, so
    # building a GAN never changes what the caller builds next.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(cfg.precision)
    try:
        with strategy.scope():
            g, d = build_pair(
                cfg.arch,
                cfg.latent_dim,
                synchronized_bn=strategy.num_replicas_in_sync > 1,
                conditional=cfg.conditional,
                fast=cfg.nets == "fast",
            )
            for layer in g._flatten_layers():  # XLA fuses batch norm better than the fused op
                if isinstance(layer, FusedBatchNormalization):
                    layer.fused = not cfg.jit_compile
            gan = DCGAN(
                g, d, noise_kind=cfg.noise, target_kind=cfg.labels, seed=cfg.seed, ema_decay=cfg.ema
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    with strategy.scope():

        def adam():
            opt = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1)
            return (
                keras.optimizers.LossScaleOptimizer(opt)
                if cfg.precision == "mixed_float16"
                else opt
            )

        gan.compile(
            d_optimizer=adam(),
            g_optimizer=adam(),
            steps_per_execution=cfg.steps_per_execution,
            jit_compile=cfg.jit_compile,
        )
    return fit_metrics_workaround(gan, strategy)


# --- the steps of `run`, in the order it takes them -----------------------------------------


def find_resume_state(run_dir, log=print):
    """(state file or None, epoch) to resume `run_dir` from: its newest state file that reads
    back whole, or (None, 0) for a run that stopped before its first one. Raises ValueError for
    a folder that is not a run, or whose every state file is damaged."""
    from dcgan.checkpoints import STATE_GLOB, latest_state

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


def load_training_data(cfg, log=print):
    """(images, digits, source) for training, checked against what `cfg` needs."""
    import numpy as np

    from dcgan import data

    x, y, source = data.load(cfg.data, "train", log=log)
    if cfg.conditional and (len(np.unique(y)) < 2 or y.min() < 0 or y.max() >= files.NUM_CLASSES):
        raise ValueError(
            f"--conditional needs digit labels 0-9 but {source} has "
            f"{', '.join(map(str, np.unique(y)[:5]))}: pass --data a labelled MNIST .npz or IDX "
            "folder"
        )
    if cfg.batch_size // 2 > len(x):
        raise ValueError(
            f"--batch-size {cfg.batch_size} needs {cfg.batch_size // 2} real images a step but "
            f"the data has {len(x)}: use --batch-size {2 * (len(x) // 2) or 2} or less"
        )
    return x, y, source


def data_digest(images):
    """A short fingerprint of the training images, kept in config.json: resume compares it."""
    import hashlib

    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(images).data).hexdigest()[:16]


def check_resume_data(run_dir, images, source, new_data=False, log=print):
    """Resuming `run_dir` on other training digits than it was trained on (another count, or
    another fingerprint) is refused, unless `new_data` asks for it (then said so through
    `log`): silently, a run of 4,000 digits would go on with 60,000."""
    saved = json.loads((Path(run_dir) / "config.json").read_text())
    count, digest = saved.get("train_images"), saved.get("train_digest")
    if (count in (None, len(images))) and digest in (None, data_digest(images)):
        return
    before = f"{count:,} digits" if isinstance(count, int) else "other digits"
    before += f" of {saved['data_source']}" if saved.get("data_source") else ""
    if not new_data:
        raise ValueError(
            f"{run_dir} was trained on {before}, but {source} has {len(images):,} other ones: "
            "resume with --data naming what it was trained on, or pass --new-data to go on "
            "with these"
        )
    log(f"note: {run_dir} was trained on {before}; going on with {source} (--new-data)")


def steps_per_epoch(cfg, n_images):
    full = n_images // (cfg.batch_size // 2)
    return full if cfg.steps_per_epoch is None else min(cfg.steps_per_epoch, full)


def bound_steps_per_execution(cfg, steps, log=print):
    """`cfg` with --steps-per-execution at most the steps of one epoch (said so through `log`
    when it was more): a graph call longer than the epoch does no more work, only a longer
    compile, and delays every stop request by as long."""
    if cfg.steps_per_execution <= steps:
        return cfg
    log(
        f"--steps-per-execution {cfg.steps_per_execution} is more than the {steps} steps of an "
        f"epoch: using {steps}"
    )
    return dataclasses.replace(cfg, steps_per_execution=steps)


def check_replicas(cfg, strategy):
    if (cfg.batch_size // 2) % strategy.num_replicas_in_sync:
        raise ValueError(
            f"--batch-size {cfg.batch_size} must split evenly over "
            f"{strategy.num_replicas_in_sync} replicas (half of it is the real batch)"
        )


def make_run_dir(out):
    """A new run directory at `out` (default runs/<timestamp>), checked (`check_new_run_dir`)
    and made writable."""
    path = check_new_run_dir(Path(out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ValueError(
            f"cannot write the run directory {path} ({e.strerror}): pick another --out"
        ) from None
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


def summary(cfg, gan, run_dir, source, strategy):
    """The start banner: what is trained where, on what; also saved as summary.txt. Parameters
    are counted on the nets the run saves (a training twin has no bias before batch norm)."""
    from dcgan.distribute import backend, strategy_name
    from dcgan.models import export

    lines = [
        f"run directory  {run_dir}",
        f"data           {source}",
        f"strategy       {strategy_name(strategy)} ({strategy.num_replicas_in_sync} replica(s)), "
        f"{backend()} backend",
        f"precision      {cfg.precision}",
        f"generator      {export(gan.generator).count_params():,} parameters"
        + (" (conditional)" if gan.conditional else ""),
        f"discriminator  {export(gan.discriminator).count_params():,} parameters",
        f"recipe         batch {cfg.batch_size}, Adam {cfg.lr:g} / beta1 {cfg.beta1}, "
        f"{cfg.noise} noise, "
        f"{cfg.labels} targets" + (f", EMA {cfg.ema}" if cfg.ema else ""),
    ]
    return "\n".join(lines)


def closing(run_dir, seconds):
    """The lines a finished run ends with: its last epoch's scores, the wall time, and the file
    to use next (the EMA generator where the run kept one)."""
    from dcgan.callbacks import read_history

    run_dir = Path(run_dir)
    rows = read_history(run_dir / "history.csv") if (run_dir / "history.csv").exists() else []
    lines = [f"trained in {seconds / 60:.1f} min of wall time"]
    if rows:
        last = rows[-1]
        scores = ", ".join(f"{k} {float(v):.4g}" for k, v in last.items() if k != "epoch" and v)
        lines[0] = f"epoch {last['epoch']}: {scores}; " + lines[0]
    best = next(
        (run_dir / n for n in ("generator_ema.h5", "generator.h5") if (run_dir / n).exists()), None
    )
    if best is not None:
        lines.append(f"next: python -m dcgan.generate --model {best} -n 64 --out grid.png")
        lines.append(f"      python -m dcgan.evaluate --model {best}")
    return "\n".join(lines)


def truncate_history(csv_path, epochs):
    """Keeps the first `epochs` rows of history.csv: a resumed run neither loses nor repeats one."""
    if csv_path.exists():
        lines = csv_path.read_text().splitlines(keepends=True)
        files.write_text(csv_path, "".join(lines[: 1 + epochs]))


# The training digits the best generator is picked against: as many as the test split has.
SELECTION_DIGITS = 10_000


def prepare_evaluation(cfg, train_images, train_digits, log=print):
    """(classifier, test reference, training reference) features for `eval_every`, loaded
    before anything is written. The best generator is picked against training digits, so the
    test digits that `dcgan.evaluate` reports on never choose what is kept."""
    from dcgan import data, metrics

    classifier = metrics.load_classifier()
    test_images, test_digits, source = data.load(cfg.data, "test", log=lambda m: None)
    metrics.check_reference(test_images, source)
    pick = slice(-SELECTION_DIGITS, None)
    return (
        classifier,
        metrics.reference_features(classifier, test_images, labels=test_digits),
        metrics.reference_features(classifier, train_images[pick], labels=train_digits[pick]),
    )


def make_callbacks(cfg, run_dir, chief, evaluation=None):
    """(NaN guard, callbacks in the order they must run at each epoch's end):
    - the guard first: it judges the epoch and silences every writer when the weights went bad;
    - `Evaluate` before the loggers, so its FID reaches history.csv and TensorBoard;
    - the loggers before `Checkpoints`, so every checkpointed epoch is already in history.csv
      (a run killed right after a checkpoint resumes with its history whole)."""
    from dcgan import callbacks as cb

    evaluate = (
        [
            cb.Evaluate(
                run_dir,
                cfg.eval_every,
                evaluation[1],
                cfg.eval_samples,
                cfg.seed + 2,
                evaluation[0],
                selection=evaluation[2],
            )
        ]
        if cfg.eval_every
        else []
    )
    # A non-chief skips the SavedModel exports: slow, and no one reads its scratch folder's.
    checkpoints = cb.Checkpoints(run_dir, cfg.save_every, savedmodel=chief)
    board = cb.TensorBoard(run_dir / "logs", cfg.log_every)
    grids = cb.SampleGrid(run_dir, cfg.sample_every, seed=cfg.seed + 1, tensorboard=board)
    guard = cb.StopOnNaN([*evaluate, checkpoints, grids])
    loggers = [cb.History(run_dir), board]
    clock = [cb.TimeLimit(cfg.minutes)] if cfg.minutes else []
    return guard, [guard, *evaluate, *loggers, checkpoints, grids, *clock]


def choose_run_dir(cfg, resume):
    """(run directory, is this process the chief). Only the chief writes the run directory;
    every other worker of a multi-worker run writes the same files into a scratch folder of
    its own (its weights equal the chief's; a test compares them) and, on resume, reads its
    state from the chief's run directory, so all workers start from the same checkpoint."""
    from dcgan.distribute import is_chief

    if not is_chief():
        return Path(tempfile.mkdtemp(prefix="dcgan-worker-")), False
    return (Path(resume) if resume else make_run_dir(cfg.out)), True


def write_run_config(run_dir, cfg, resume, **facts):
    """config.json of a new run; a resumed run's gets only what may change: epochs, data,
    minutes and whether XLA compiles the step (and the nets an older run trained, now written
    down)."""
    if resume and run_dir == Path(resume):
        saved = json.loads((run_dir / "config.json").read_text())
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
        files.write_text(run_dir / "config.json", json.dumps(saved, indent=2) + "\n")
    else:
        write_config(run_dir, cfg, **facts)


def check_backend(run_dir):
    """Refuses to resume a run under another Keras backend: its random draws, and the state
    its resume file holds, are its own backend's. Runs from before the backend was recorded
    trained on TensorFlow."""
    from dcgan.distribute import backend

    saved = json.loads((Path(run_dir) / "config.json").read_text()).get("backend", "tensorflow")
    if saved != backend():
        raise ValueError(
            f"{run_dir} was trained on the {saved} backend and this is {backend()}: resume it "
            f"with KERAS_BACKEND={saved}, or start a new run"
        )


def restore(gan, state, strategy):
    """Loads resume state (None: a run stopped before its first) into the built GAN; reads
    only, so a state file that does not fit leaves the run folder as it was."""
    from dcgan.checkpoints import load_state

    if state is not None:
        with strategy.scope():  # load_state builds the optimizers: their slots are distributed
            load_state(gan, state)


def jax_version():
    import sys

    return {"jax": sys.modules["jax"].__version__} if "jax" in sys.modules else {}


def diverged(epoch, run_dir):
    """The error for a run that went NaN: what is kept, and what to do."""
    from dcgan.checkpoints import latest_state

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


def run(
    cfg,
    resume=None,
    verbose="auto",
    log=print,
    command=None,
    worker_timeout=300.0,
    new_data=False,
):
    """Trains a DCGAN as `cfg` says.

    Every setting, the data, TF_CONFIG and the classifier (for `eval_every`) are checked, and
    the GAN is built, before the first file is written, so a run that cannot start leaves
    nothing behind.

    Args:
        cfg: a `Config`.
        resume: a run directory to continue from its newest readable checkpoint (then `cfg`
            should be `Config.of_run(resume)`, with a larger `epochs` or another `data` if
            wanted). A run that was killed while writing its final models is completed.
        verbose: Keras's progress bar setting ("auto", 0, 1, 2).
        log: where notes and warnings go (the start banner is printed).
        command: the command line that started the run, kept in config.json.
        worker_timeout: several machines: seconds to wait for every worker to join.
        new_data: with `resume`, go on with training digits other than the run's (else an
            error).
    Returns:
        The run directory (a `Path`).
    Raises:
        ValueError: a bad setting, data that does not fit it, a run directory that cannot be
            used (or that another process is training), or a run that diverged (its last good
            checkpoint is kept).
        FileNotFoundError: no such data (or no classifier for `eval_every`).
    """
    import keras
    import tensorflow as tf

    from dcgan import callbacks as cb
    from dcgan import data
    from dcgan.distribute import backend, get_strategy, strategy_name, tf_config

    cfg = cfg.resolved()
    tf_config()
    if not resume:
        check_new_run_dir(cfg.out)
    state, start_epoch = find_resume_state(resume, log) if resume else (None, 0)
    if resume:
        from dcgan.checkpoints import check_resumable

        check_backend(resume)
        check_resumable(resume, start_epoch, log)
    if start_epoch >= cfg.epochs and cb.Checkpoints.finished(resume, cfg.ema):
        raise ValueError(
            f"{resume} already has {start_epoch} epochs and its final models: pass a larger "
            "--epochs to go on"
        )
    x, y, source = load_training_data(cfg, log)
    if resume:
        check_resume_data(resume, x, source, new_data, log)
    evaluation = prepare_evaluation(cfg, x, y, log) if cfg.eval_every else None
    strategy = get_strategy(worker_timeout)
    check_replicas(cfg, strategy)
    steps = steps_per_epoch(cfg, len(x))
    cfg = bound_steps_per_execution(cfg, steps, log)
    gan = build(cfg, strategy)
    restore(gan, state, strategy)
    with contextlib.ExitStack() as held:
        run_dir, chief = choose_run_dir(cfg, resume)
        if chief:  # before anything is written: one process per run folder
            held.enter_context(files.lock(run_dir))
        write_run_config(
            run_dir,
            cfg,
            resume,
            data_source=source,
            train_images=len(x),
            train_digest=data_digest(x),
            steps_per_epoch=steps,
            replicas=strategy.num_replicas_in_sync,
            strategy=strategy_name(strategy),
            backend=backend(),
            tensorflow=tf.__version__,
            keras=keras.__version__,
            **jax_version(),
            command=command,
        )
        if resume:
            if chief:
                truncate_history(run_dir / "history.csv", start_epoch)
            start = state.name if state else "its start"
            log(f"resuming {resume} from {start} (epoch {start_epoch})")
        if start_epoch >= cfg.epochs:  # killed while writing its final models: finish them
            cb.Checkpoints(run_dir, cfg.save_every).save_final(gan)
            log(f"{run_dir} had all {start_epoch} epochs; its final models are now written")
            return run_dir
        banner = summary(cfg, gan, run_dir, source, strategy)
        print(banner)  # normal output, beside Keras's progress bar; `log` is for notes and warnings
        files.write_text(run_dir / "summary.txt", banner + "\n")
        guard, callbacks = make_callbacks(cfg, run_dir, chief, evaluation)
        # The same endless shuffled stream as an uninterrupted run, fast-forwarded past the
        # epochs done, so a resumed run sees the batches it would have seen.
        ds = data.make_dataset(
            x,
            cfg.batch_size // 2,
            seed=cfg.seed,
            repeat=True,
            digits=y if cfg.conditional else None,
        ).skip(start_epoch * steps)
        # JAX's fit runs under the distribution (tf.distribute's fit needs no scope).
        with strategy.scope() if backend() == "jax" else contextlib.nullcontext():
            gan.fit(
                ds,
                epochs=cfg.epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=steps,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,
            )
    if guard.bad_epoch is not None:
        raise diverged(guard.bad_epoch, run_dir)
    return run_dir
