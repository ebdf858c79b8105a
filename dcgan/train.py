"""`python -m dcgan.train`: train a DCGAN on MNIST into a run directory that explains itself.

python -m dcgan.train --epochs 20 --data path/to/mnist.npz
python -m dcgan.train --conditional --epochs 8 --data path/to/mnist.npz
python -m dcgan.train --resume runs/20261124-120000 --epochs 40
KERAS_BACKEND=jax python -m dcgan.train --epochs 20 --data path/to/mnist.npz
"""

import argparse
import dataclasses
import sys
import time

from dcgan.errors import CliParser, UsageError, quiet_tensorflow, run_cli
from dcgan.files import ENV
from dcgan.training import ARCHS, NETS, NOISE_KINDS, PRECISIONS, TARGET_KINDS, Config


def parser():
    p = CliParser("python -m dcgan.train", __doc__)
    d = Config()
    a = p.add_argument
    # Defaults are None where a resumed run must keep its saved value unless the flag is given.
    a(
        "--epochs",
        type=int,
        default=None,
        help=f"total epochs, full passes over the training data (default: {d.epochs})",
    )
    a(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="global batch: D sees half real and half generated, G a full batch of noise "
        f"(default: {d.batch_size})",
    )
    a(
        "--latent-dim",
        type=int,
        default=d.latent_dim,
        help=f"size of the noise vector (default: {d.latent_dim})",
    )
    a("--lr", type=float, default=None, help="Adam learning rate (default: 2e-4 dcgan, 1e-4 mlp)")
    a("--beta1", type=float, default=d.beta1, help=f"Adam beta_1 (default: {d.beta1})")
    a(
        "--labels",
        default=None,
        choices=TARGET_KINDS,
        help="real/fake targets: soft (real 0.7-1.2, fake 0.0-0.3) or hard (default: soft dcgan, "
        "hard mlp)",
    )
    a(
        "--noise",
        default=None,
        choices=NOISE_KINDS,
        help="latents: normal cut to [-1, 1], normal or uniform (default: truncated dcgan, "
        "uniform mlp)",
    )
    a(
        "--arch",
        default=d.arch,
        choices=ARCHS,
        help="the reference conv nets, or the vanilla MLP GAN (default: dcgan)",
    )
    a(
        "--conditional",
        action="store_true",
        help="class-conditional GAN: G and D also take the digit, and G draws the digit it is "
        "asked for",
    )
    a(
        "--seed",
        type=int,
        default=d.seed,
        help=f"seed for noise, targets, shuffling and weights (default: {d.seed})",
    )
    a("--steps-per-epoch", type=int, default=None, help="cap on steps per epoch, for quick runs")
    a(
        "--minutes",
        type=float,
        default=None,
        help="end the run at the first epoch boundary after this many minutes of training, every "
        "final file written (--epochs still caps it)",
    )
    a(
        "--save-every",
        type=int,
        default=d.save_every,
        help=f"epochs between checkpoints (default: {d.save_every})",
    )
    a(
        "--sample-every",
        type=int,
        default=d.sample_every,
        help=f"epochs between sample grids (default: {d.sample_every})",
    )
    a(
        "--log-every",
        type=int,
        default=d.log_every,
        help=f"steps between TensorBoard points, beside one per epoch (default: {d.log_every})",
    )
    a(
        "--data",
        default=None,
        help="mnist, fashion_mnist, sample, a Keras-format .npz or a folder of IDX "
        f"files (default: ${ENV['data']}, else Keras's MNIST, else the bundled sample)",
    )
    a("--out", default=None, help="run directory (default: runs/<timestamp>)")
    a(
        "--precision",
        default=d.precision,
        choices=PRECISIONS,
        help="auto: mixed_bfloat16 on CPUs and GPUs with bf16 math, mixed_float16 on older GPUs, "
        "else float32 "
        f"(default: {d.precision})",
    )
    a(
        "--ema",
        type=float,
        default=d.ema,
        help="also keep an EMA of G's weights with this decay, saved as generator_ema.h5 and "
        f"scored by --eval-every (default: {d.ema}; 0 turns it off)",
    )
    a(
        "--eval-every",
        type=int,
        default=None,
        help="epochs between FID checks (logs fid, keeps generator_best.h5; uses "
        f"${ENV['classifier']} or the "
        "shipped classifier)",
    )
    a(
        "--eval-samples",
        type=int,
        default=d.eval_samples,
        help=f"digits generated for each FID check (default: {d.eval_samples})",
    )
    a(
        "--steps-per-execution",
        type=int,
        default=d.steps_per_execution,
        help=f"train steps per graph call (default: {d.steps_per_execution})",
    )
    a(
        "--jit-compile",
        nargs="?",
        const="on",
        default="auto",
        choices=JIT_FLAG,
        help="compile the train step with XLA; auto: on for float32 on a CPU, where it measured "
        "~1.7x faster, off elsewhere; always on under JAX (default: auto; the flag alone means on)",
    )
    a(
        "--nets",
        default=d.nets,
        choices=NETS,
        help="fast: train the nets' faster twins (fused batch norm, no bias before it, a "
        "cheaper dropout mask), saved as the built-in-layer nets; builtin: train those "
        "directly, as runs from before this flag did, and always under JAX; auto: fast unless XLA "
        "compiles the step "
        f"(default: {d.nets})",
    )
    a(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue RUN_DIR from its last complete checkpoint with its saved settings "
        "(--epochs then sets "
        "the new total)",
    )
    a(
        "--new-data",
        action="store_true",
        help="with --resume: go on with training digits other than those the run was trained "
        "on (without it, other data is refused)",
    )
    a(
        "--worker-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="several machines (TF_CONFIG): how long to wait for every worker to join before "
        "saying which is missing (default: 300)",
    )
    a("--quiet", action="store_true", help="no progress bar")
    return p


