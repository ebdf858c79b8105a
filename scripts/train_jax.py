"""The card's recipe on Keras's JAX backend, for a GPU machine that has JAX but no TensorFlow.

The shipped generators were trained with this on one H200 (see the model cards): the same
built-in-layer nets as `dcgan.models.build_pair`, and the train step of `dcgan.gan.DCGAN` written
as one pure function: per step D sees half a batch of real digits and half of G's, with soft
targets (truncated normals on [0.7, 1.2] and [0.0, 0.3]); then G takes a full batch of
truncated-normal noise through G -> D with "real" targets, and only G's weights move; Adam 2e-4 /
beta_1 0.5 for both; the EMA of G's weights with the same warm-up. A whole epoch is one
compiled `lax.scan`.

What it does not have (use `python -m dcgan.train` for these): resume, `tf.distribute`, the
callbacks, TensorBoard. Its random numbers are JAX's, so a run is not the TensorFlow run's twin.

    KERAS_BACKEND=jax python scripts/train_jax.py --data mnist.npz --minutes 8 --out runs/jax

Every `--eval-minutes` the EMA generator (BatchNormalization statistics re-estimated) is
scored with `dcgan.metrics` against 10,000 *training* digits, so that picking the best epoch
does not look at the test digits that `python -m dcgan.evaluate` reports on; the best one is
saved as generator_ema_best.h5 and history.csv records every epoch. Every file goes through a
temporary name, so a killed run leaves whole files.
"""

import csv
import io
import json
import math
import os
from pathlib import Path
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from dcgan import (  # noqa: E402
    checkpoints,
    data,
    errors,
    files,
    metrics,
    models,
    noise,
    sampling,
    training,
)
from dcgan.files import NUM_CLASSES  # noqa: E402

CARD = training.Config().checked()  # dcgan.train's defaults: the card's recipe


def truncated_normal(key, shape, low, high):
    """Standard normal cut to [low, high] by inverting the CDF, as `dcgan.noise` draws it."""
    cdf = lambda t: 0.5 * math.erfc(-t / math.sqrt(2.0))
    u = jax.random.uniform(key, shape, minval=cdf(low), maxval=cdf(high))
    return jax.scipy.special.ndtri(u)


def bce(y, p):
    return jnp.mean(keras.losses.binary_crossentropy(y, p))


def make_epoch(g, d, g_opt, d_opt, conditional, ema_decay, half, steps):
    """A compiled function (state, key, images uint8, digits) -> (state, per-step metrics)."""
    latent_dim = g.inputs[0].shape[-1]

    def inputs(x, digits):
        return models.net_inputs(x, digits if conditional else None)

    def step(state, batch):
        g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, ema, t = state
        images, digits, key = batch
        k = jax.random.split(key, len(noise.Stream))
        n = half
        z_fake = truncated_normal(k[noise.Stream.FAKE_LATENTS], (n, latent_dim), *noise.NOISE_RANGE)
        z_g = truncated_normal(k[noise.Stream.G_LATENTS], (2 * n, latent_dim), *noise.NOISE_RANGE)
        fake_digits = jax.random.randint(k[noise.Stream.FAKE_DIGITS], (n,), 0, NUM_CLASSES)
        g_digits = jax.random.randint(k[noise.Stream.G_DIGITS], (2 * n,), 0, NUM_CLASSES)

        # D: real half and G's half, soft targets. G runs in training mode here too (its batch
        # statistics move), as in the TensorFlow step.
        fake, g_ntv = g.stateless_call(g_tv, g_ntv, inputs(z_fake, fake_digits), training=True)
        x = jnp.concatenate([images, jax.lax.stop_gradient(fake)])
        y = jnp.concatenate(
            [
                truncated_normal(k[noise.Stream.REAL_TARGETS], (n, 1), *noise.REAL_RANGE),
                truncated_normal(k[noise.Stream.FAKE_TARGETS], (n, 1), *noise.FAKE_RANGE),
            ]
        )
        all_digits = jnp.concatenate([digits, fake_digits])

        def d_loss_fn(d_tv):
            p, ntv = d.stateless_call(d_tv, d_ntv, inputs(x, all_digits), training=True)
            return bce(y, p), (p, ntv)

        (d_loss, (p, d_ntv)), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_tv)
        d_tv, d_ov = d_opt.stateless_apply(d_ov, grads, d_tv)

        # G: through the updated D, whose weights are read and not written.
        y_g = truncated_normal(k[noise.Stream.G_TARGETS], (2 * n, 1), *noise.REAL_RANGE)

        def g_loss_fn(g_tv):
            img, g_ntv2 = g.stateless_call(g_tv, g_ntv, inputs(z_g, g_digits), training=True)
            q, d_ntv2 = d.stateless_call(d_tv, d_ntv, inputs(img, g_digits), training=True)
            return bce(y_g, q), (g_ntv2, d_ntv2)

        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(g_tv)
        g_tv, g_ov = g_opt.stateless_apply(g_ov, grads, g_tv)
        t = t + 1.0
        decay = jnp.minimum(ema_decay, (1.0 + t) / (10.0 + t))
        ema = [decay * e + (1.0 - decay) * w for e, w in zip(ema, g_tv)]
        hard = jnp.concatenate([jnp.ones((n, 1)), jnp.zeros((n, 1))])
        logs = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc": jnp.mean(((p > 0.5) == (hard > 0.5)).astype("float32")),
            "d_real": jnp.mean(p[:n]),
            "d_fake": jnp.mean(p[n:]),
        }
        return (g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, ema, t), logs

    @jax.jit
    def epoch(state, key, images_u8, labels):
        k_perm, k_steps = jax.random.split(key)
        idx = jax.random.permutation(k_perm, images_u8.shape[0])[: steps * half]
        idx = idx.reshape(steps, half)
        x = (images_u8[idx].astype("float32")[..., None] - 127.5) / 127.5
        return jax.lax.scan(step, state, (x, labels[idx], jax.random.split(k_steps, steps)))

    return epoch


