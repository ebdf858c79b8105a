"""`python -m dcgan.generate`: digits from a trained generator, as a PNG grid or an .npz of arrays.

python -m dcgan.generate -n 64 --seed 1 --out grid.png
python -m dcgan.generate -n 10000 --out digits.npz --model runs/20261124-120000/generator.h5
python -m dcgan.generate -n 8 --interpolate 10 --out walks.png
python -m dcgan.generate --digit 7 -n 16 --out sevens.png      # the conditional generator
python -m dcgan.generate --digit all -n 8 --out rows.png       # a row per digit, a style per column
python -m dcgan.generate --class Sneaker -n 16 --out sneakers.png  # Fashion-MNIST's class 7
"""

import sys

import numpy as np

from dcgan import datasets
from dcgan.cli import CliParser, UsageError, cannot_write, quiet_tensorflow, run_cli
from dcgan.files import (
    ENV,
    IMAGE_FORMATS,
    MAX_GRID,
    NUM_CLASSES,
    check_destination,
    check_grid,
    check_image_format,
    resolve,
    shipped,
)
from dcgan.noise import random_seed
from dcgan.settings import MODEL_HELP

# Digits are drawn and written a batch at a time, so this bounds the time and the file
# (0.8 GB of uint8 before compression), not the memory.
MAX_IMAGES = 1_000_000


def class_arg(text):
    """--digit (--class): `all`, or one class, by number or by name (checked against the
    generator's classes once it is loaded: `sampling.class_index`)."""
    if text is None or text == "all":
        return text
    if not text.strip():
        raise UsageError("--digit (--class) is empty: ask for a class by number or name, or all")
    return text.strip()


def is_name(text):
    return text is not None and text != "all" and not (text.isascii() and text.isdigit())


def parser():
    p = CliParser("python -m dcgan.generate", __doc__)
    a = p.add_argument
    a(
        "-n",
        type=int,
        default=64,
        help="how many digits (with --interpolate: how many rows) (default: 64)",
    )
    a(
        "--seed",
        type=int,
        default=None,
        help="seed for the latent vectors; the same seed gives the same digits (default: random, "
        "printed)",
    )
    a(
        "--out",
        default="grid.png",
        help=f"output file: .png for a grid of the digits (at most {MAX_GRID:,}), .npz for uint8 "
        "arrays under 'images' ((n, 28, 28), or (rows, K, 28, 28) with --interpolate; the "
        "generator's side for 28, and a last axis of 3 for colour), written "
        "a batch at a time (default: grid.png)",
    )
    a(
        "--interpolate",
        type=int,
        default=None,
        metavar="K",
        help="rows of K digits on a straight line in latent space between two random latent "
        "vectors",
    )
    a(
        "--digit",
        "--class",
        dest="digit",
        default=None,
        help="conditional generators: draw only this class, by number (0-9 for digits, "
        "any below a run's number of classes) or by the name its run's settings give it "
        "(Fashion-MNIST's "
        f"{', '.join(datasets.class_name(datasets.FASHION, c) for c in (0, 7, 9))}, ...; a "
        "folder run's subfolder names; any case), "
        "or `all` for one row of -n images per class where each column keeps one latent "
        "vector (default: each class in turn)",
    )
    a(
        "--model",
        default=None,
        help=f"{MODEL_HELP} (default: ${ENV['generator']}, or with --digit "
        f"${ENV['conditional_generator']}, else the shipped generator; with a class by name "
        "that it does not have, such as --class Sneaker, the shipped Fashion-MNIST one)",
    )
    return p


def check_args(args):
    args.digit = class_arg(args.digit)
    if args.n < 1:
        raise UsageError(
            f"-n {args.n}: ask for at least 1 {'row' if args.interpolate else 'image'}"
        )
    if args.interpolate is not None and args.interpolate < 2:
        raise UsageError(
            f"--interpolate {args.interpolate}: a walk needs at least 2 steps (its two ends)"
        )
    if args.digit == "all" and args.interpolate:
        raise UsageError(
            "--digit all draws a row per digit; --interpolate needs one digit: "
            "pass --digit 0-9 with --interpolate"
        )
    total = args.n * (args.interpolate or 1) * (NUM_CLASSES if args.digit == "all" else 1)
    if total > MAX_IMAGES:
        raise UsageError(
            f"{total} images asked for, more than {MAX_IMAGES:,} at once: "
            "run several times with different --seed"
        )
    if args.seed is not None and not -(2**63) <= args.seed < 2**63:
        raise UsageError(f"--seed {args.seed} does not fit in 64 bits: pick a smaller seed")


def check_out(out):
    """The output path, checked to have a known extension and a writable folder (or to be a
    pipe or a terminal); writes nothing."""
    try:
        check_image_format(out, f"--out {out}")
        return check_destination(out, "--out", IMAGE_FORMATS)
    except ValueError as e:
        raise UsageError(str(e)) from None


