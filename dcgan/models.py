"""The nets: every saved file holds built-in layers only, so `keras.models.load_model` needs
no project code.

Layer for layer the reference DCGAN, as Sequential models; the conditional pair wraps the same
layers in two-input functional models: every net takes `net_inputs(x, classes)`, which is `x`
alone or `[x, classes]`. Output activations are their own
float32 layers so mixed precision never hands bf16 images or probabilities to the caller.

Every builder takes `image_shape` (side, side, channels), side 28, 32 or 64 and 1 or 3 channels;
(28, 28, 1), the default, is the reference's nets exactly. Larger images grow the nets by the
DCGAN paper's rule, one more stride-2 block per doubling with the same kernel (3, "same"
padding) and widths that double as the image halves (`generator_plan`, `discriminator_plan`):

    G: Dense -> base x base x 2*w0, then stride-2 Conv2DTranspose blocks of w0, ..., 128, 64
       (each doubles the side, from a base of at most 8), the stride-1 32-filter block and a
       stride-1 tanh output of `channels` filters.
       28: base 7, Dense 256, blocks 128, 64 (the reference); 32: base 8, the same blocks;
       64: base 8, Dense 512, blocks 256, 128, 64.
    D: stride-2 Conv2D blocks of 64, 128, 256, ... until the side is 4, then one stride-1 block
       of twice the last width, then Dense(1) and sigmoid.
       28 and 32: 64, 128, 256 then 512 (the reference: 28 -> 14 -> 7 -> 4);
       64: 64, 128, 256, 512 then 1024.

`fast=True` builds the training twins of the same nets: TensorFlow's fused batch norm, no bias
before a batch norm (the batch mean cancels it), a cheaper dropout mask. Same function, same
weights less those biases; `export` turns one back into the built-in-layer net, and every save
goes through it.

TensorFlow is imported by the twins alone: the built-in nets build under any Keras backend
(`KERAS_BACKEND=jax python -m dcgan.train` trains them on JAX).
"""

import math

import keras
from keras import layers
import numpy as np

from dcgan.files import NUM_CLASSES
from dcgan.settings import CHANNELS, IMAGE_SIZES

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
EMBED_DIM = 50
# The DCGAN rule's constants: the last stride-2 block of G has this many filters (and the first
# of D), and D halves the side down to this.
FIRST_WIDTH = 64
LAST_SIDE = 4


def check_image_shape(image_shape):
    """`image_shape` as a tuple (side, side, channels), or ValueError saying which it may be."""
    shape = tuple(image_shape)
    if (
        len(shape) != 3
        or shape[0] != shape[1]
        or shape[0] not in IMAGE_SIZES
        or shape[2] not in CHANNELS
    ):
        sizes = ", ".join(map(str, IMAGE_SIZES))
        raise ValueError(
            f"image shape {shape} is not one the nets take: square images of side {sizes} "
            f"with {' or '.join(map(str, CHANNELS))} channels (--image-size, --channels)"
        )
    return shape


def generator_plan(image_shape=IMAGE_SHAPE):
    """(base side, Dense width, stride-2 block widths) of G for `image_shape`: the side is
    halved until it is at most 8 (the base), one stride-2 block per halving, whose widths
    double back from 64, and the Dense is twice the first block's width."""
    side = check_image_shape(image_shape)[0]
    base, blocks = side, 0
    while base > 8:
        base, blocks = base // 2, blocks + 1
    widths = [FIRST_WIDTH * 2**i for i in reversed(range(blocks))]
    return base, 2 * widths[0], widths