JIT_FLAG = {"auto": "auto", "on": True, "off": False}  # --jit-compile -> Config.jit_compile

# What a resumed run may change: more epochs or minutes, data that moved (and, said so, other
# data), how it reports, and whether XLA compiles the step (the same arithmetic; the nets and
# their weights stay as they were).
RESUME_FLAGS = {
    "resume",
    "epochs",
    "minutes",
    "data",
    "new_data",
    "quiet",
    "worker_timeout",
    "jit_compile",
    "log_every",
}


def given_flags(argv):
    """The flags given on the command line (argparse with every default suppressed)."""
    p = parser()
    for action in p._actions:
        action.default = argparse.SUPPRESS
    return set(vars(p.parse_args(argv)))


def config_from(args, argv):
    """The Config the flags ask for: a new run's, or the saved one of the run to resume."""
    if not args.resume:
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
        given["jit_compile"] = JIT_FLAG[args.jit_compile]
        return Config(**{k: v for k, v in given.items() if v is not None}).checked()
    changed = sorted(given_flags(argv) - RESUME_FLAGS)
    if changed:
        names = ", ".join("--" + name.replace("_", "-") for name in changed)
        raise UsageError(
            f"{names} would change the run that --resume continues, which keeps the settings in "
            f"its config.json: drop {names}, or start a new run (--resume takes --epochs, --data, "
            "--minutes, --new-data, --jit-compile, --log-every)"
        )
    cfg = Config.of_run(args.resume)
    if "jit_compile" in given_flags(argv):
        cfg.jit_compile = JIT_FLAG[args.jit_compile]
    if args.epochs is not None:
        cfg.epochs = args.epochs
    if "log_every" in given_flags(argv):
        cfg.log_every = args.log_every
    if args.data is not None:  # the same data, moved
        cfg.data = args.data
    cfg.minutes = args.minutes  # a limit on this session of training, not the run's
    return cfg.checked()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    try:
        cfg = config_from(args, argv)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.new_data and not args.resume:
        raise UsageError("--new-data goes with --resume: a new run takes any --data")
    if not 0 < args.worker_timeout < float("inf"):
        raise UsageError(
            f"--worker-timeout must be a positive number of seconds, got {args.worker_timeout}"
        )
    quiet_tensorflow()
    from dcgan.training import closing, run

    command = " ".join(["python -m dcgan.train", *argv])
    start = time.monotonic()
    run_dir = run(
        cfg,
        resume=args.resume,
        # A bar for a terminal; a plain line per epoch for a log file or a pipe, where the
        # bar's carriage returns and colour codes would be noise.
        verbose=0 if args.quiet else 1 if sys.stdout.isatty() else 2,
        log=lambda m: print(m, file=sys.stderr),
        command=command,
        worker_timeout=args.worker_timeout,
        new_data=args.new_data,
    )
    print(closing(run_dir, time.monotonic() - start))
    print(f"run written to {run_dir}")
    return 0


def cli():
    """The `dcgan-train` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
