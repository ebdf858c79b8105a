"""`python -m dcgan.train`: flags -> config -> a run directory that explains itself.

    python -m dcgan.train --epochs 20 --data path/to/mnist.npz
    python -m dcgan.train --resume runs/20261124-120000 --epochs 40
"""
import argparse
import dataclasses
import json
import os
from pathlib import Path
import sys
import time

from dcgan.errors import UsageError, run_cli

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# The vanilla MLP GAN of the reference trained with its own recipe.
ARCH_DEFAULTS = {"dcgan": dict(lr=2e-4, labels="soft", noise="truncated"),
                 "mlp": dict(lr=1e-4, labels="hard", noise="uniform")}


@dataclasses.dataclass
class Config:
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
    data: str = None
    out: str = None
    precision: str = "auto"
    ema: float = None
    steps_per_execution: int = 1
    jit_compile: bool = False
    eval_every: int = None
    eval_samples: int = 2000

    def resolved(self):
        """Fills the arch-dependent defaults and checks every value; raises UsageError."""
        c = dataclasses.replace(self)
        if c.precision == "auto":
            from dcgan.distribute import best_precision
            c.precision = best_precision()
        for k, v in ARCH_DEFAULTS.get(c.arch, {}).items():
            if getattr(c, k) is None:
                setattr(c, k, v)
        from dcgan.models import ARCHS
        from dcgan.noise import LABEL_KINDS, NOISE_KINDS
        for name, value, choices in (("arch", c.arch, ARCHS), ("labels", c.labels, LABEL_KINDS),
                                     ("noise", c.noise, NOISE_KINDS), ("precision", c.precision, PRECISIONS)):
            if value not in choices:
                raise UsageError(f"--{name} {value!r} is not one of {', '.join(choices)}")
        for name in ("epochs", "batch_size", "latent_dim", "save_every", "sample_every", "steps_per_execution"):
            if getattr(c, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(c, name)}")
        if c.steps_per_epoch is not None and c.steps_per_epoch < 1:
            raise UsageError(f"--steps-per-epoch must be at least 1, got {c.steps_per_epoch}")
        if c.batch_size < 2 or c.batch_size % 2:
            raise UsageError(f"--batch-size {c.batch_size} must be even (half real, half generated)")
        if not c.lr > 0 or not 0 <= c.beta1 < 1:
            raise UsageError(f"--lr must be > 0 and --beta1 in [0, 1), got {c.lr} and {c.beta1}")
        for name in ("eval_every", "eval_samples"):
            if getattr(c, name) is not None and getattr(c, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(c, name)}")
        if c.conditional and c.arch != "dcgan":
            raise UsageError(f"--conditional works with --arch dcgan, not {c.arch}: drop one of them")
        if c.ema is not None and not 0 < c.ema < 1:
            raise UsageError(f"--ema must be a decay in (0, 1) such as 0.999, got {c.ema}")
        return c


