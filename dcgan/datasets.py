"""Which dataset a run's images are, and what that means for the words and the scores: MNIST's
digits, Fashion-MNIST's clothes, or images no shipped classifier reads (a folder of your own).

Every score reads images with a classifier of their own dataset: FIDs of clothes in a digit
classifier's features would measure nothing. Imports nothing heavy, so the command lines use it
before TensorFlow loads.
"""

import json
import os
from pathlib import Path

from dcgan.files import ENV

MNIST, FASHION = "mnist", "fashion_mnist"
TITLES = {MNIST: "MNIST", FASHION: "Fashion-MNIST"}
CLASS_NAMES = {
    MNIST: tuple(str(d) for d in range(10)),
    FASHION: (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}
# The shipped classifier of each dataset, by its name in `files.ENV` and `files.shipped`.
CLASSIFIERS = {MNIST: "classifier", FASHION: "fashion_classifier"}
# The names `data.load` knows, and the descriptions it gives of what it loaded.
_NAMED = {"mnist": MNIST, "sample": MNIST, "bundled MNIST sample": MNIST, "fashion_mnist": FASHION}
LOAD_NAMES = ("mnist", "fashion_mnist", "sample")  # what --data takes by name
MAX_CONFIG_BYTES = 1_000_000  # a run's settings file is ~1 kB; more is not one dcgan wrote


def kind(source):
    """The dataset of `source`: MNIST, FASHION, or None (images no shipped classifier reads).

    `source` is what --data takes (None: $DCGAN_DATA, else MNIST) or how `data.load` describes
    what it loaded ("bundled MNIST sample", "fashion_mnist (/usr/share/datasets/...)"). A .npz,
    or a folder of IDX files, is taken for MNIST unless its own name says fashion; any other
    folder (of your own images) is None. A name is only a first guess, for words said before
    TensorFlow loads: which classifier scores the images, and whose class names are printed,
    is told by the images themselves (`classifier.for_data`, `classifier.identify`).
    """
    source = str(source or os.environ.get(ENV["data"]) or MNIST).strip()
    named = _NAMED.get(source) or _NAMED.get(source.split(" (", 1)[0])
    if named:
        return named
    path = Path(source).expanduser()
    says_fashion = "fashion" in path.name.lower()
    if path.suffix.lower() == ".npz":
        return FASHION if says_fashion else MNIST
    if is_idx_folder(path):
        return FASHION if says_fashion else MNIST
    return None


IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what a folder of images holds


def is_idx_folder(path):
    """True for a folder of MNIST-style IDX files (*-ubyte[.gz]) and no images or subfolders;
    any other folder is images (a stray IDX file beside pictures does not make them digits)."""
    path = Path(path)
    if not path.is_dir():
        return False
    entries = list(path.iterdir())
    if not any(p.name.endswith(("-ubyte", "-ubyte.gz")) for p in entries):
        return False
    return not any(p.suffix.lower() in IMAGE_SUFFIXES or p.is_dir() for p in entries)


def image_folder(source):
    """The folder of images `source` (a --data value, or None for $DCGAN_DATA) names, or None
    when it names other data (a dataset by name, an .npz, a folder of MNIST IDX files)."""
    source = source or os.environ.get(ENV["data"])
    if not source or source in LOAD_NAMES:
        return None
    path = Path(source).expanduser()
    return path if path.is_dir() and not is_idx_folder(path) else None


def is_image_folder(source):
    """True when `source` (as `image_folder` takes it) names a folder read as images."""
    return image_folder(source) is not None


def title(k):
    """A dataset's name in words ("Fashion-MNIST"); None is "your own images"."""
    return TITLES.get(k, "your own images")


def noun(k, n=2):
    """What one (n == 1) or several images of dataset `k` are called: digits, or images."""
    word = "digit" if k == MNIST else "image"
    return word if n == 1 else word + "s"


def class_name(k, c):
    """Class `c` of dataset `k` in words: "7" for a digit, "7 (Sneaker)" for Fashion-MNIST."""
    names = CLASS_NAMES.get(k)
    if names is None or k == MNIST:
        return str(c)
    return f"{c} ({names[c]})"


# Where a model's run settings are, in the order they are looked for: run.json in a model
# folder (Keras owns config.json there: `keras.saving.load_model(folder)` builds the model from
# it), config.json in a run folder as dcgan.train writes it, and in older shipped folders.
RUN_FILES = ("run.json", "config.json")


def run_config_file(model):
    """The file holding the settings of the run a generator file, SavedModel folder or Keras
    model folder comes from (see RUN_FILES), or None where none reads as one. A Keras model's
    own config.json is not a run's."""
    model = Path(model).expanduser()
    folders = ([model] if model.is_dir() else []) + [model.parent]
    for folder in folders:
        for name in RUN_FILES:
            if _read_run_config(folder / name) is not None:
                return folder / name
    return None


def run_config(model):
    """The settings of the run a generator comes from (`run_config_file`: the run.json or
    config.json beside it, as a dict), or None where there is none that reads as one."""
    path = run_config_file(model)
    return None if path is None else _read_run_config(path)


def read_run_file(path):
    """What the run settings file at `path` holds (a run folder's config.json, a model folder's
    run.json), parsed: the one reader of them. Raises OSError, or ValueError for one that is
    not JSON; whether it reads as a run's is the caller's to judge."""
    return json.loads(Path(path).read_text())


def _read_run_config(path):
    try:
        if not path.is_file() or path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        config = read_run_file(path)
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or {"class_name", "config"} <= config.keys():
        return None  # a Keras model's config.json (an unzipped .keras), not a run's
    return config


def class_names(config):
    """The class names of the run whose config.json `config` is, as its settings say them: its
    folder's class subfolders, else those of the dataset it recorded (told by its images) or
    trained on by name (mnist, fashion_mnist, sample, the default); None where they do not say.
    A data file's name is no evidence: clothes saved as digits.npz are still clothes."""
    if not isinstance(config, dict):
        return None
    classes = config.get("train_classes")
    if isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes):
        return tuple(classes)
    if "dataset" in config:
        return CLASS_NAMES.get(config["dataset"])
    given, described = config.get("data"), config.get("data_source")
    if given is None and described is None:
        return CLASS_NAMES[MNIST]  # a run from before data_source: the default data, MNIST
    for said in (given, described):
        if isinstance(said, str) and (_NAMED.get(said) or _NAMED.get(said.split(" (", 1)[0])):
            return CLASS_NAMES[_NAMED.get(said) or _NAMED[said.split(" (", 1)[0]]]
    return None


def run_data(config):
    """(the data a run trained on, as --data takes it, or None for the default; its dataset)
    from its config.json. A path that is not here (the run came from another machine) gives
    the dataset's name instead: its test split is the same wherever it was copied."""
    recorded = config.get("dataset", "unknown")  # what the run's images were, told by the data
    given, described = (
        v if isinstance(v, str) and v else None
        for v in (config.get("data"), config.get("data_source"))
    )
    k = kind(given) if given else kind(described) if described else MNIST
    k = recorded if recorded in (MNIST, FASHION, None) else k
    for candidate in (given, described):
        if candidate and (candidate in LOAD_NAMES or Path(candidate).expanduser().exists()):
            return candidate, k
    if k == FASHION:
        return FASHION, k
    return (None, k) if k == MNIST else (given or described, k)
