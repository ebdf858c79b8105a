"""`python -m dcgan.train`: train a DCGAN on MNIST into a run directory that explains itself.

python -m dcgan.train --epochs 20 --data path/to/mnist.npz
python -m dcgan.train --conditional --epochs 8 --data path/to/mnist.npz
python -m dcgan.train --resume runs/20261124-120000 --epochs 40
KERAS_BACKEND=jax python -m dcgan.train --epochs 20 --data path/to/mnist.npz
"""

import sys
import time

from dcgan.cli import CliParser, UsageError, quiet_tensorflow, run_cli
from dcgan.settings import add_flags, config_from_flags


def parser():
    p = CliParser("python -m dcgan.train", __doc__)
    add_flags(p)
    a = p.add_argument
    a(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue RUN_DIR from its last complete checkpoint with its saved settings "
        "(--epochs then sets the new total)",
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    try:
        cfg = config_from_flags(args, args.resume)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.new_data and not args.resume:
        raise UsageError("--new-data goes with --resume: a new run takes any --data")
    if not 0 < args.worker_timeout < float("inf"):
        raise UsageError(
            f"--worker-timeout must be a positive number of seconds, got {args.worker_timeout}"
        )
    quiet_tensorflow()
    # TensorFlow loads here, after the flags are checked: --help answers at once.
    from dcgan.runs import closing
    from dcgan.training import run

    command = " ".join(["python -m dcgan.train", *argv])
    start = time.monotonic()
    run_dir = run(
        cfg,
        resume=args.resume,
        # A bar for a terminal; plain lines for a log file or a pipe (a line every few steps
        # and one per epoch), where the bar's carriage returns and colour codes would be noise.
        verbose=0 if args.quiet else 1 if sys.stdout.isatty() else 2,
        step_lines=not args.quiet and not sys.stdout.isatty(),
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
