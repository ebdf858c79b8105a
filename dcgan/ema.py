"""The EMA generator: an exponential moving average of G's trainable weights, updated after each
of G's steps, saved as generator_ema.h5 and scored beside G. Its decay schedule and update are
the recipe (in `keras.ops`, for both backends); its BatchNormalization statistics are
re-estimated before it draws, since statistics of averaged weights are not the average of the
statistics (we measured FID 155 vs 9 that way)."""

import keras
from keras import ops
import numpy as np

from dcgan import noise
from dcgan.models import is_conditional, latent_dim, net_inputs, num_classes

FILE = "generator_ema.h5"


def decay_at(decay, step, warmup=10.0):
    """The EMA's decay after `step` updates of G. Warm-up as in
    tf.train.ExponentialMovingAverage(num_updates), whose `warmup` is 10: early on the average
    would otherwise hold the random initial weights for thousands of steps."""
    t = ops.cast(step, "float32")
    return ops.minimum(decay, (1.0 + t) / (warmup + t))


def updated(decay, average, weight):
    return decay * average + (1.0 - decay) * ops.cast(weight, average.dtype)


class EMA:
    """The averaged copy of `generator`, and the pairs (average, weight) of its trainable
    weights that each update moves."""

    def __init__(self, generator, decay, seed=0, noise_kind="truncated", warmup=10.0):
        self.decay, self.warmup, self.seed, self.noise_kind = decay, warmup, seed, noise_kind
        self.generator = keras.models.clone_model(generator)
        self.generator.set_weights(generator.get_weights())
        self.generator.trainable = False
        self.pairs = [
            (e, w) for e, w in zip(self.generator.weights, generator.weights) if w.trainable
        ]
        self.calibrated_at = None

    def update(self, step):
        """Moves the average towards G's weights, in place (the TensorFlow step; the JAX step
        applies `updated` to the values it carries)."""
        d = decay_at(self.decay, step, self.warmup)
        for e, w in self.pairs:
            e.assign(updated(d, e, w))

    def calibrated(self, step):
        """The EMA generator, its BatchNormalization statistics re-estimated for its own
        weights (at most once per training `step`)."""
        step = int(ops.convert_to_numpy(step))  # also a distributed variable
        if self.calibrated_at != step:
            recalibrate_batchnorm(self.generator, seed=self.seed, noise_kind=self.noise_kind)
            self.calibrated_at = step
        return self.generator


def recalibrate_batchnorm(generator, batches=10, batch_size=256, seed=0, noise_kind="truncated"):
    """Sets a generator's BatchNormalization statistics to the mean of its own batch statistics
    over `batches` noise batches: what averaged (EMA) weights need before inference."""
    norms = [
        layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)
    ]
    momenta, trainable = [layer.momentum for layer in norms], [layer.trainable for layer in norms]
    for layer in norms:  # BatchNormalization updates its statistics only when trainable
        layer.trainable = True
    for i in range(batches):
        for layer in norms:  # moving = i/(i+1) moving + 1/(i+1) batch: an exact running mean
            layer.momentum = i / (i + 1)
        # TensorFlow's draws under every backend: the same statistics for the same weights.
        z = np.asarray(
            noise.latent(
                (batch_size, latent_dim(generator)),
                noise.make_seed(seed, -1, i),
                noise_kind,
            )
        )
        # A conditional G sees every digit equally often, as generation asks for them.
        digits = np.arange(batch_size, dtype="int32") % num_classes(generator)
        generator(net_inputs(z, digits if is_conditional(generator) else None), training=True)
    for layer, m, t in zip(norms, momenta, trainable):
        layer.momentum, layer.trainable = m, t
    return generator