def calibrated(g, ema_weights, g_ntv, seed=0, batches=10, batch_size=256):
    """A copy of G with the EMA weights and its BatchNormalization statistics re-estimated as
    the mean of its own batch statistics (what `dcgan.gan.recalibrate_batchnorm` does)."""
    net = keras.models.clone_model(g)
    for v, w in zip(net.trainable_variables, ema_weights):
        v.assign(w)
    for v, w in zip(net.non_trainable_variables, g_ntv):
        v.assign(w)
    norms = [la for la in models._leaves(net) if isinstance(la, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    key = jax.random.PRNGKey(seed)
    for i in range(batches):
        for layer in norms:
            layer.momentum = i / (i + 1)
        key, kz = jax.random.split(key)
        z = truncated_normal(kz, (batch_size, net.inputs[0].shape[-1]), *noise.NOISE_RANGE)
        net(
            models.net_inputs(
                z, jnp.arange(batch_size) % NUM_CLASSES if models.is_conditional(net) else None
            ),
            training=True,
        )
    for layer, m in zip(norms, momenta):
        layer.momentum = m
    return net


def sample(net, n, seed):
    """n uint8 digits drawn as in training (and the digits asked for: 0-9 in turn for a
    conditional G, None otherwise)."""
    z = truncated_normal(jax.random.PRNGKey(seed), (n, net.inputs[0].shape[-1]), *noise.NOISE_RANGE)
    digits = sampling.check_digits(net, None, n)
    return sampling.generate(net, n, z=np.asarray(z), digits=digits), digits


def parse(argv=None):
    p = errors.CliParser("scripts/train_jax.py", __doc__)
    p.add_argument("--data", default="mnist", help="as dcgan.train's --data")
    p.add_argument("--out", default="runs/jax")
    p.add_argument("--conditional", action="store_true")
    p.add_argument("--epochs", type=int, default=1000, help="at most this many epochs")
    p.add_argument("--minutes", type=float, default=None, help="stop after this much training")
    p.add_argument("--batch-size", type=int, default=CARD.batch_size)
    p.add_argument("--ema", type=float, default=CARD.ema)
    p.add_argument("--eval-minutes", type=float, default=0.75, help="score G this often")
    p.add_argument("--eval-samples", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="at most this many steps an epoch")
    a = p.parse_args(argv)
    for flag in ("epochs", "batch_size", "eval_samples", "steps"):
        if getattr(a, flag) is not None and getattr(a, flag) < (2 if flag != "epochs" else 1):
            p.error(f"--{flag.replace('_', '-')} {getattr(a, flag)} is too small")
    if a.batch_size % 2:
        p.error(f"--batch-size {a.batch_size} must be even (half real, half generated)")
    if not 0 <= a.ema < 1:
        p.error(f"--ema {a.ema} must be in [0, 1)")
    if (Path(a.out) / "history.csv").exists():
        p.error(f"--out {a.out} holds a finished run: pick a new folder")
    return a


def main(argv=None):
    a = parse(argv)
    images, labels, source = data.load(a.data, "train")
    half = a.batch_size // 2
    steps = min(len(images) // half, a.steps or len(images))
    if steps < 1:
        raise errors.UsageError(f"--data has {len(images)} digits, fewer than half a batch")
    print(f"{source}: {len(images)} digits, {steps} steps an epoch, {jax.devices()[0]}", flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        **vars(a),
        "command": " ".join(sys.argv),
        "jax": jax.__version__,
        "keras": keras.__version__,
        "device": str(jax.devices()[0]),
    }
    files.write_text(out / "config.json", json.dumps(config, indent=2))
    print(json.dumps(config), flush=True)

    keras.utils.set_random_seed(a.seed)
    g, d = models.build_pair(conditional=a.conditional)
    g_opt = keras.optimizers.Adam(CARD.lr, beta_1=CARD.beta1)
    d_opt = keras.optimizers.Adam(CARD.lr, beta_1=CARD.beta1)
    g_opt.build(g.trainable_variables)
    d_opt.build(d.trainable_variables)
    values = lambda vs: [v.value for v in vs]
    state = (
        values(g.trainable_variables),
        values(g.non_trainable_variables),
        values(d.trainable_variables),
        values(d.non_trainable_variables),
        values(g_opt.variables),
        values(d_opt.variables),
        values(g.trainable_variables),
        jnp.zeros((), "float32"),
    )
    epoch = make_epoch(g, d, g_opt, d_opt, a.conditional, a.ema, half, steps)
    images_dev, labels_dev = jnp.asarray(images), jnp.asarray(labels.astype(np.int32))

    classifier = metrics.load_classifier()
    ref_x, ref_y = images[-10000:], labels[-10000:]
    ref = metrics.reference_features(classifier, ref_x, ref_y if a.conditional else None)
    key = jax.random.PRNGKey(a.seed)
    start, best, rows, scored = time.time(), math.inf, [], 0.0
    for e in range(1, a.epochs + 1):
        key, k = jax.random.split(key)
        state, logs = epoch(state, k, images_dev, labels_dev)
        row = {"epoch": e, **{m: float(np.mean(v)) for m, v in logs.items()}}
        row["minutes"] = round((time.time() - start) / 60, 3)
        last = a.minutes is not None and row["minutes"] >= a.minutes or e == a.epochs
        if row["minutes"] - scored >= a.eval_minutes or last:
            scored = row["minutes"]
            net = calibrated(g, state[6], state[1])
            x, digits = sample(net, a.eval_samples, seed=e)
            s = metrics.evaluate_images(classifier, x, ref, digits=digits)
            row.update(
                {k: s[k] for k in ("fid", "mean_confidence", "coverage", "precision", "recall")}
            )
            if "agreement" in s:
                row["agreement"] = s["agreement"]
            if s["fid"] < best:
                best = s["fid"]
                checkpoints.atomic_save(net, out / "generator_ema_best.h5")
                files.write_text(out / "best.json", json.dumps(row, indent=2))
        rows.append(row)
        print(json.dumps(row), flush=True)
        table = io.StringIO()
        w = csv.DictWriter(table, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
        files.write_text(out / "history.csv", table.getvalue())
        if last:
            break
    checkpoints.atomic_save(calibrated(g, state[6], state[1]), out / "generator_ema_last.h5")
    print(f"done: {len(rows)} epochs in {rows[-1]['minutes']} min, best FID {best:.3f}")


if __name__ == "__main__":
    errors.run_cli(main)