def parser():
    p = argparse.ArgumentParser(prog="python -m dcgan.train", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.error = lambda message: (_ for _ in ()).throw(UsageError(f"{message} (see --help)"))
    d = Config()
    a = p.add_argument
    a("--epochs", type=int, default=d.epochs, help="full passes over the training data")
    a("--batch-size", type=int, default=d.batch_size,
      help="global batch: D sees half real and half generated, G a full batch of noise")
    a("--latent-dim", type=int, default=d.latent_dim, help="size of the noise vector")
    a("--lr", type=float, default=None, help="Adam learning rate (default: 2e-4 dcgan, 1e-4 mlp)")
    a("--beta1", type=float, default=d.beta1, help="Adam beta_1")
    a("--labels", default=None, help="soft (real 0.7-1.2, fake 0.0-0.3) or hard (default: soft dcgan, hard mlp)")
    a("--noise", default=None, help="truncated (normal cut to [-1, 1]), normal or uniform "
      "(default: truncated dcgan, uniform mlp)")
    a("--arch", default=d.arch, help="dcgan (the reference conv nets) or mlp (the vanilla GAN)")
    a("--conditional", action="store_true",
      help="class-conditional GAN: G and D also take the digit, and G draws the digit it is asked for")
    a("--seed", type=int, default=d.seed, help="seed for noise, labels, shuffling and weights")
    a("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch, for quick runs")
    a("--save-every", type=int, default=d.save_every, help="epochs between checkpoints")
    a("--sample-every", type=int, default=d.sample_every, help="epochs between sample grids")
    a("--data", default=None, help="mnist, fashion_mnist, sample, a Keras-format .npz or a folder "
      "of IDX files (default: $DCGAN_DATA, else Keras's MNIST, else the bundled sample)")
    a("--out", default=None, help="run directory (default: runs/<timestamp>)")
    a("--precision", default=d.precision, help=f"one of {', '.join(PRECISIONS)}; auto: mixed_bfloat16 on "
      "CPUs and GPUs with bf16 math, mixed_float16 on older GPUs, else float32")
    a("--ema", type=float, default=None, help="also keep an EMA of G's weights with this decay (e.g. 0.999)")
    a("--eval-every", type=int, default=None,
      help="epochs between FID checks (logs fid, keeps generator_best.h5; needs saved_models/classifier.h5)")
    a("--eval-samples", type=int, default=d.eval_samples, help="digits generated for each FID check")
    a("--steps-per-execution", type=int, default=d.steps_per_execution, help="train steps per graph call")
    a("--jit-compile", action="store_true", help="compile the train step with XLA")
    a("--resume", metavar="RUN_DIR", default=None,
      help="continue RUN_DIR from its last complete checkpoint (--epochs then sets the new total)")
    a("--quiet", action="store_true", help="no progress bar")
    return p


def prepare_run_dir(out):
    path = Path(out or Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    if (path / "config.json").exists():
        raise UsageError(f"{path} already holds a run: continue it with --resume {path} or pick another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"cannot write the run directory {path} ({e.strerror}): pick another --out") from None
    return path


def latest_state(run_dir, log=print):
    """(path, epoch) of the newest state file that reads back, skipping corrupt ones."""
    import numpy as np
    from dcgan.callbacks import STATE_GLOB
    for path in sorted(Path(run_dir).glob(STATE_GLOB), reverse=True):
        try:
            with np.load(path) as f:
                return path, int(f["epoch"])
        except Exception as e:
            log(f"checkpoint {path.name} is unreadable ({type(e).__name__}); falling back to the one before")
    return None, 0


def truncate_history(csv_path, epochs):
    """Keeps the first `epochs` rows of history.csv, so a resumed run neither loses nor repeats one."""
    if not csv_path.exists():
        return
    lines = csv_path.read_text().splitlines(keepends=True)
    csv_path.write_text("".join(lines[:1 + epochs]))


def build(cfg, strategy):
    """The compiled DCGAN for a resolved config, built in the strategy's scope."""
    import keras
    from dcgan.gan import DCGAN
    from dcgan.models import build_pair
    keras.utils.set_random_seed(cfg.seed)
    # Layers keep the policy they were built under; the global one goes back as it was, so
    # building a GAN never changes what the caller builds next.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(cfg.precision)
    try:
        with strategy.scope():
            g, d = build_pair(cfg.arch, cfg.latent_dim, synchronized_bn=strategy.num_replicas_in_sync > 1,
                              conditional=cfg.conditional)
            gan = DCGAN(g, d, noise_kind=cfg.noise, label_kind=cfg.labels, seed=cfg.seed, ema_decay=cfg.ema)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    with strategy.scope():

        def adam():
            opt = keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta1)
            return keras.optimizers.LossScaleOptimizer(opt) if cfg.precision == "mixed_float16" else opt
        gan.compile(d_optimizer=adam(), g_optimizer=adam(), steps_per_execution=cfg.steps_per_execution,
                    jit_compile=cfg.jit_compile)
    from dcgan.distribute import fit_metrics_workaround
    fit_metrics_workaround(gan, strategy)
    return gan


def run(cfg, resume=None, verbose="auto", log=print):
    """Trains a DCGAN as `cfg` says; returns the run directory. The library entry point."""
    import numpy as np
    from dcgan import data
    cfg = cfg.resolved()
    start_epoch = 0
    if resume:
        resume = Path(resume)
        state, start_epoch = latest_state(resume, log) if resume.is_dir() else (None, 0)
        if not (resume / "config.json").exists() or state is None:
            raise UsageError(f"{resume} is not a run with a complete checkpoint (config.json and "
                             "state_eNNNN.npz): pass --resume a run directory written by dcgan.train")
        if start_epoch >= cfg.epochs:
            raise UsageError(f"{resume} already has {start_epoch} epochs: pass a larger --epochs to go on")
    x, y, source = data.load(cfg.data, "train", log=log)
    if cfg.conditional and (len(np.unique(y)) < 2 or y.min() < 0 or y.max() > 9):
        raise UsageError(f"--conditional needs digit labels 0-9 but {source} has "
                         f"{', '.join(map(str, np.unique(y)[:5]))}: pass --data a labelled MNIST .npz or IDX folder")
    half = cfg.batch_size // 2
    if half > len(x):
        raise UsageError(f"--batch-size {cfg.batch_size} needs {half} real images a step but the data "
                         f"has {len(x)}: use --batch-size {2 * (len(x) // 2) or 2} or less")

    from dcgan import callbacks as cb
    from dcgan.distribute import get_strategy, is_chief
    import keras
    strategy = get_strategy()
    if half % strategy.num_replicas_in_sync:
        raise UsageError(f"--batch-size {cfg.batch_size} must split evenly over "
                         f"{strategy.num_replicas_in_sync} replicas (half of it is the real batch)")
    steps = len(x) // half if cfg.steps_per_epoch is None else min(cfg.steps_per_epoch, len(x) // half)
    # Only the chief writes the run directory. Every other worker of a multi-worker run writes the
    # same files into a scratch folder of its own (its weights equal the chief's; a test compares
    # them) and, on --resume, reads its resume state from the chief's run directory, so all
    # workers start from the same checkpoint.
    chief = is_chief()
    if not chief:
        run_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"dcgan-worker-{os.getpid()}"
    elif resume:
        run_dir = resume
    else:
        run_dir = prepare_run_dir(cfg.out)
    if not (chief and resume):
        run_dir.mkdir(parents=True, exist_ok=True)
        info = {**dataclasses.asdict(cfg), "out": str(run_dir), "data_source": source,
                "train_images": len(x), "steps_per_epoch": steps,
                "replicas": strategy.num_replicas_in_sync, "strategy": type(strategy).__name__,
                "tensorflow": __import__("tensorflow").__version__, "keras": keras.__version__,
                "command": " ".join(["python -m dcgan.train", *sys.argv[1:]]) if sys.argv[0].endswith("train.py") else None}
        (run_dir / "config.json").write_text(json.dumps(info, indent=2) + "\n")

    gan = build(cfg, strategy)
    if resume:
        with strategy.scope():  # load_state builds the optimizers: their slots are distributed variables
            gan_state = cb.load_state(gan, state)
        if chief:
            truncate_history(run_dir / "history.csv", gan_state)
        log(f"resuming {resume} from {state.name} (epoch {start_epoch})")
    # A non-chief skips the SavedModel exports: slow, and no one reads its scratch folder's.
    ckpt = cb.Checkpoints(run_dir, cfg.save_every, savedmodel=chief)
    grids = cb.SampleGrid(run_dir, cfg.sample_every, seed=cfg.seed + 1)
    callbacks = [cb.History(run_dir), ckpt, grids]
    if cfg.eval_every:
        test_images = data.load(cfg.data, "test", log=lambda m: None)[0]
        callbacks.insert(0, cb.Evaluate(run_dir, cfg.eval_every, test_images, n=cfg.eval_samples,
                                        seed=cfg.seed + 2))
    nan = cb.StopOnNaN(*(c for c in callbacks if hasattr(c, "failed")))
    callbacks.insert(0, nan)  # first: it must judge an epoch before anything saves it
    # The same endless shuffled stream as an uninterrupted run, fast-forwarded past the epochs
    # done, so a resumed run sees the batches it would have seen.
    ds = data.make_dataset(x, half, seed=cfg.seed, repeat=True,
                           labels=y if cfg.conditional else None).skip(start_epoch * steps)
    gan.fit(ds, epochs=cfg.epochs, initial_epoch=start_epoch, steps_per_epoch=steps,
            callbacks=callbacks, verbose=verbose, shuffle=False)
    if nan.bad_epoch is not None:
        # A resumed run would replay the same steps (and --resume keeps the saved --lr), hence
        # the advice to start afresh.
        good = latest_state(run_dir, log=lambda m: None)[0]
        kept = f"the last good checkpoint {good.name} and the samples so far" if good else "the samples so far"
        raise UsageError(f"training diverged in epoch {nan.bad_epoch} (a loss or weight became NaN or "
                         f"infinite), so no final model was written; {kept} are kept in {run_dir}: "
                         "start a new run with a lower --lr")
    return run_dir


def main(argv=None):
    args = parser().parse_args(argv)
    fields = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in fields}
    if args.resume:
        path = Path(args.resume) / "config.json"
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            raise UsageError(f"{args.resume} is not a run directory (no readable config.json): "
                             "pass --resume a folder written by dcgan.train") from None
        cfg = Config(**{k: v for k, v in saved.items() if k in fields})
        # The saved settings win, except a new total of --epochs when one is given.
        if any(a == "--epochs" or a.startswith("--epochs=") for a in (sys.argv[1:] if argv is None else argv)):
            cfg.epochs = args.epochs
    else:
        cfg = Config(**given)
    run_dir = run(cfg, resume=args.resume, verbose=0 if args.quiet else "auto",
                  log=lambda m: print(m, file=sys.stderr))
    print(f"run written to {run_dir}")
    return 0


def cli():
    """The `dcgan-train` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
