"""`python -m dcgan.evaluate`: score a generator's images against real ones (FID and friends).

    python -m dcgan.evaluate [--model runs/X/generator.h5] [-n 10000] [--json scores.json]
    python -m dcgan.evaluate --images samples.npz           # uint8 (n, 28, 28) under "images"
    python -m dcgan.evaluate --train-classifier --data path/to/mnist.npz   # writes classifier.h5

Metrics use a small classifier of the data's own (MNIST's for digits, Fashion-MNIST's for
clothes; --classifier names another), not Inception. With --model and no --data, the data is
the run's, read from the settings beside the model (run.json, or a run's config.json). The
"real" column scores n real training images the same way: the best a generator can hope for.
Where no shipped classifier reads the data (a folder of your own images, or --classifier none),
FID, precision and recall are taken in features of the images' own (`dcgan.features`), beside
half of the real images as the floor.
"""

import json
from pathlib import Path
import sys
import time

import numpy as np

from dcgan import datasets, files
from dcgan.cli import CliParser, UsageError, cannot_write, quiet_tensorflow, run_cli
from dcgan.files import ENV, NUM_CLASSES
from dcgan.settings import DATA_DEFAULT, DATA_HELP, MODEL_HELP

# Digits scored at once, generated (-n) or read (--images): precision and recall compare every
# pair, so time grows as n^2 (100,000 take about 5 minutes on 2 cores); features are 1 KB each.
MAX_IMAGES = 100_000
MAX_EPOCHS = 1_000  # --train-classifier: 3 reach 99.2% on MNIST

LABELS = {
    "n": "images",
    "fid": "FID vs test",
    "classifier_score": "classifier score",
    "coverage": "coverage (classes)",
    "mean_confidence": "mean confidence",
    "precision": "precision (k-NN)",
    "recall": "recall (k-NN)",
}
CLASSIFIED = ("n", "fid", "classifier_score", "coverage", "mean_confidence", "precision", "recall")
# Without a shipped classifier: scores in the images' own features (`metrics.own_scores`), the
# counts said in words above the table, so that every number in it has a better direction.
OWN = ("fid", "precision", "recall")
OWN_LABELS = {**LABELS, "fid": "FID"}  # against real training images, not the test split


def parser():
    p = CliParser("python -m dcgan.evaluate", __doc__)
    a = p.add_argument
    a(
        "--model",
        default=None,
        help=f"{MODEL_HELP}, to evaluate (default: ${ENV['generator']}, else the shipped "
        "generator, as python -m dcgan.generate draws with)",
    )
    a(
        "--images",
        default=None,
        help="evaluate saved digits instead: a .npz with uint8 (n, 28, 28) under 'images'",
    )
    a(
        "-n",
        type=int,
        default=10000,
        help=f"generated (and real) digits to score, at most {MAX_IMAGES:,}; --images scores all "
        "of its digits (default: 10000)",
    )
    a(
        "--seed",
        type=int,
        default=0,
        help="seed for the generator's noise and the real subset (default: 0)",
    )
    a("--k", type=int, default=3, help="neighbours for the precision/recall manifolds (default: 3)")
    a(
        "--data",
        default=None,
        help=f"{DATA_HELP}; its test split is what the images are scored against (default: with "
        "--model, the data of the run in the run.json or config.json beside it; else "
        f"{DATA_DEFAULT.strip('()').removeprefix('default: ')})",
    )
    a(
        "--classifier",
        default=None,
        help=f"classifier .h5 that reads the images, or none for the scores that need none "
        f"(default: ${ENV['classifier']}, else the data's: the shipped MNIST one for MNIST, "
        f"${ENV['fashion_classifier']} or the shipped Fashion-MNIST one for Fashion-MNIST, none "
        "for other images)",
    )
    a("--json", default=None, help="also write the results to this JSON file")
    a(
        "--train-classifier",
        action="store_true",
        help="train the classifier on --data and save it to --out",
    )
    a("--epochs", type=int, default=3, help="with --train-classifier: training epochs (default: 3)")
    a(
        "--out",
        default="classifier.h5",
        help="with --train-classifier: where to save it, never the shipped "
        "one (default: classifier.h5 in the working directory; then pass it as --classifier)",
    )
    return p


