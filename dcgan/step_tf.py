"""The TensorFlow adapter of `dcgan.gan.DCGAN`: each net's update under a `GradientTape`, inside
tf.distribute's replica context, so Keras's own TensorFlow `fit` runs the recipe on one device,
several GPUs or several workers. The recipe itself (draws, D's batch, losses, what a step logs)
is `gan.py`'s; the JAX adapter is `step_jax.py`."""

from keras import ops
import tensorflow as tf


def attach(gan):
    """Nothing to attach: TensorFlow's `fit` runs `train_step` on the model's own variables."""


def update(gan, net, optimizer, x, y, weights):
    """One step of `optimizer` on BCE(y, net(x)), applied to `weights` and nothing else.
    Returns (this replica's mean loss, the predictions)."""
    ctx = tf.distribute.get_replica_context()
    with tf.GradientTape() as tape:
        p = net(x, training=True)
        loss, per_example = gan.objective(y, p, ctx.num_replicas_in_sync if ctx else 1)
        scaled = optimizer.scale_loss(loss)
    optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
    return ops.mean(per_example), p


def train_discriminator(gan, images, classes, fake_inputs, key):
    """One D update on real `images` (with their `classes`, None if unconditional) and
    G(fake_inputs). Returns (local loss, predictions, hard targets)."""
    fake = gan.generator(fake_inputs, training=True)
    x, y, hard = gan.discriminator_batch(images, classes, fake, fake_inputs, key)
    d = gan.discriminator
    local, p = update(gan, d, gan.d_optimizer, x, y, d.trainable_weights)
    return local, p, hard


def train_generator(gan, g_inputs, key):
    """One G update through G -> D with "real" targets; D's weights are read, not written."""
    y = gan.generator_targets(g_inputs, key)
    weights = gan.generator.trainable_weights
    local, _ = update(gan, gan.adversarial, gan.g_optimizer, g_inputs, y, weights)
    if gan.ema is not None:
        gan.ema.update(gan.g_optimizer.iterations)
    return local


def train_step(gan, data):
    images, classes = gan.unpack(data)
    fake_inputs, g_inputs, key = gan.draws(images)
    d_loss, p, hard = train_discriminator(gan, images, classes, fake_inputs, key)
    g_loss = train_generator(gan, g_inputs, key)
    values = gan.step_values(d_loss, g_loss, p, hard, ops.shape(images)[0])
    for name, v in values.items():
        gan.trackers[name].update_state(v)
    return {name: t.result() for name, t in gan.trackers.items()}
