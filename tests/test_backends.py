"""`python -m dcgan.train` on Keras's JAX backend: the same flags, run folder, callbacks and
resume as on TensorFlow, one step that computes what TensorFlow's computes, and several devices
that compute what one does.

One process has one Keras backend: this one is TensorFlow's, so every JAX side runs in a
subprocess with KERAS_BACKEND=jax (arrays in and out through .npz files)."""

import csv
import dataclasses
import importlib.util
import json
import textwrap

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import data, step_tf, trainset
from dcgan.training import Config, run

from conftest import REPO, run_python

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="JAX is not installed: pip install dcgan[jax]"
)

TINY = "--epochs 1 --steps-per-epoch 2 --batch-size 32 --data sample --quiet".split()


def train_jax(*args, **env):
    return run_python("-m", "dcgan.train", *map(str, args), KERAS_BACKEND="jax", **env)


def h5_weights(path):
    out = []
    with h5py.File(path) as f:
        f.visititems(lambda n, o: out.append(np.array(o)) if isinstance(o, h5py.Dataset) else None)
    return out


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """One tiny JAX run with every feature on: EMA, FID checks, checkpoints (with a SavedModel),
    TensorBoard, sample grids; and the TensorFlow-only settings, which must resolve, not fail."""
    out = tmp_path_factory.mktemp("jax") / "run"
    flags = "--ema 0.9 --save-every 1 --eval-every 1 --eval-samples 64 --nets fast"
    proc = train_jax(*TINY, *flags.split(), "--jit-compile", "off", "--out", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow  # a JAX run in a fresh interpreter (~1 min on 2 cores)
def test_a_jax_run_writes_the_whole_run_folder(jax_run):
    config = json.loads((jax_run / "config.json").read_text())
    assert config["backend"] == "jax" and "jax" in config
    assert (config["nets"], config["jit_compile"]) == ("builtin", True)  # JAX always compiles
    for name in (
        "generator.h5",
        "generator.keras",
        "discriminator.h5",
        "generator_ema.h5",
        "generator_e0001.h5",
        "generator_e0001_savedmodel",
        "generator_best.h5",
        "state_e0001.npz",
        "samples/epoch_0001.png",
        "progress.gif",
        "losses.png",
        "summary.txt",
    ):
        assert (jax_run / name).exists(), name
    assert list((jax_run / "logs").rglob("events.out.tfevents.*")), "TensorBoard logs"
    rows = list(csv.DictReader(open(jax_run / "history.csv")))
    assert len(rows) == 1 and {"d_loss", "g_loss", "d_acc", "fid", "fid_ema", "fid_train"} <= set(
        rows[0]
    )
    assert all(np.isfinite(float(v)) for v in rows[0].values())
    best = json.loads((jax_run / "best.json").read_text())
    assert (best["against"], best["generator"]) == ("training digits", "ema")
    assert best["fid"] == pytest.approx(float(rows[0]["fid_train"]), rel=1e-5)
    # What JAX wrote loads and draws here, under TensorFlow.
    g = keras.models.load_model(jax_run / "generator_best.h5", compile=False)
    assert g.trainable
    x = np.asarray(g(np.zeros((2, 100), "float32"), training=False))
    assert x.shape == (2, 28, 28, 1) and np.all(np.abs(x) <= 1)


def test_resume_under_the_other_backend_is_refused(tmp_path):
    config = {**dataclasses.asdict(Config(data="sample")), "backend": "jax"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="trained on the jax backend.*KERAS_BACKEND=jax"):
        run(Config.of_run(tmp_path), resume=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"], "nothing written"


@pytest.mark.slow  # three JAX runs of the conditional nets (~3 min on 2 cores)
def test_stop_after_epoch_1_then_resume_is_bit_identical(tmp_path):
    flags = [*TINY[2:], "--conditional", "--ema", "0.9", "--save-every", "1"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert train_jax("--epochs", 2, *flags, "--out", straight).returncode == 0
    assert train_jax("--epochs", 1, *flags, "--out", stopped).returncode == 0
    proc = train_jax("--resume", stopped, "--epochs", 2, "--quiet")
    assert proc.returncode == 0 and "resuming" in proc.stderr, proc.stderr[-3000:]
    with np.load(straight / "state_e0002.npz") as a, np.load(stopped / "state_e0002.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    for name in ("generator.h5", "discriminator.h5", "generator_ema.h5"):
        for x, y in zip(h5_weights(straight / name), h5_weights(stopped / name)):
            np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.slow  # a fresh interpreter loading JAX
def test_several_machines_are_refused_on_jax(tmp_path):
    cluster = '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}}'
    proc = train_jax(*TINY, "--out", tmp_path / "run", TF_CONFIG=cluster)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr[-3000:]
    assert "TensorFlow backend only" in proc.stderr and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_nan_guard_under_jax(tmp_path):
    run_dir = tmp_path / "run"
    proc = train_jax(*TINY[2:], "--epochs", 3, "--arch", "mlp", "--lr", "1e30", "--out", run_dir)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().count("\n") == 0 and "diverged in epoch 1" in proc.stderr
    assert not list(run_dir.glob("generator*")) and not list(run_dir.glob("state_e*.npz"))


# --- One step on both backends -----------------------------------------------------------------

# Exec'd here (TensorFlow) and in a JAX subprocess: the same nets, weights, batch and draws.
ONE_STEP = textwrap.dedent('''
    import keras
    import numpy as np
    import tensorflow as tf

    from dcgan.gan import DCGAN
    from dcgan.models import build_pair


    class FixedDraws(DCGAN):
        """The draws seam: noise and targets from the test, not from either backend's RNG."""

        fixed = None

        def draws(self, images, step=None):
            return self.fixed["z_d"], self.fixed["z_g"], None

        def targets(self, n, real, key, stream):
            return self.fixed[f"y{int(stream)}"]


    def one_step(fixed, strategy):
        """The weights (G, D, EMA) after one step from `fixed`'s weights on its batch."""
        with strategy.scope():
            g, d = build_pair()
            for layer in d.layers:
                if isinstance(layer, keras.layers.Dropout):
                    layer.rate = 0.0  # each backend draws its own masks
            gan = FixedDraws(g, d, ema_decay=0.9)
            # SGD, not Adam: Adam's first step is lr * sign(gradient), blind to its size.
            sgd = keras.optimizers.SGD
            gan.compile(d_optimizer=sgd(0.1), g_optimizer=sgd(0.1))
        gan.fixed = fixed
        weights = gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights
        for i, v in enumerate(weights):
            v.assign(fixed[f"w{i}"])
        with strategy.scope():
            gan.fit(tf.data.Dataset.from_tensors(fixed["real"]), epochs=1, verbose=0)
        return [np.array(v) for v in weights]
''')

JAX_SIDE = ONE_STEP + textwrap.dedent("""
    import sys

    from dcgan.distribute import get_strategy

    strategy = get_strategy()
    assert strategy.num_replicas_in_sync == int(sys.argv[3]), strategy.num_replicas_in_sync
    with np.load(sys.argv[1]) as f:
        after = one_step(dict(f), strategy)
    np.savez(sys.argv[2], *after)
""")


def fixed_step_inputs(path):
    """Random weights, 16 real digits, and the draws of one step, saved for both sides."""
    keras.utils.set_random_seed(1)
    from dcgan.models import build_pair

    g, d = build_pair()
    rng = np.random.default_rng(0)
    weights = g.weights + d.weights + g.weights
    fixed = {f"w{i}": np.array(v) for i, v in enumerate(weights)}
    fixed["real"] = trainset.to_float(data.load("sample")[0][:16]).numpy()
    fixed["z_d"] = rng.uniform(-1, 1, (16, 100)).astype("float32")
    fixed["z_g"] = rng.uniform(-1, 1, (32, 100)).astype("float32")
    for stream, (n, low, high) in {2: (16, 0.7, 1.2), 3: (16, 0.0, 0.3), 4: (32, 0.7, 1.2)}.items():
        fixed[f"y{stream}"] = rng.uniform(low, high, (n, 1)).astype("float32")
    np.savez(path, **fixed)
    return fixed


def jax_step(tmp_path, inputs, devices=1):
    script, out = tmp_path / "jax_step.py", tmp_path / f"jax_{devices}.npz"
    script.write_text(JAX_SIDE)
    env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    proc = run_python(script, inputs, out, devices, KERAS_BACKEND="jax", **env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def worst_difference(before, a, b):
    """The largest difference between two steps' updates, relative to the largest update of
    each weight; biases right before a BatchNormalization get (numerically) zero gradient, and
    the 1e-6 keeps their round-off from counting."""
    return max(
        float(np.max(np.abs((x - w) - (y - w))) / (np.max(np.abs(x - w)) + 1e-6))
        for w, x, y in zip(before, a, b)
    )


# TensorFlow (oneDNN kernels) and JAX (XLA's) add in other orders, so float32 round-off differs:
# most updates agree to ~1e-5 of their size, the worst measured was 0.9% (G's first
# BatchNormalization gamma, whose gradient is a sum over the batch that mostly cancels). A wrong
# step is off by a large part of its size: D's update applied twice differs by 50%.
TOLERANCE = 2e-2


@pytest.mark.slow  # a JAX step in a fresh interpreter (~30 s on 2 cores)
def test_one_step_matches_tensorflow(tmp_path, monkeypatch):
    inputs = tmp_path / "inputs.npz"
    fixed = fixed_step_inputs(inputs)
    before = [fixed[f"w{i}"] for i in range(sum(k.startswith("w") for k in fixed))]
    space = {}
    exec(ONE_STEP, space)
    tf_after = space["one_step"](fixed, tf.distribute.get_strategy())
    jax_after = jax_step(tmp_path, inputs)
    moved = sum(float(np.max(np.abs(a - w))) > 1e-6 for a, w in zip(tf_after, before))
    assert moved / len(before) > 0.6, "most weights move in one step"
    assert worst_difference(before, tf_after, jax_after) < TOLERANCE

    # The same comparison catches a wrong step: D's update applied twice on TensorFlow.
    once = step_tf.train_discriminator

    def twice(*args):
        once(*args)
        return once(*args)

    monkeypatch.setattr(step_tf, "train_discriminator", twice)
    wrong = space["one_step"](fixed, tf.distribute.get_strategy())
    assert worst_difference(before, wrong, jax_after) > 10 * TOLERANCE


@pytest.mark.slow  # two JAX processes
def test_two_devices_compute_what_one_does(tmp_path):
    inputs = tmp_path / "inputs.npz"
    fixed = fixed_step_inputs(inputs)
    before = [fixed[f"w{i}"] for i in range(sum(k.startswith("w") for k in fixed))]
    one, two = jax_step(tmp_path, inputs, 1), jax_step(tmp_path, inputs, 2)
    # One program over the global batch either way; only XLA's partitioning of the sums differs.
    assert worst_difference(before, one, two) < TOLERANCE


def test_repo_has_no_second_trainer():
    assert not (REPO / "scripts" / "train_jax.py").exists()
