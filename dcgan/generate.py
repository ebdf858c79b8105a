"""`python -m dcgan.generate`: digits from a trained generator, as a PNG grid or an .npz of arrays.

    python -m dcgan.generate -n 64 --seed 1 --out grid.png
    python -m dcgan.generate -n 10000 --out digits.npz --model runs/20261124-120000/generator.h5
    python -m dcgan.generate -n 8 --interpolate 10 --out walks.png
    python -m dcgan.generate --digit 7 -n 16 --out sevens.png      # the conditional generator
    python -m dcgan.generate --digit all -n 8 --out rows.png       # a row per digit, a style per column
"""
import argparse
import sys
import os
from pathlib import Path

from dcgan.errors import UsageError, run_cli
from dcgan.files import shipped

ENV_VAR = "DCGAN_GENERATOR"
DEFAULT_MODEL = shipped("generator")
DEFAULT_CONDITIONAL = shipped("conditional_generator")
FORMATS = (".png", ".npz")
MAX_IMAGES = 1_000_000  # 0.8 GB of uint8 digits, and their latents, at once


def default_model(conditional=False):
    """$DCGAN_GENERATOR if set, else the generator shipped in saved_models/ (the conditional one
    when a digit is asked for)."""
    return os.environ.get(ENV_VAR) or str(DEFAULT_CONDITIONAL if conditional else DEFAULT_MODEL)


def digit_arg(text):
    """--digit: 0-9, or `all` for a row per digit."""
    if text == "all" or (text.isdigit() and int(text) <= 9):
        return text if text == "all" else int(text)
    raise UsageError(f"--digit {text!r}: ask for a digit 0-9, or all for a row of each")


def parser():
    p = argparse.ArgumentParser(prog="python -m dcgan.generate", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.error = lambda message: (_ for _ in ()).throw(UsageError(f"{message} (see --help)"))
    a = p.add_argument
    a("-n", type=int, default=64, help="how many digits (with --interpolate: how many rows)")
    a("--seed", type=int, default=None,
      help="seed for the latent vectors; the same seed gives the same digits (default: random, printed)")
    a("--out", default="grid.png",
      help="output file: .png for a grid of the digits, .npz for uint8 arrays under 'images' "
      "((n, 28, 28), or (rows, K, 28, 28) with --interpolate)")
    a("--interpolate", type=int, default=None, metavar="K",
      help="rows of K digits on a straight line in latent space between two random latent vectors")
    a("--digit", type=digit_arg, default=None,
      help="conditional generators: draw only this digit (0-9), or `all` for one row of -n digits per "
      "digit 0-9 where each column keeps one latent vector (default: 0-9 in turn)")
    a("--model", default=None,
      help=f"generator .h5, .keras or SavedModel folder (default: ${ENV_VAR}, else {DEFAULT_MODEL}, "
      f"or with --digit {DEFAULT_CONDITIONAL})")
    return p


def check_args(args):
    if args.n < 1:
        raise UsageError(f"-n {args.n}: ask for at least 1 {'row' if args.interpolate else 'image'}")
    if args.interpolate is not None and args.interpolate < 2:
        raise UsageError(f"--interpolate {args.interpolate}: a walk needs at least 2 steps (its two ends)")
    if args.digit == "all" and args.interpolate:
        raise UsageError("--digit all draws a row per digit; --interpolate needs one digit: "
                         "pass --digit 0-9 with --interpolate")
    total = args.n * (args.interpolate or 1) * (10 if args.digit == "all" else 1)
    if total > MAX_IMAGES:
        raise UsageError(f"{total} images asked for, more than {MAX_IMAGES:,} at once: "
                         "run several times with different --seed")
    if args.seed is not None and not -2**63 <= args.seed < 2**63:
        raise UsageError(f"--seed {args.seed} does not fit in 64 bits: pick a smaller seed")


def temp_path(out):
    """Where `out` is written first, in the same folder and with the same extension."""
    return out.with_name(f".tmp-{out.stem}{out.suffix}")


def check_out(out):
    """The output path, checked to have a known extension and to be writable; writes nothing."""
    out = Path(out).expanduser()
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: unknown extension {out.suffix or '(none)'!r}; "
                         "use .png for a grid or .npz for the arrays")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder: give a file name ending in .png or .npz")
    probe = temp_path(out)
    try:
        with open(probe, "wb"):
            pass
        probe.unlink()
    except OSError as e:
        raise UsageError(f"cannot write {out} ({e.strerror}): pick another --out") from None
    return out


def write(images, out, seed, cols=None, digits=None):
    """Writes the digits to `out` (.png grid or .npz, with the `digits` asked for if any)
    through a temporary file; returns `out`."""
    import numpy as np
    from dcgan import sampling
    tmp = temp_path(out)
    try:
        if out.suffix.lower() == ".png":
            sampling.save_grid(images.reshape(-1, *images.shape[-2:]), tmp, cols=cols)
        else:
            with open(tmp, "wb") as f:
                extra = {} if digits is None else {"digits": np.asarray(digits, np.uint8)}
                np.savez_compressed(f, images=images, seed=np.int64(seed), **extra)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out} ({e.strerror}): pick another --out") from None
    return out


def main(argv=None):
    args = parser().parse_args(argv)
    check_args(args)
    out = check_out(args.out)
    import numpy as np
    from dcgan import sampling
    model_path = args.model or default_model(conditional=args.digit is not None)
    if args.model is None and not Path(model_path).exists():
        raise UsageError(f"no generator at {model_path}: pass --model a generator .h5, .keras or "
                         f"SavedModel folder from a run of dcgan.train, or set ${ENV_VAR} to one")
    generator = sampling.load_generator(model_path)
    if args.digit is not None and not sampling.is_conditional(generator):
        raise UsageError(f"{model_path} draws any digit, it does not take one: pass --model a "
                         "generator trained with --conditional, or drop --digit")
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(2**31))
    cols, digits = args.interpolate, None
    if args.interpolate:
        images = sampling.interpolate(generator, args.n, args.interpolate, seed, digit=args.digit)
        what = f"{args.n} rows of {args.interpolate} interpolated digits"
    elif args.digit == "all":
        images, cols = sampling.digit_rows(generator, args.n, seed), args.n
        digits = np.repeat(np.arange(10), args.n).reshape(10, args.n)
        what = f"10 rows of {args.n} digits (0-9)"
    else:
        digits = sampling.check_digits(generator, args.digit, args.n)
        images = sampling.generate(generator, args.n, seed, digits=digits)
        what = f"{args.n} digits" + (f" {args.digit}" if args.digit is not None else "")
    write(images, out, seed, cols=cols, digits=digits)
    print(f"wrote {what} to {out} (seed {seed}, model {model_path})")
    return 0


class _CallableModule(type(sys)):  # types.ModuleType
    """`dcgan.generate` is both this CLI module and the library function: importing the module
    replaces the package attribute, so the module forwards calls to `sampling.generate`."""

    def __call__(self, *args, **kwargs):
        from dcgan import sampling
        return sampling.generate(*args, **kwargs)


# Only when imported: run apart under another name (runpy.run_module, as the tests do) this
# code has no entry in sys.modules, and there is no package attribute to keep callable.
if __name__ in sys.modules:
    sys.modules[__name__].__class__ = _CallableModule


def cli():
    """The `dcgan-generate` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