def format_table(columns, keys=CLASSIFIED, labels=LABELS):
    """Aligned text table: one row per metric, one column per {name: results}."""
    width = max(len(labels[k]) for k in keys) + 2
    head = "".join(f"{name:>14}" for name in columns)
    lines = [f"{'':<{width}}{head}"]
    for k in keys:
        cells = "".join(f"{r[k]:>14d}" if k == "n" else f"{r[k]:>14.4f}" for r in columns.values())
        lines.append(f"{labels[k]:<{width}}{cells}")
    return "\n".join(lines)


def format_per_class(generated, real, kind=datasets.MNIST):
    """The conditional generator's table: per class asked for, how often the classifier agrees,
    and that class's FID against the test images of its class, beside real images' floor."""
    names = datasets.CLASS_NAMES.get(kind) if kind != datasets.MNIST else None
    width = max(len(n) for n in names) + 3 if names else 5
    align = "<" if names else ">"  # names read from the left, digits line up on the right
    head = "class" if names else "digit"
    lines = [
        f"{head:{align}{width}}{'n':>7}{'agreement':>11}{'FID':>9}{'real: agreement':>17}{'FID':>9}"
    ]
    for g, r in zip(generated["per_class"], real["per_class"]):
        label = f"{g['digit']} {names[g['digit']]}" if names else str(g["digit"])
        lines.append(
            f"{label:{align}{width}}{g['n']:>7}{g['agreement']:>11.4f}{g['fid']:>9.3f}"
            f"{r['agreement']:>17.4f}{r['fid']:>9.3f}"
        )
    lines.append(
        f"{'all':{align}{width}}{generated['n']:>7}{generated['agreement']:>11.4f}{'':>9}"
        f"{real['agreement']:>17.4f}"
    )
    return "\n".join(lines)


def class_mix(histogram, kind):
    """The share of images the classifier reads as each class, in %: "0:10 1:9 ..." for
    digits, "T-shirt/top:10 Trouser:9 ..." for Fashion-MNIST."""
    names = datasets.CLASS_NAMES.get(kind) or datasets.CLASS_NAMES[datasets.MNIST]
    return " ".join(f"{names[c]}:{100 * v:.0f}" for c, v in enumerate(histogram))


def train(args, log):
    if not 1 <= args.epochs <= MAX_EPOCHS:
        raise UsageError(f"--epochs must be from 1 to {MAX_EPOCHS:,}, got {args.epochs}")
    out = check_classifier_out(args.out)  # before the training, not after it
    quiet_tensorflow()
    # TensorFlow loads here, after the flags are checked: --help answers at once.
    from dcgan import classifier, data

    xtr, ytr, source = data.load(args.data, "train", log=log)
    xte, yte, _ = data.load(args.data, "test", log=log)
    if len(set(np.unique(ytr))) < NUM_CLASSES:
        raise UsageError(
            f"{source} has labels for {len(np.unique(ytr))} classes, the classifier needs "
            f"all {NUM_CLASSES}: pass --data a labelled MNIST or Fashion-MNIST"
        )
    t0 = time.time()
    model, acc = classifier.train_classifier(
        xtr, ytr, xte, yte, epochs=args.epochs, seed=args.seed, verbose=2
    )
    wall = time.time() - t0
    try:
        classifier.save_classifier(model, out)
    except OSError as e:
        raise UsageError(cannot_write(out, e, "--out")) from None
    images = datasets.noun(datasets.kind(args.data or source))
    print(
        f"classifier trained on {len(xtr)} {images} of {source} for {args.epochs} epochs in "
        f"{wall:.0f} s"
    )
    print(
        f"test accuracy {acc:.4f} on {len(xte)} {images}; saved to {out} "
        f"({out.stat().st_size / 1e6:.2f} MB)"
    )
    if args.json:
        _write_json(
            args.json,
            {
                "test_accuracy": acc,
                "epochs": args.epochs,
                "train_images": len(xtr),
                "test_images": len(xte),
                "data": source,
                "wall_s": wall,
                "out": str(out),
            },
        )
    return 0


def check_classifier_out(out):
    """--out of --train-classifier, checked before the training (writes nothing): a .h5 or
    .keras file in a writable folder, and never a file of the shipped models, which --help
    promises are not replaced."""

    try:
        out = files.check_destination(out, "--out", (".h5", ".keras"))
    except ValueError as e:
        raise UsageError(str(e)) from None
    shipped = files.shipped_dir().resolve()
    target = out.resolve()
    if target == shipped or shipped in target.parents:
        raise UsageError(
            f"--out {out} is among the shipped models ({shipped}), which are never replaced: "
            "save it elsewhere and pass it as --classifier"
        )
    return out