def discriminator_plan(image_shape=IMAGE_SHAPE):
    """[(filters, strides)] of D's conv blocks for `image_shape`: stride 2 from 64 filters,
    doubling, until the side ("same" padding rounds up) is LAST_SIDE, then one stride-1 block
    of twice the last width."""
    side, blocks = check_image_shape(image_shape)[0], []
    while side > LAST_SIDE:
        blocks.append((FIRST_WIDTH * 2 ** len(blocks), 2))
        side = -(-side // 2)
    return [*blocks, (2 * blocks[-1][0], 1)]


def net_inputs(x, classes=None):
    """What a net takes: `x` (latents or images) alone, or `[x, classes]` for a conditional net."""
    return x if classes is None else [x, classes]


def is_conditional(model):
    """True for a net that takes [x, classes]: a conditional generator or discriminator (a Keras
    model or anything else with Keras's `input_shape`, such as a loaded SavedModel)."""
    shape = model.input_shape
    return isinstance(shape, list) and len(shape) == 2


def num_classes(model):
    """The classes a conditional net takes, the rows of its label embedding: the ten digits, or
    a folder's class subfolders (NUM_CLASSES for a net whose layers cannot be read)."""
    for layer in getattr(model, "layers", ()):
        if isinstance(layer, layers.Embedding):
            return layer.input_dim
    return NUM_CLASSES


def latent_dim(generator):
    """The size of a generator's latent vector (of its first input, for a conditional one)."""
    shape = generator.input_shape
    return (shape[0] if is_conditional(generator) else shape)[-1]


def _inputs(first, name):
    """The Input layers of a net: `first` alone, or with the digit for a conditional net."""
    return [keras.Input(first, name=name), keras.Input((), dtype="int32", name="digit")]


class FusedBatchNormalization(layers.BatchNormalization):
    """BatchNormalization whose training step is TensorFlow's fused kernel: one op for the
    moments and the normalisation, and one gradient op, where Keras 3 runs a chain of unfused
    ones (upcast to float32 under mixed precision). Inference, synchronized statistics and
    everything else are the built-in layer's; the four weights are the same, so `export`
    copies them into a plain BatchNormalization. Moving averages follow Keras's rule exactly
    (biased batch variance), so the exported layer is the one Keras would have trained.
    `fused = False` (set when XLA compiles the step, which fuses the built-in ops better than it
    runs this kernel: 0.4x measured) leaves it the built-in layer."""

    fused = True

    def call(self, inputs, training=None, mask=None):
        import tensorflow as tf

        last = self.axis in (-1, len(inputs.shape) - 1)  # the fused op normalises channels last
        if not (training and self.trainable and self.fused) or self.synchronized or not last:
            return super().call(inputs, training=training, mask=mask)
        shape, channels = tf.shape(inputs), inputs.shape[-1]
        x = inputs if len(inputs.shape) == 4 else tf.reshape(inputs, [-1, 1, 1, channels])
        # exponential_avg_factor=1: the op returns this batch's mean and (n-1)-corrected
        # variance, and the moving averages are updated here with Keras's momentum and n.
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x,
            self.gamma,
            self.beta,
            mean=self.moving_mean,
            variance=self.moving_variance,
            epsilon=self.epsilon,
            is_training=True,
            exponential_avg_factor=1.0,
        )
        n = tf.cast(tf.size(x) // channels, "float32")
        m = self.momentum
        self.moving_mean.assign(m * self.moving_mean + (1 - m) * mean)
        self.moving_variance.assign(m * self.moving_variance + (1 - m) * variance * (n - 1) / n)
        return tf.reshape(y, shape) if len(inputs.shape) != 4 else y


class FastDropout(layers.Dropout):
    """Dropout whose mask comes from 16 random bits an element, two elements per 32-bit draw,
    where the built-in layer draws a float32 uniform for each (the draws were most of its
    cost). The rate is kept to 1/65,536 and outputs are scaled by the exact keep fraction, so
    the expected activation is the built-in layer's. Inference is the identity, as Keras's."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0 or self.noise_shape is not None:
            return super().call(inputs, training=training)
        import tensorflow as tf

        n = tf.size(inputs)
        bits = tf.random.stateless_uniform(
            [(n + 1) // 2],
            seed=_seed(self.seed_generator),
            minval=None,
            maxval=None,
            dtype=tf.uint32,
        )
        halves = tf.bitcast(bits, tf.uint16)  # (n/2, 2): both 16-bit halves of each draw
        drop = round(self.rate * 65536)
        keep = tf.reshape(tf.reshape(halves, [-1])[:n], tf.shape(inputs)) >= drop
        scale = tf.cast(65536 / (65536 - drop), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros((), inputs.dtype))


def _seed(seed_generator):
    """The (2,) int32 seed TensorFlow's stateless ops take, drawn from a Keras SeedGenerator as
    Keras's own dropout draws it (so its state, saved for resume, gives the same masks)."""
    import tensorflow as tf

    return tf.cast(tf.math.floormod(seed_generator.next(), tf.int32.max - 1), "int32")


TRAINING_TWINS = {FusedBatchNormalization: layers.BatchNormalization, FastDropout: layers.Dropout}


def export(net):
    """The built-in-layer float32 model a training net stands for: `net` itself when it has no
    training-only layers and computes in float32, else a copy with each fused batch norm and
    cheap dropout as the built-in layer, each bias-free layer given a zero bias, every layer in
    float32, and the weights copied (a batch norm after it absorbs what the bias would have been
    in its moving mean). Mixed precision is how a run trains, not how its nets are used: a
    mixed_bfloat16 generator runs ~10x slower in plain Keras on a CPU without bf16 math, and the
    variables are float32 either way."""

    def twin(layer):
        cls = TRAINING_TWINS.get(type(layer))
        config = layer.get_config()
        if cls is None and not isinstance(layer, keras.Model) and "use_bias" in config:
            cls, config = type(layer), {**config, "use_bias": True}
        if not isinstance(layer, (keras.Model, keras.layers.InputLayer)):
            config["dtype"] = "float32"
        return (cls or type(layer)).from_config(config)

    if not _has_twins(net) and all(_is_float32(layer) for layer in _leaves(net)):
        return net
    plain = keras.models.clone_model(net, clone_function=twin)
    for fast, built in zip(_leaves(net), _leaves(plain)):
        weights = fast.get_weights()
        if len(built.weights) == len(weights) + 1:  # the bias it trained without
            weights.append(np.zeros(built.weights[-1].shape, built.weights[-1].dtype))
        built.set_weights(weights)
    return plain


def _leaves(net):
    for layer in net.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def _is_float32(layer):
    return layer.dtype_policy.name == "float32"


def _has_twins(net):
    return any(
        type(layer) in TRAINING_TWINS or getattr(layer, "use_bias", True) is False
        for layer in _leaves(net)
    )


def build_generator(
    latent_dim=LATENT_DIM, synchronized_bn=False, fast=False, image_shape=IMAGE_SHAPE
):
    """z (n, latent_dim) -> images (n, *image_shape) in [-1, 1] (`generator_plan`).

    `synchronized_bn` averages batch statistics over replicas, so training on k devices is the
    same computation as on one device with the global batch. `fast`: the training twin (see
    the module's docstring).
    """

    def bn():
        norm = FusedBatchNormalization if fast else layers.BatchNormalization
        return norm(momentum=0.9, synchronized=synchronized_bn)

    base, width, blocks = generator_plan(image_shape)
    stack = [
        keras.Input((latent_dim,)),
        layers.Dense(base * base * width, use_bias=not fast),
        bn(),
        layers.ReLU(),
        layers.Reshape((base, base, width)),
    ]
    for filters, strides in [*((w, 2) for w in blocks), (32, 1)]:
        stack += [
            layers.Conv2DTranspose(filters, 3, strides=strides, padding="same", use_bias=not fast),
            bn(),
            layers.ReLU(),
        ]
    stack += [
        layers.Conv2DTranspose(image_shape[-1], 3, padding="same"),
        layers.Activation("tanh", dtype="float32"),
    ]
    return keras.Sequential(stack, name="generator")


def build_discriminator(dropout=0.4, fast=False, image_shape=IMAGE_SHAPE):
    """images (n, *image_shape) -> probability of being real (n, 1) (`discriminator_plan`).
    `fast`: the training twin."""
    stack = [keras.Input(check_image_shape(image_shape))]
    # Dropout is pinned to float32: under mixed_bfloat16 a bf16 Dropout draws its uniforms in
    # bf16 (multiples of 1/128), so rate 0.4 drops 52/128 = 40.6% and rescales by bf16(1/0.6) =
    # 1.664, not 1.667 (outputs 1.2% low on average); float32 draws are also ~1.5x cheaper.
    # A no-op under float32.
    for filters, strides in discriminator_plan(image_shape):
        stack += [
            layers.Conv2D(filters, 3, strides=strides, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            (FastDropout if fast else layers.Dropout)(dropout, dtype="float32"),
        ]
    stack += [layers.Flatten(), layers.Dense(1), layers.Activation("sigmoid", dtype="float32")]
    return keras.Sequential(stack, name="discriminator")


def build_conditional_generator(
    latent_dim=LATENT_DIM,
    synchronized_bn=False,
    classes=NUM_CLASSES,
    fast=False,
    image_shape=IMAGE_SHAPE,
):
    """[z (n, latent_dim), digit (n,) int] -> images (n, *image_shape) in [-1, 1].

    The reference G with the digit's learned embedding (50 numbers) appended to the noise, so
    the label reaches every layer from the first Dense on. Functional rather than Sequential
    (two inputs), still built-in layers only.
    """
    z, digit = _inputs((latent_dim,), "z")
    e = layers.Embedding(classes, EMBED_DIM, name="digit_embedding")(digit)
    x = layers.Concatenate()([z, e])
    body = build_generator(latent_dim + EMBED_DIM, synchronized_bn, fast, image_shape)
    for layer in body.layers:
        x = layer(x)
    return keras.Model([z, digit], x, name="conditional_generator")


def build_conditional_discriminator(
    dropout=0.4, classes=NUM_CLASSES, fast=False, image_shape=IMAGE_SHAPE
):
    """[images (n, *image_shape), digit (n,) int] -> probability that the image is a real
    `digit`.

    A projection discriminator (Miyato & Koyama 2018): the reference D's features h, and
    logit = w.h + b + embed(digit).h. The label term is a dot product with the last features,
    so D can tell a good 3 from a good 8 from its first steps; a label fed in as an extra
    input channel was ignored for hundreds of steps (agreement at chance, measured).
    """
    image, digit = _inputs(check_image_shape(image_shape), "image")
    body = build_discriminator(dropout, fast, image_shape).layers
    h = image
    for layer in body[:-2]:  # up to Flatten: the features
        h = layer(h)
    e = layers.Embedding(classes, h.shape[-1], name="digit_projection")(digit)
    logit = layers.Add()([body[-2](h), layers.Dot(axes=1)([h, e])])
    return keras.Model([image, digit], body[-1](logit), name="conditional_discriminator")


def build_mlp_generator(latent_dim=LATENT_DIM, hidden=128, image_shape=IMAGE_SHAPE):
    """The vanilla GAN's G (100 -> 128 -> 784, or the pixels of `image_shape`). Ends in tanh,
    not sigmoid, because this project keeps every dataset in [-1, 1]."""
    image_shape = check_image_shape(image_shape)
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(math.prod(image_shape)),
            layers.Activation("tanh", dtype="float32"),
            layers.Reshape(image_shape),
        ],
        name="generator",
    )