def main(argv=None):
    args = parser().parse_args(argv)
    check_args(args)
    out = check_out(args.out)
    total = args.n * (args.interpolate or 1) * (NUM_CLASSES if args.digit == "all" else 1)
    if out.suffix.lower() == ".png":
        try:
            check_grid(total, f"--out {out}")
        except ValueError as e:
            raise UsageError(f"{e} (--out digits.npz)") from None
    name = "generator" if args.digit is None else "conditional_generator"
    model_path, source = resolve(name, args.model)
    fashion = shipped("fashion_generator")
    if (
        is_name(args.digit)
        and not args.model
        and not _names_it(model_path, args.digit)
        and _names_it(fashion, args.digit)
    ):  # "draw me a sneaker": the shipped generator that has the class asked for
        model_path = fashion
    if source != "flag" and not model_path.exists():
        where = f"${ENV[name]} points at" if source.startswith("$") else "the shipped"
        raise UsageError(
            f"no generator at {model_path} ({where} one): pass --model a generator .h5, "
            f".keras or SavedModel folder from a run of dcgan.train, or set ${ENV[name]} to one"
        )
    quiet_tensorflow()
    # TensorFlow loads here, after the flags are checked: --help answers at once.
    from dcgan import sampling
    from dcgan.images import save_images

    generator = sampling.load_generator(model_path)
    if args.digit is not None and not sampling.is_conditional(generator):
        raise UsageError(
            f"{model_path} draws any digit, it does not take one: pass --model a "
            "generator trained with --conditional, or drop --digit"
        )
    if args.digit not in (None, "all"):
        try:  # by number or by the name its run's settings give it, never guessed
            args.digit = sampling.class_index(generator, args.digit)
        except ValueError as e:
            raise UsageError(f"--digit (--class) {e}") from None
    config = datasets.run_config(model_path)
    kind = datasets.run_data(config)[1] if config else datasets.MNIST
    noun = datasets.noun(kind)
    seed = args.seed if args.seed is not None else random_seed()
    # Images are drawn a batch at a time and an .npz is written as they come, so memory holds
    # one batch however many are asked for.
    cols, classes = args.interpolate, None
    image = sampling.image_shape(generator)
    if args.interpolate:
        shape = (args.n, args.interpolate, *image)
        batches = sampling.interpolate_batches(
            generator, args.n, args.interpolate, seed, class_id=args.digit
        )
        what = f"{args.n} rows of {args.interpolate} interpolated {noun}"
        if args.digit is not None:
            what += f" of class {sampling.class_label(generator, args.digit)}"
    elif args.digit == "all":
        count = sampling.num_classes(generator)  # a folder's run: its class subfolders
        total = args.n * count
        if total > MAX_IMAGES:
            raise UsageError(
                f"{count} classes of -n {args.n}: {total:,} images, more than {MAX_IMAGES:,} "
                "at once: use a smaller -n, or draw classes one --class at a time"
            )
        if out.suffix.lower() == ".png":
            try:
                check_grid(total, f"--out {out}")
            except ValueError as e:
                raise UsageError(f"{e} (--out digits.npz)") from None
        shape, cols = (count, args.n, *image), args.n
        batches = sampling.class_row_batches(generator, args.n, seed)
        classes = np.repeat(np.arange(count), args.n).reshape(count, args.n)
        names = sampling.class_names(generator)
        what = f"{count} rows of {args.n} {noun} (0-{count - 1})"
        if names and names != datasets.CLASS_NAMES[datasets.MNIST]:
            more = ", ..." if len(names) > sampling.MAX_NAMES_SHOWN else ""
            shown = ", ".join(names[: sampling.MAX_NAMES_SHOWN]) + more
            what = f"{count} rows of {args.n} {noun} ({shown})"
    else:
        shape = (args.n, *image)
        classes = sampling.check_classes(generator, args.digit, args.n)
        batches = sampling.generate_batches(generator, args.n, seed, classes=classes)
        what = f"{args.n} {noun}"
        if args.digit is not None:
            label = sampling.class_label(generator, args.digit)
            what += f" {label}" if kind == datasets.MNIST else f" of class {label}"
    try:
        save_images(
            sampling.with_progress(batches, total),
            out,
            seed=seed,
            cols=cols,
            classes=classes,
            shape=shape,
        )
    except OSError as e:
        raise UsageError(cannot_write(out, e, "--out")) from None
    if image != (28, 28):  # MNIST's digits go without saying
        what += f" ({'x'.join(map(str, image))}{'' if len(image) == 3 else 'x1'} images)"
    print(f"wrote {what} to {out} (seed {seed}, model {model_path})")
    return 0


def _names_it(model, text):
    """Whether the run settings beside `model` name a class `text` (in any case)."""
    names = datasets.class_names(datasets.run_config(model)) or ()
    return text.casefold() in (n.casefold() for n in names)


def cli():
    """The `dcgan-generate` console command."""
    run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
