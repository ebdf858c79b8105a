"""`python -m dcgan.hub`: makes a model's folder one that Hugging Face Hub users load as it is.

python -m dcgan.hub saved_models/fashion/generator.h5

`keras.saving.load_model(folder)`, and so `keras.saving.load_model("hf://user/repo")` (which
downloads the repository into a folder first), reads a folder only as an unzipped .keras file:
Keras's own config.json, model.weights.h5 and metadata.json. From `folder/NAME.h5` this writes
NAME.keras beside it (unless one is there: a shipped .keras keeps its sha256) and unpacks it into
the folder, checks that the three forms compute the same numbers, and prints the sha256 lines
for the model card's header. The run's own settings go in run.json: a config.json that is not
Keras's is refused, never overwritten.
"""

import hashlib
from pathlib import Path
import sys
import zipfile

from dcgan import files
from dcgan.cli import CliParser, UsageError, quiet_tensorflow, run_cli

KERAS_FILES = files.KERAS_FOLDER_FILES
RUN_FILE = "run.json"  # a model folder's run settings: Keras owns config.json there


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_folder(model_file):
    """`model_file` (a Path) if a Hub folder can be made from it: an .h5 whose folder holds no
    config.json other than Keras's. Raises ValueError saying what to do instead."""
    path = Path(model_file).expanduser()
    if path.suffix != ".h5" or not path.is_file():
        raise ValueError(f"{path} is not an .h5 model file: pass the folder's NAME.h5")
    config = path.parent / "config.json"
    if config.exists() and not files.is_keras_config(config):
        raise ValueError(
            f"{config} is not a Keras model's config.json (a run's settings?), and Keras reads "
            f"that name in a model folder: rename it {RUN_FILE} (dcgan reads both), then run "
            "this again"
        )
    return path


def make_hub_folder(model_file, log=print):
    """Writes NAME.keras (when missing) and the unpacked KERAS_FILES beside `model_file`, an
    .h5, after checking that the three load to the same outputs. Returns {file name: sha256}
    of NAME.h5, NAME.keras and model.weights.h5, as the model card lists them."""
    path = check_folder(model_file)
    quiet_tensorflow()
    from dcgan.checkpoints import atomic_save
    from dcgan.trust import load_keras_model

    folder, keras_file = path.parent, path.with_suffix(".keras")
    h5 = load_keras_model(path)
    if not keras_file.exists():
        atomic_save(h5, keras_file)
        log(f"wrote {keras_file}")
    _check_same(h5, [keras_file], path)  # before the folder is written: a stale one stays out
    with zipfile.ZipFile(keras_file) as zf:
        members = sorted(zf.namelist())
        if members != sorted(KERAS_FILES):  # assets would need a folder of their own
            raise ValueError(f"{keras_file} holds {members}, not just {list(KERAS_FILES)}")
        for name in KERAS_FILES:
            files.write_bytes(folder / name, zf.read(name))
    log(f"unpacked {keras_file.name} into {folder} ({', '.join(KERAS_FILES)})")
    _check_same(h5, [folder], path)
    return {p.name: sha256(p) for p in (path, keras_file, folder / "model.weights.h5")}


def _check_same(reference, others, where):
    """Raises ValueError unless each of `others` (paths) loads to a model whose outputs equal
    `reference`'s, on inputs of its shapes (whole-number ones, a class, drawn from 0-9)."""
    import numpy as np

    from dcgan.trust import load_keras_model

    rng = np.random.default_rng(0)
    inputs = []
    for spec in reference.inputs:
        shape = (4, *spec.shape[1:])
        inputs.append(
            np.arange(4) % files.NUM_CLASSES
            if "int" in str(spec.dtype)
            else rng.standard_normal(shape).astype("float32")
        )
    inputs = inputs if len(inputs) > 1 else inputs[0]
    expected = np.asarray(reference(inputs, training=False))
    for other in others:
        got = np.asarray(load_keras_model(other)(inputs, training=False))
        if not np.array_equal(got, expected):
            raise ValueError(
                f"{other} computes other numbers than {where} (max difference "
                f"{np.abs(got - expected).max():.3g}): remove it and run this again"
            )


def parser():
    p = CliParser("python -m dcgan.hub", __doc__)
    p.add_argument("model", nargs="+", help="NAME.h5 in the folder to make Hub-ready")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        paths = [check_folder(m) for m in args.model]  # every one, before any is written
    except ValueError as e:
        raise UsageError(str(e)) from None
    for path in paths:
        digests = make_hub_folder(path)
        print(f"sha256 for {path.parent / 'README.md'}:")
        for name, digest in digests.items():
            print(f"  {name}: {digest}")
    return 0


def cli():
    run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