def write_results(args, results, **facts):
    """--json: the scores, with what was scored and how."""
    if args.json:
        what = dict(model=args.model, images=args.images, seed=args.seed, k=args.k)
        _write_json(args.json, {**results, **what, **facts})


def _write_json(path, obj):

    try:
        files.write_text(path, json.dumps(obj, indent=2) + "\n")
    except OSError as e:
        raise UsageError(cannot_write(path, e, "--json")) from None


def main(argv=None):
    args = parser().parse_args(argv)
    log = lambda m: print(m, file=sys.stderr)
    if not 0 <= args.seed < 2**63:  # numpy's generators take no negative seed, and only 64 bits
        raise UsageError(f"--seed must be from 0 to {2**63 - 1}, got {args.seed}")
    if args.json:  # before the work that fills it
        try:
            files.check_destination(args.json, "--json")
        except ValueError as e:
            raise UsageError(str(e)) from None
    if args.train_classifier:
        if args.model or args.images:
            raise UsageError(
                "--train-classifier takes no --model or --images: train first, then evaluate"
            )
        return train(args, log)
    if args.model and args.images:
        raise UsageError("pass one of --model GENERATOR or --images FILE.npz, not both")
    if not args.images:  # the generator `generate` draws with
        model, source = files.resolve("generator", args.model)
        if source != "flag" and not model.exists():
            where = f"${ENV['generator']} points at" if source.startswith("$") else "the shipped"
            raise UsageError(
                f"no generator at {model} ({where} one): pass --model a generator .h5, .keras "
                f"or SavedModel folder from a run of dcgan.train, or set ${ENV['generator']}"
            )
        args.model = str(model)
    if args.n <= 0:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    if args.n > MAX_IMAGES:
        raise UsageError(
            f"-n {args.n:,}: at most {MAX_IMAGES:,} images are scored at once (precision and "
            "recall compare every pair): use a smaller -n"
        )
    if args.k < 1:
        raise UsageError(f"--k must be at least 1, got {args.k}")
    if args.model and args.n <= args.k:
        raise UsageError(f"-n {args.n} images are too few for --k {args.k}: use more than {args.k}")
    data_arg, run_note, other_data = choose_data(args)
    quiet_tensorflow()
    # TensorFlow loads here, after the flags are checked: --help answers at once.
    from dcgan import classifier as classifiers
    from dcgan import data, metrics, sampling

    # Everything the user named is read and checked before the long part (drawing and scoring).
    if args.images:
        images, classes = data.load_images(args.images, max_images=MAX_IMAGES)
        what = f"{len(images)} images in {args.images}"
    # chosen by what the real images are (and refused when they are not its data's)
    classifier_path, where, kind = classifiers.for_data(data_arg, args.classifier)
    # the data's dataset as its images tell it; without a classifier, as its name does
    run_note = other_data(kind if classifier_path else datasets.kind(data_arg)) or run_note
    if classifier_path is None:
        return report_without_classifier(
            args, data_arg, where, images if args.images else None, run_note, log
        )
    classifier = classifiers.load_classifier(classifier_path)
    if args.model:
        generator = sampling.load_generator(args.model)
        classifiers.check_scorable(
            generator.output_shape[1:],
            str(args.model),
            "evaluate a generator trained with --image-size 28 --channels 1",
        )
        classes = sampling.check_classes(generator, None, args.n)  # 0-9 in turn if conditional
    real = metrics.load_real(data_arg, log=log)
    metrics.check_test_split(real["test"], real["source"])
    noun = datasets.noun(kind)
    if run_note:  # once all is checked: a refusal stays one line
        log(run_note)
    if args.model and len(real["train"]) < args.n:
        log(
            f"warning: {real['source']} has {len(real['train']):,} training {noun}, so the "
            f"real (floor) column scores {len(real['train']):,}, not -n {args.n:,}"
        )
    if args.model:
        # drawn a batch at a time as the classifier reads them: only their features are kept
        images = sampling.with_progress(
            sampling.generate_batches(generator, args.n, seed=args.seed, classes=classes), args.n
        )
        what = str(args.model)
    results = metrics.compare_to_real(
        images,
        classes,
        data=real,
        classifier=classifier,
        n_real=args.n if args.model else None,
        seed=args.seed,
        k=args.k,
        log=log,
    )
    ref = results["reference"]
    print(
        f"{what} vs {ref['n']} test {noun} of {ref['data']}; classifier {classifier_path} ({where})"
    )
    name = "generated" if args.model else "images"  # JSON keeps the key "generated" for both
    print(format_table({name: results["generated"], "real (floor)": results["real"]}))
    mix = class_mix(results["generated"]["class_histogram"], kind)
    print(f"{name} {'digit' if kind == datasets.MNIST else 'class'} mix (%): {mix}")
    if classes is not None:
        print(format_per_class(results["generated"], results["real"], kind))
    write_results(args, results, classifier=str(classifier_path), dataset=kind)
    return 0


