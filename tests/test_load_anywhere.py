"""The saved models load with plain Keras / TensorFlow: no dcgan import, no custom objects.
Conditional ones too, with the digit as a second input. Generators load trainable, so a user can
fine-tune them. The shipped folders hold no SavedModel or discriminator: their generators are
exported to a SavedModel here, to check that the export serves the same numbers. Each shipped
folder loads as a folder, as the Hugging Face Hub serves it, and as each of its model files."""

import importlib.util

import pytest

from conftest import IN_SDIST, REPO, SDIST_SKIP, SHIPPED_FOLDERS, run_python

# Runs under both CPU precision paths in CI ($DCGAN_AUTO_PRECISION pins `auto`'s pick).
pytestmark = [pytest.mark.precision, pytest.mark.slow]  # slow: fresh interpreters

# Runs in a fresh interpreter outside the checkout, as someone who only has the files would.
LOAD_WITHOUT_DCGAN = r"""
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras

run, savedmodel, same_as = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
n = 6
z = tf.random.stateless_truncated_normal((n, 100), seed=[1, 2]).numpy()  # the training noise family

def check_images(x, where):
    x = np.asarray(x)
    assert x.shape == (n, 28, 28, 1), (where, x.shape)
    assert np.isfinite(x).all() and x.min() >= -1.0 and x.max() <= 1.0, (where, x.min(), x.max())
    return x

def check_trainable(model, where):
    # Fine-tuning needs every layer unfrozen: a frozen layer has no trainable weights to move.
    layers = model._flatten_layers(include_self=False)
    frozen = [layer.name for layer in layers if not layer.trainable]
    assert model.trainable and model.trainable_weights and not frozen, (where, frozen)

g = keras.models.load_model(run / "generator.h5")
check_trainable(g, "generator.h5")
conditional = len(g.inputs) == 2
digits = np.arange(n, dtype="int32") % 10
inputs = [z, digits] if conditional else z
images = check_images(g.predict(inputs, verbose=0), "generator.h5")

g_keras = keras.models.load_model(run / "generator.keras")
check_trainable(g_keras, "generator.keras")
keras_file = check_images(g_keras.predict(inputs, verbose=0), "generator.keras")
np.testing.assert_allclose(keras_file, images, atol=1e-5, err_msg="generator.keras vs generator.h5")

# The SavedModel against the .h5 written from the same weights ("-": export one from it here).
if savedmodel == "-":
    savedmodel = Path.cwd() / "exported_savedmodel"
    keras.models.load_model(run / same_as).export(str(savedmodel), verbose=False)
saved = tf.saved_model.load(str(run / savedmodel))
serve = saved.signatures["serving_default"]
specs = serve.structured_input_signature[1]
expected = [(None,), (None, 100)] if conditional else [(None, 100)]
assert sorted(tuple(s.shape) for s in specs.values()) == expected, specs
named = {name: tf.constant(digits if spec.dtype.is_integer else z) for name, spec in specs.items()}
outputs = serve(**named)
assert len(outputs) == 1, list(outputs)
from_saved = check_images(list(outputs.values())[0], "SavedModel serving_default")
h5 = keras.models.load_model(run / same_as).predict(inputs, verbose=0)
np.testing.assert_allclose(from_saved, h5, atol=1e-5, err_msg=f"SavedModel vs {same_as}")

if (run / "discriminator.h5").exists():  # training runs keep D; the shipped folder does not
    d = keras.models.load_model(run / "discriminator.h5")
    p = np.asarray(d.predict([images, digits] if conditional else images, verbose=0))
    assert p.shape == (n, 1), p.shape
    assert np.isfinite(p).all() and p.min() >= 0.0 and p.max() <= 1.0, (p.min(), p.max())

assert "dcgan" not in sys.modules, sorted(m for m in sys.modules if m.startswith("dcgan"))
print("loaded-anywhere-ok")
"""