def build_mlp_discriminator(hidden=128, image_shape=IMAGE_SHAPE):
    """The vanilla GAN's D (784, or the pixels of `image_shape`, -> 128 -> 1)."""
    return keras.Sequential(
        [
            keras.Input(check_image_shape(image_shape)),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(1),
            layers.Activation("sigmoid", dtype="float32"),
        ],
        name="discriminator",
    )


def build_pair(
    arch="dcgan",
    latent_dim=LATENT_DIM,
    synchronized_bn=False,
    conditional=False,
    fast=False,
    classes=NUM_CLASSES,
    image_shape=IMAGE_SHAPE,
):
    """(generator, discriminator) of images `image_shape`; `fast` builds the DCGAN's training
    twins; a conditional pair takes `classes` classes."""
    shape = dict(image_shape=image_shape)
    if conditional:
        if arch != "dcgan":
            raise ValueError(f"a conditional GAN needs --arch dcgan, not {arch!r}")
        return (
            build_conditional_generator(latent_dim, synchronized_bn, classes, fast, **shape),
            build_conditional_discriminator(classes=classes, fast=fast, **shape),
        )
    if arch == "dcgan":
        return (
            build_generator(latent_dim, synchronized_bn, fast, **shape),
            build_discriminator(fast=fast, **shape),
        )
    if arch == "mlp":
        return build_mlp_generator(latent_dim, **shape), build_mlp_discriminator(**shape)
    raise ValueError(f"unknown arch {arch!r}; choose dcgan or mlp")


def build_adversarial(generator, discriminator):
    """generator -> discriminator, for the generator's update.

    D is not frozen with `trainable = False`: under Keras 3 that flag would also stop D's own
    update (the trap in the reference). The train step freezes it by applying the adversarial
    gradients to G's weights only.
    """
    if not is_conditional(generator):
        return keras.Sequential([generator, discriminator], name="adversarial")
    z, digit = _inputs((latent_dim(generator),), "z")
    return keras.Model(
        [z, digit], discriminator([generator([z, digit]), digit]), name="adversarial"
    )