def choose_data(args):
    """(--data, or with --model and no --data the data of the run in the settings beside the
    model (`datasets.run_config_file`); a note saying which, or None; a function of the images'
    dataset, as the classifier's choice tells it, giving the warning for --data of another
    dataset than the run's, or None)."""
    config = datasets.run_config(args.model) if args.model else None
    if config is None:
        return args.data, None, lambda kind: None
    data_arg, kind = datasets.run_data(config)
    where = datasets.run_config_file(args.model)
    if args.data:
        return (
            args.data,
            None,
            lambda found: (
                f"warning: {where} says the run trained on {datasets.title(kind)}, and --data "
                f"{args.data} is {datasets.title(found)}"
                if found != kind
                else None
            ),
        )
    shown = data_arg or "the default data"
    note = (
        f"scoring against {shown} ({datasets.title(kind)}), the data of the run in {where}; "
        "--data names other data"
    )
    return data_arg, note, lambda kind: None


def report_without_classifier(args, data_arg, why, images, run_note, log):
    """The one line saying no shipped classifier reads the data, then FID, precision and
    recall in features of the images' own (`dcgan.features`: a fixed random convnet, and where
    the data is a folder with classes a classifier trained on it), against half of the real
    training images, beside the other half as the floor (`metrics.own_scores`)."""
    from dcgan import classifier as classifiers
    from dcgan import data, features, metrics, sampling, trainset

    if images is not None:
        what = f"{len(images)} images in {args.images}"
        shape = trainset.with_channels(images.shape[1:])
    else:
        generator = sampling.load_generator(args.model)
        classes = sampling.check_classes(generator, None, args.n)
        shape = trainset.with_channels(sampling.image_shape(generator))
    n = len(images) if images is not None else args.n
    own = None
    if datasets.is_image_folder(data_arg):  # decoded at the images' own size and colour
        own = trainset.load(data_arg, shape[0], shape[2], lambda m: None)
        train, source = own.sample(2 * n, seed=args.seed), own.source
    else:
        train, _, source = data.load(data_arg, "train", log=log)
    if trainset.with_channels(train.shape[1:]) != tuple(shape):
        raise UsageError(
            f"{what if images is not None else args.model} draws {'x'.join(map(str, shape))} "
            f"images and {source} holds {'x'.join(map(str, train.shape[1:]))} ones: pass --data "
            "the images it was trained on"
        )
    if run_note:  # once all is checked: a refusal stays one line
        log(run_note)
    classifier, note = None, None
    none = bool(args.classifier) and args.classifier.strip().lower() == classifiers.NONE
    if own is not None and not none:
        # kept beside the run it scores, for its next evaluation; never among the shipped models
        cache = Path(args.model).expanduser().resolve().parent if args.model else None
        shipped = files.shipped_dir().resolve()
        if cache is not None and (cache == shipped or shipped in cache.parents):
            cache = None
        classifier, note = features.folder_classifier(own, cache, log=log)
    reader = features.Reader(shape, classifier, note)
    print(f"{why}; scored in {reader.describe}")
    if images is None:
        images = sampling.with_progress(
            sampling.generate_batches(generator, args.n, seed=args.seed, classes=classes), args.n
        )
        what = str(args.model)
    results = metrics.own_scores(images, train, reader, seed=args.seed, k=args.k)
    results["reference"]["data"] = source
    results["reference"]["features"] = reader.describe
    n_ref = results["reference"]["n"]
    print(f"{what} vs {n_ref} real images of {source}")
    name = "generated" if args.model else "images"
    print(
        format_table(
            {name: results["generated"], "real (floor)": results["real"]},
            keys=OWN,
            labels=OWN_LABELS,
        )
    )
    print(
        f"floor: real (floor) is {results['real']['n']} other real images of {source}, scored "
        "the same way: the best to hope for (FID lower, precision and recall higher)"
    )
    write_results(args, results, classifier=None)
    return 0


def cli():
    """The `dcgan-evaluate` console command."""
    run_cli(main)


if __name__ == "__main__":
    cli()
