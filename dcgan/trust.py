"""Whether a model file is safe to load, and the one way dcgan loads a Keras model
(`load_keras_model`): in Keras's safe mode (no code of the file's runs), after checking what the
file declares (a 10 kB file can claim gigabytes once inflated or built) and before running it,
what it would cost (a small file can upsample 1000x). Every loader of a generator or a
classifier goes through it.
"""

import json
import math
from pathlib import Path
import zipfile

import h5py
import keras

FIX = "pass a model saved by dcgan"  # what every refusal here asks for instead


def load_keras_model(path, fix=FIX, what="Keras model"):
    """The Keras model at `path` (a .h5 or .keras file, or a Keras model folder), uncompiled,
    checked before it loads (`check_model_file`) and after (`check_cost`).

    Raises ValueError, naming `path`, for a model that declares or would cost more than a
    digit's model, or one that does not load (`unloadable`, saying `what` it should be and
    `fix`)."""
    check_model_file(path)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:
        raise unloadable(path, e, fix, what) from None
    check_cost(model, path)
    return model


def unloadable(path, error, fix=FIX, what="Keras model"):
    """The error for a model file that raised `error` as it loaded."""
    return ValueError(f"{path} is not a loadable {what} ({type(error).__name__}): {fix}")


# What a model file may declare, checked before Keras loads it (the shipped ones: 7-9 MB, 100
# latents or 784 pixels in): the bytes its members inflate to and its weights take, the values
# its inputs take per digit, and the widths of its layers.
MAX_MODEL_BYTES = 500_000_000
MAX_INPUT_VALUES = 65_536
MAX_LAYER_WIDTH = 65_536


def check_model_file(path):
    """Raises ValueError, naming `path`, when a Keras .keras (zip), .h5 file or Keras model
    folder declares more than a model of this project could need: checked from the zip's
    central directory, the HDF5 datasets' shapes and the model's config, before anything is
    inflated or built (a 10 kB file can claim gigabytes). Reads only headers."""
    path = Path(path)
    if path.is_dir():
        try:
            _check_config(path, (path / "config.json").read_bytes())
            with open(path / "model.weights.h5", "rb") as f:
                _check_h5(path, f)
        except OSError:
            pass  # not a Keras folder: Keras says so when it loads it
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
                inflated = sum(i.file_size for i in infos)
                _check_size(path, inflated, "inflates to")
                for info in infos:
                    if info.filename.endswith(".h5"):
                        with zf.open(info) as f:
                            _check_h5(path, f)
                    elif info.filename == "config.json":
                        _check_config(path, zf.read(info))
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
            pass  # not readable as a zip: Keras says so when it loads it
    else:
        try:
            with open(path, "rb") as f:
                _check_h5(path, f)
        except OSError:
            pass


def _check_size(path, nbytes, what):
    if nbytes > MAX_MODEL_BYTES:
        raise ValueError(
            f"{path} {what} {nbytes / 1e9:.1f} GB, more than the {MAX_MODEL_BYTES / 1e9:g} GB "
            f"a model is read at: {FIX}"
        )


def _check_h5(path, fileobj):
    sizes, config = [], None

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            count = 1
            for d in obj.shape or ():
                count *= d
            sizes.append(count * obj.dtype.itemsize)

    try:
        with h5py.File(fileobj, "r") as h5:
            h5.visititems(visit)
            config = h5.attrs.get("model_config")
    except Exception:  # not HDF5, or damaged: Keras says so when it loads it
        return
    _check_size(path, sum(sizes), "declares weights of")
    if config is not None:
        _check_config(path, config)


def _check_config(path, raw):
    try:
        config = json.loads(raw)
    except (ValueError, TypeError):
        return

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("batch_shape", "batch_input_shape") and isinstance(value, list):
                    dims = [d for d in value[1:] if isinstance(d, int)]
                    if math.prod(dims) > MAX_INPUT_VALUES:
                        raise ValueError(
                            f"{path} takes inputs of shape {tuple(value[1:])}, more than the "
                            f"{MAX_INPUT_VALUES:,} values a digit's model takes: {FIX}"
                        )
                elif key in ("units", "filters", "input_dim", "output_dim") and (
                    isinstance(value, int) and value > MAX_LAYER_WIDTH
                ):
                    raise ValueError(
                        f"{path} has a layer with {key} {value:,}, more than the "
                        f"{MAX_LAYER_WIDTH:,} a digit's model needs: {FIX}"
                    )
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)


# What a loaded model may cost before it is run: its parameters, and the values any one layer
# outputs per input (the shipped generator: 6.7 million parameters, 25,088 values at most).
MAX_PARAMS = 100_000_000
MAX_LAYER_VALUES = 4_000_000


def check_cost(model, path):
    """Raises ValueError, naming `path`, when a loaded model would cost far more to run than a
    digit's model: too many parameters, or a layer whose declared output per input is huge (a
    small file can upsample 1000x). Reads the declared shapes only; runs nothing."""
    params = model.count_params() if hasattr(model, "count_params") else 0
    if params > MAX_PARAMS:
        raise ValueError(
            f"{path} has {params:,} parameters, more than the {MAX_PARAMS:,} a digit's model "
            f"needs: {FIX}"
        )
    flatten = getattr(model, "_flatten_layers", None)
    for layer in flatten(include_self=False) if flatten else ():
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError, RuntimeError):
            continue  # no single output (a shared layer, a nested model's inner layers)
        for out in outputs:
            shape = getattr(out, "shape", None)
            if not shape:
                continue
            dims = [d for d in tuple(shape)[1:] if isinstance(d, int)]
            if math.prod(dims) > MAX_LAYER_VALUES:
                raise ValueError(
                    f"{path}: layer {layer.name!r} outputs {tuple(shape)}, more than the "
                    f"{MAX_LAYER_VALUES:,} values per input a digit's model makes: {FIX}"
                )