def load_without_dcgan(folder, savedmodel, same_as, cwd):
    # This checkout off the path, so a saved model that needs project code fails to load.
    proc = run_python(
        "-c", LOAD_WITHOUT_DCGAN, folder, savedmodel, same_as, cwd=cwd, timeout=300, checkout=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "loaded-anywhere-ok" in proc.stdout


def test_saved_models_load_without_dcgan(tiny_run, tmp_path):
    load_without_dcgan(tiny_run, "generator_e0001_savedmodel", "generator_e0001.h5", tmp_path)


def test_shipped_models_load_without_dcgan(tmp_path):
    if IN_SDIST:
        pytest.skip(SDIST_SKIP)
    load_without_dcgan(REPO / "saved_models" / "generator", "-", "generator.h5", tmp_path)


def test_conditional_models_load_without_dcgan(tiny_conditional_run, tmp_path):
    load_without_dcgan(
        tiny_conditional_run, "generator_e0001_savedmodel", "generator_e0001.h5", tmp_path
    )


def test_shipped_conditional_models_load_without_dcgan(tmp_path):
    if IN_SDIST:
        pytest.skip(SDIST_SKIP)
    load_without_dcgan(REPO / "saved_models" / "conditional", "-", "generator.h5", tmp_path)


# Each shipped folder as a Hugging Face Hub user gets it: Keras loads the folder itself (its
# config.json, model.weights.h5 and metadata.json), and its .h5 and .keras files, to the same
# numbers; with huggingface_hub installed, through hf:// too, its download (snapshot_download)
# answered by the folder, as the network would.
LOAD_FOLDERS = r"""
import sys
from pathlib import Path

import numpy as np
import keras

root, folders = Path(sys.argv[1]), dict(arg.split("=") for arg in sys.argv[2:])
try:
    import huggingface_hub
except ImportError:
    huggingface_hub = None
else:
    huggingface_hub.snapshot_download = lambda repo_id, **kw: str(root / repo_id.split("/")[1])

rng = np.random.default_rng(0)
for folder, model in folders.items():
    here = root / folder
    loaded = {"folder": keras.saving.load_model(here)}
    for name in (model, model.replace(".h5", ".keras")):
        loaded[name] = keras.saving.load_model(here / name)
    if huggingface_hub is not None:
        loaded["hf://"] = keras.saving.load_model(f"hf://someone/{folder}")
    reference = loaded[model]
    inputs = [
        np.arange(4) % 10 if "int" in str(spec.dtype)
        else rng.standard_normal((4, *spec.shape[1:])).astype("float32")
        for spec in reference.inputs
    ]
    inputs = inputs if len(inputs) > 1 else inputs[0]
    expected = np.asarray(reference(inputs, training=False))
    for how, m in loaded.items():
        got = np.asarray(m(inputs, training=False))
        np.testing.assert_array_equal(got, expected, err_msg=f"{folder}: {how} vs {model}")
    print(folder, " ".join(loaded))

assert "dcgan" not in sys.modules, sorted(m for m in sys.modules if m.startswith("dcgan"))
print("hub-folders-ok")
"""


def test_shipped_folders_load_as_folders_and_files_without_dcgan(tmp_path):
    if IN_SDIST:
        pytest.skip(SDIST_SKIP)
    pairs = [f"{folder}={model}" for folder, model in SHIPPED_FOLDERS.items()]
    proc = run_python(
        "-c",
        LOAD_FOLDERS,
        REPO / "saved_models",
        *pairs,
        cwd=tmp_path,
        timeout=300,
        checkout=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "hub-folders-ok" in proc.stdout
    hub = importlib.util.find_spec("huggingface_hub") is not None
    for folder, model in SHIPPED_FOLDERS.items():
        forms = ["folder", model, model.replace(".h5", ".keras")] + (["hf://"] if hub else [])
        assert f"{folder} {' '.join(forms)}" in proc.stdout.splitlines(), proc.stdout
