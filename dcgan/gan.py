"""`DCGAN(keras.Model)`: the recipe of one training step, written once in `keras.ops`; the
backend's adapter (`step_tf.py`, `step_jax.py`, picked once by `adapter`) takes and applies its
gradients. Nets come from models.py, random draws from noise.py."""

import keras
from keras import ops

from dcgan import noise
from dcgan.ema import EMA
from dcgan.models import build_adversarial, is_conditional, latent_dim, net_inputs, num_classes
from dcgan.noise import Stream

# What a step logs: history.csv's columns and losses.png's lines, a number in each row.
METRICS = ("d_loss", "g_loss", "d_acc", "d_real", "d_fake")


def adapter():
    """The backend's half of the step: the module that takes and applies the gradients. Each
    imports its own library, which the other backend need not have."""
    if keras.backend.backend() == "jax":
        from dcgan import step_jax as step
    else:
        from dcgan import step_tf as step
    return step


# --- The recipe: what every backend computes, in keras.ops --------------------------------------


def global_mean(per_example, replicas=1):
    """Sum over this replica's examples / the global count: the mean over all replicas once
    their sums are added (`replicas` is 1 where one program sees the global batch, as on JAX)."""
    count = ops.cast(ops.shape(per_example)[0] * replicas, per_example.dtype)
    return ops.sum(per_example) / count


def d_batch(images, classes, fake, fake_classes, real_targets, fake_targets):
    """D's batch: the real images then G's, each with the class it claims to be (None when
    unconditional), the (soft) targets, and the hard 1/0 labels D's accuracy is read against."""
    n, m = ops.shape(images)[0], ops.shape(fake)[0]
    x = ops.concatenate([images, ops.cast(fake, images.dtype)], axis=0)
    if classes is not None:
        classes = ops.concatenate([classes, fake_classes], axis=0)
    y = ops.concatenate([real_targets, fake_targets], axis=0)
    return net_inputs(x, classes), y, ops.concatenate([ops.ones((n, 1)), ops.zeros((m, 1))], axis=0)


def step_values(d_loss, g_loss, p, hard, n):
    """What a step logs: both losses, D's accuracy against the hard labels, and D's mean output
    on the `n` real images (first in its batch) and on G's."""
    return {
        "d_loss": d_loss,
        "g_loss": g_loss,
        "d_acc": ops.mean(ops.cast(ops.equal(ops.cast(p > 0.5, "float32"), hard), "float32")),
        "d_real": ops.mean(p[:n]),
        "d_fake": ops.mean(p[n:]),
    }


class DCGAN(keras.Model):
    """Holds G, D and the stacked G -> D model; `fit` trains them in turn, one step each.

    Per step: D sees half a batch of real images and half a batch of G's images with soft
    targets; then G gets a full batch of noise through G -> D with "real" targets, and only G's
    weights move. Losses are summed per example and divided by the global batch once, so k replicas
    compute what one device would.

    Conditional (both nets take a class as a second input): the data yields (images, classes),
    G's classes are drawn uniformly, and D judges each image with the class it claims to be.
    """

    def __init__(
        self,
        generator,
        discriminator,
        noise_kind="truncated",
        target_kind="soft",
        seed=0,
        ema_decay=None,
        ema_warmup=10.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial = build_adversarial(generator, discriminator)
        self.conditional = is_conditional(generator)
        self.latent_dim = latent_dim(generator)
        self.classes = num_classes(generator)
        self.noise_kind, self.target_kind, self.seed = noise_kind, target_kind, int(seed)
        self.ema = EMA(generator, ema_decay, seed, noise_kind, ema_warmup) if ema_decay else None
        # An attribute, so that Keras tracks its weights with the GAN's (JAX's fit carries them).
        self.ema_generator = None if self.ema is None else self.ema.generator
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        # The nets arrive built; without this, fit would try to build by calling the GAN on images.
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.bce = keras.losses.BinaryCrossentropy(reduction=None)
        adapter().attach(self)

    def objective(self, y, p, replicas=1):
        """(the loss to differentiate, the per-example BCE) of predictions `p` for targets `y`
        (the adapters' one loss: `global_mean` of the per-example BCE)."""
        per_example = self.bce(y, p)
        return global_mean(per_example, replicas), per_example

    step_values = staticmethod(step_values)  # for the adapters, which import no gan.py

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, z, training=False):
        return self.generator(z, training=training)

    # Random draws. Overridable: tests feed the same noise to one and two devices, and to both
    # backends.
    def draws(self, images, step=None):
        """(G's inputs for D's fake half, G's inputs for its own update, key) for this step, where
        key(stream) is the stateless seed of a `noise.Stream`, unique to (seed, step, replica).
        `step` (G's updates so far) is given by the JAX step, which holds it in its state; under
        TensorFlow it is G's optimizer's `iterations`, and the replica is tf.distribute's."""
        if step is None:
            import tensorflow as tf

            ctx = tf.distribute.get_replica_context()
            replica = ctx.replica_id_in_sync_group if ctx else 0
            step = self.g_optimizer.iterations

            def key(stream):
                return noise.make_seed(self.seed, step, replica, int(stream))
        else:  # one program over the global batch: one replica

            def key(stream):
                return noise.jax_key(self.seed, step, 0, int(stream))

        n = ops.shape(images)[0]

        def g_inputs(count, latent_stream, class_stream):
            z = noise.latent((count, self.latent_dim), key(latent_stream), self.noise_kind)
            if not self.conditional:
                return z
            return net_inputs(z, noise.class_ids(count, key(class_stream), self.classes))

        return (
            g_inputs(n, Stream.FAKE_LATENTS, Stream.FAKE_DIGITS),
            g_inputs(2 * n, Stream.G_LATENTS, Stream.G_DIGITS),
            key,
        )

    def targets(self, n, real, key, stream):
        """n targets for real or fake images, drawn from `stream`'s key. Overridable with
        `draws`: a test gives both backends the same targets."""
        return noise.targets(n, real, key(stream), self.target_kind)

    def discriminator_batch(self, images, classes, fake, fake_inputs, key):
        """`d_batch` for real `images` (and their `classes`, None if unconditional) and G's
        `fake` drawn from `fake_inputs`, with this step's targets."""
        return d_batch(
            images,
            classes,
            fake,
            fake_inputs[1] if classes is not None else None,
            self.targets(ops.shape(images)[0], True, key, Stream.REAL_TARGETS),
            self.targets(ops.shape(fake)[0], False, key, Stream.FAKE_TARGETS),
        )

    def calibrated_ema(self):
        """The EMA generator, ready to draw with (see `EMA.calibrated`)."""
        return self.ema.calibrated(self.g_optimizer.iterations)

    def unpack(self, data):
        """(images, classes) of a batch; classes is None for an unconditional GAN.
        Keras's unpacking: a tf.data batch, or a generator's (images,) or (images, classes)."""
        images, classes, _ = keras.utils.unpack_x_y_sample_weight(data)
        return images, ops.cast(classes, "int32") if self.conditional else None

    def generator_targets(self, g_inputs, key):
        """The "real" targets G is trained towards, one per input it is given."""
        n = ops.shape(keras.tree.flatten(g_inputs)[0])[0]
        return self.targets(n, True, key, Stream.G_TARGETS)

    def train_step(self, *args):
        # Keras's JAX trainer passes the state as well as the batch, and wants it back.
        return adapter().train_step(self, *args)
