"""`DCGAN(keras.Model)`: the train step. Nets come from models.py, random draws from noise.py."""

import keras
import tensorflow as tf

from dcgan import noise
from dcgan.files import NUM_CLASSES
from dcgan.models import build_adversarial, is_conditional, net_inputs
from dcgan.noise import Stream

METRICS = ("d_loss", "g_loss", "d_acc", "d_real", "d_fake")


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
        z = noise.latent(
            (batch_size, generator.inputs[0].shape[-1]), noise.make_seed(seed, -1, i), noise_kind
        )
        # A conditional G sees every digit equally often, as generation asks for them.
        generator(
            net_inputs(
                z, tf.range(batch_size) % NUM_CLASSES if is_conditional(generator) else None
            ),
            training=True,
        )
    for layer, m, t in zip(norms, momenta, trainable):
        layer.momentum, layer.trainable = m, t
    return generator


class DCGAN(keras.Model):
    """Holds G, D and the stacked G -> D model; `fit` trains them in turn, one step each.

    Per step: D sees half a batch of real digits and half a batch of G's digits with soft
    targets; then G gets a full batch of noise through G -> D with "real" targets, and only G's
    weights move. Losses are summed per example and divided by the global batch once, so k replicas
    compute what one device would.

    Conditional (both nets take a digit as a second input): the data yields (images, digits),
    G's digits are drawn uniformly, and D judges each image with the digit it claims to be.
    """

    def __init__(
        self,
        generator,
        discriminator,
        noise_kind="truncated",
        target_kind="soft",
        seed=0,
        ema_decay=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial = build_adversarial(generator, discriminator)
        self.conditional = is_conditional(generator)
        self.latent_dim = generator.inputs[0].shape[-1]
        self.noise_kind, self.target_kind, self.seed = noise_kind, target_kind, int(seed)
        self.ema_decay = ema_decay
        self.ema_generator = None
        if ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
            # Only trainable weights are averaged: BatchNormalization statistics of averaged
            # weights are not the average of the statistics (we measured FID 155 vs 9 that way),
            # so `calibrated_ema` re-estimates them before the EMA generator is used.
            self._ema_pairs = [
                (e, w) for e, w in zip(self.ema_generator.weights, generator.weights) if w.trainable
            ]
            self._ema_calibrated_at = None
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        # The nets arrive built; without this, fit would try to build by calling the GAN on images.
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.bce = keras.losses.BinaryCrossentropy(reduction=None)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, z, training=False):
        return self.generator(z, training=training)

    # Random draws. Overridable: tests feed the same noise to one and two devices.
    def draws(self, images):
        """(G's inputs for D's fake half, G's inputs for its own update, key) for this step, where
        key(stream) is the stateless seed of a `noise.Stream`, unique to (seed, step, replica)."""
        ctx = tf.distribute.get_replica_context()
        replica = ctx.replica_id_in_sync_group if ctx else 0
        step = self.g_optimizer.iterations
        n = tf.shape(images)[0]

        def key(stream):
            return noise.make_seed(self.seed, step, replica, int(stream))

        def g_inputs(count, latents, digits):
            z = noise.latent((count, self.latent_dim), key(latents), self.noise_kind)
            return net_inputs(z, noise.digits(count, key(digits)) if self.conditional else None)

        return (
            g_inputs(n, Stream.FAKE_LATENTS, Stream.FAKE_DIGITS),
            g_inputs(2 * n, Stream.G_LATENTS, Stream.G_DIGITS),
            key,
        )

    def _global(self, per_example):
        """Sum over this replica's examples / global count: the distributed mean."""
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx else 1
        count = tf.cast(tf.shape(per_example)[0] * replicas, per_example.dtype)
        return tf.reduce_sum(per_example) / count, tf.reduce_mean(per_example)

    def _update(self, net, optimizer, x, y, weights):
        """One step of `optimizer` on BCE(y, net(x)), applied to `weights` and nothing else."""
        with tf.GradientTape() as tape:
            p = net(x, training=True)
            loss, local = self._global(self.bce(y, p))
            scaled = optimizer.scale_loss(loss)
        optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        return local, p

    def train_discriminator(self, images, digits, fake_inputs, key):
        """One D update on real `images` (with their `digits`, None if unconditional) and
        G(fake_inputs). Returns (local loss, predictions, hard targets)."""
        fake = self.generator(fake_inputs, training=True)
        n, m = tf.shape(images)[0], tf.shape(fake)[0]
        x = tf.concat([images, tf.cast(fake, images.dtype)], axis=0)
        if digits is not None:  # each image with the digit it claims to be
            digits = tf.concat([digits, fake_inputs[1]], axis=0)
        y = tf.concat(
            [
                noise.targets(n, True, key(Stream.REAL_TARGETS), self.target_kind),
                noise.targets(m, False, key(Stream.FAKE_TARGETS), self.target_kind),
            ],
            axis=0,
        )
        local, p = self._update(
            self.discriminator,
            self.d_optimizer,
            net_inputs(x, digits),
            y,
            self.discriminator.trainable_weights,
        )
        return local, p, tf.concat([tf.ones((n, 1)), tf.zeros((m, 1))], axis=0)

    def train_generator(self, g_inputs, key):
        """One G update through G -> D with "real" targets; D's weights are read, not written."""
        n = tf.shape(tf.nest.flatten(g_inputs)[0])[0]
        y = noise.targets(n, True, key(Stream.G_TARGETS), self.target_kind)
        local, _ = self._update(
            self.adversarial, self.g_optimizer, g_inputs, y, self.generator.trainable_weights
        )
        if self.ema_generator is not None:
            # Warm-up as in tf.train.ExponentialMovingAverage(num_updates): early on the average
            # would otherwise hold the random initial weights for thousands of steps.
            t = tf.cast(self.g_optimizer.iterations, tf.float32)
            d = tf.minimum(self.ema_decay, (1.0 + t) / (10.0 + t))
            for e, w in self._ema_pairs:
                e.assign(d * e + (1.0 - d) * tf.cast(w, e.dtype))
        return local

    def calibrated_ema(self):
        """The EMA generator, its BatchNormalization statistics re-estimated for its own
        weights (at most once per training step)."""
        step = int(keras.ops.convert_to_numpy(self.g_optimizer.iterations))  # also distributed
        if self._ema_calibrated_at != step:
            recalibrate_batchnorm(self.ema_generator, seed=self.seed, noise_kind=self.noise_kind)
            self._ema_calibrated_at = step
        return self.ema_generator

    def train_step(self, data):
        # Batches are images, or (images, digits) for a conditional GAN.
        images, digits = (data[0], tf.cast(data[1], tf.int32)) if self.conditional else (data, None)
        fake_inputs, g_inputs, key = self.draws(images)
        d_loss, p, hard = self.train_discriminator(images, digits, fake_inputs, key)
        g_loss = self.train_generator(g_inputs, key)
        n = tf.shape(images)[0]
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc": tf.reduce_mean(
                tf.cast(tf.equal(tf.cast(p > 0.5, tf.float32), hard), tf.float32)
            ),
            "d_real": tf.reduce_mean(p[:n]),
            "d_fake": tf.reduce_mean(p[n:]),
        }
        for name, v in values.items():
            self.trackers[name].update_state(v)
        return {name: t.result() for name, t in self.trackers.items()}
