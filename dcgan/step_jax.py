"""The JAX adapter of `dcgan.gan.DCGAN`: the recipe's train step as one pure function of the
state, jitted by Keras's own JAX `fit`.

Keras's JAX `fit` passes a step (trainable, non-trainable, optimizer, metric) variable values
and takes them back, and it carries only `model.optimizer`'s variables (keras-team/keras#19358).
A GAN has two optimizers, so on JAX `model.optimizer` is an `OptimizerPair` whose variables are
both optimizers' (D's then G's): `fit` then carries, syncs and purges them like any model's,
and everything else about `fit` (callbacks, progress bar, `stop_training`,
`keras.distribution`) stays Keras's.
"""

import jax
import keras
from keras import ops

from dcgan import ema
from dcgan.models import net_inputs


class OptimizerPair:
    """`model.optimizer` for Keras's JAX `fit`: D's and G's optimizers, seen as one. Only what
    `fit` and its callbacks read is here; the step applies each optimizer itself."""

    def __init__(self, gan):
        self.gan, self.d_optimizer, self.g_optimizer = gan, gan.d_optimizer, gan.g_optimizer
        self.optimizers = [self.d_optimizer, self.g_optimizer]  # TensorBoard logs each rate

    @property
    def variables(self):
        return self.d_optimizer.variables + self.g_optimizer.variables

    @property
    def iterations(self):
        return self.g_optimizer.iterations

    @property
    def built(self):
        return self.d_optimizer.built and self.g_optimizer.built

    def build(self, variables=None):
        # Each optimizer keeps slots for its own net's weights only.
        self.d_optimizer.build(self.gan.discriminator.trainable_variables)
        self.g_optimizer.build(self.gan.generator.trainable_variables)


def attach(gan):
    """Makes `gan.fit` train with this adapter (called by `DCGAN.compile` on JAX). The pair is
    built by fit (or by resume's `load_state`), as the optimizers are on TensorFlow."""
    gan.optimizer = OptimizerPair(gan)


def _positions(state_variables, wanted):
    index = {id(v): i for i, v in enumerate(state_variables)}
    return [index[id(v)] for v in wanted]


class Layout:
    """Where each net's variables sit in the state lists `fit` passes."""

    def __init__(self, gan):
        tv, ntv = gan.trainable_variables, gan.non_trainable_variables
        g, d = gan.generator, gan.discriminator
        self.g_tv, self.g_ntv = (
            _positions(tv, g.trainable_variables),
            _positions(ntv, g.non_trainable_variables),
        )
        self.d_tv, self.d_ntv = (
            _positions(tv, d.trainable_variables),
            _positions(ntv, d.non_trainable_variables),
        )
        pairs = gan.ema.pairs if gan.ema is not None else []
        self.ema = _positions(ntv, [e for e, _ in pairs])
        # The EMA's partners: G's trainable weights, in the order of its pairs.
        self.ema_w = _positions(g.trainable_variables, [w for _, w in pairs])
        self.n_d_opt = len(gan.d_optimizer.variables)
        self.step = next(
            i for i, v in enumerate(gan.g_optimizer.variables) if v is gan.g_optimizer.iterations
        )


def _take(values, positions):
    return [values[i] for i in positions]


def _put(values, positions, new):
    for i, v in zip(positions, new):
        values[i] = v


def _scaled(optimizer, values, loss):
    """The loss times a LossScaleOptimizer's current scale (mixed_float16), read from the state."""
    with keras.StatelessScope(state_mapping=list(zip(optimizer.variables, values))):
        return optimizer.scale_loss(loss)


def train_step(gan, state, data):
    """One step of the recipe: D's update, then G's through G -> D (D's weights read, not
    written), then the EMA; every value in and out through `state`."""
    tv, ntv, ov, mv = (list(s) for s in state)
    # Kept on the GAN past Keras's attribute tracking: the layout is plain data.
    at = gan.__dict__.setdefault("jax_layout", Layout(gan))
    g, d = gan.generator, gan.discriminator
    g_tv, g_ntv = _take(tv, at.g_tv), _take(ntv, at.g_ntv)
    d_tv, d_ntv = _take(tv, at.d_tv), _take(ntv, at.d_ntv)
    d_ov, g_ov = ov[: at.n_d_opt], ov[at.n_d_opt :]

    images, classes = gan.unpack(data)
    fake_inputs, g_inputs, key = gan.draws(images, g_ov[at.step])
    n = images.shape[0]

    fake, g_ntv = g.stateless_call(g_tv, g_ntv, fake_inputs, training=True)
    x, y, hard = gan.discriminator_batch(images, classes, fake, fake_inputs, key)

    def d_loss(d_tv):
        p, new_ntv = d.stateless_call(d_tv, d_ntv, x, training=True)
        loss, per_example = gan.objective(y, p)
        return _scaled(gan.d_optimizer, d_ov, loss), (per_example, p, new_ntv)

    (_, (per_d, p, d_ntv)), grads = jax.value_and_grad(d_loss, has_aux=True)(d_tv)
    d_tv, d_ov = gan.d_optimizer.stateless_apply(d_ov, grads, d_tv)

    y_g = gan.generator_targets(g_inputs, key)

    def g_loss(g_tv):
        images, new_g_ntv = g.stateless_call(g_tv, g_ntv, g_inputs, training=True)
        classes = g_inputs[1] if gan.conditional else None
        q, new_d_ntv = d.stateless_call(d_tv, d_ntv, net_inputs(images, classes), training=True)
        loss, per_example = gan.objective(y_g, q)
        return _scaled(gan.g_optimizer, g_ov, loss), (
            per_example,
            new_g_ntv,
            new_d_ntv,
        )

    (_, (per_g, g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss, has_aux=True)(g_tv)
    g_tv, g_ov = gan.g_optimizer.stateless_apply(g_ov, grads, g_tv)

    _put(tv, at.g_tv, g_tv), _put(tv, at.d_tv, d_tv)
    _put(ntv, at.g_ntv, g_ntv), _put(ntv, at.d_ntv, d_ntv)
    if at.ema:
        decay = ema.decay_at(gan.ema.decay, g_ov[at.step], gan.ema.warmup)
        pairs = zip(_take(ntv, at.ema), _take(g_tv, at.ema_w))
        _put(ntv, at.ema, [ema.updated(decay, e, w) for e, w in pairs])

    values = gan.step_values(ops.mean(per_d), ops.mean(per_g), p, hard, n)
    logs, new_mv, start = {}, [], 0
    for name, tracker in gan.trackers.items():
        size = len(tracker.variables)
        own = tracker.stateless_update_state(mv[start : start + size], values[name])
        logs[name] = tracker.stateless_result(own)
        new_mv += own
        start += size
    return logs, (tv, ntv, d_ov + g_ov, new_mv)
