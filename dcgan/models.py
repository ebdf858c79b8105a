"""The nets: built-in layers only, so `keras.models.load_model` needs no project code.

Layer for layer the reference DCGAN, as Sequential models; the conditional pair wraps the same
layers in two-input functional models: every net takes `net_inputs(x, digits)`, which is `x`
alone or `[x, digits]`. Output activations are their own
float32 layers so mixed precision never hands bf16 images or probabilities to the caller.
"""

import keras
from keras import layers

from dcgan.files import NUM_CLASSES

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
EMBED_DIM = 50


def net_inputs(x, digits=None):
    """What a net takes: `x` (latents or images) alone, or `[x, digits]` for a conditional net."""
    return x if digits is None else [x, digits]


def is_conditional(model):
    """True for a net that takes [x, digits]: a conditional generator or discriminator (a Keras
    model or anything else with Keras's `input_shape`, such as a loaded SavedModel)."""
    shape = model.input_shape
    return isinstance(shape, list) and len(shape) == 2


def _inputs(first, name):
    """The Input layers of a net: `first` alone, or with the digit for a conditional net."""
    return [keras.Input(first, name=name), keras.Input((), dtype="int32", name="digit")]


def build_generator(latent_dim=LATENT_DIM, synchronized_bn=False):
    """z (n, latent_dim) -> images (n, 28, 28, 1) in [-1, 1].

    `synchronized_bn` averages batch statistics over replicas, so training on k devices is the
    same computation as on one device with the global batch.
    """

    def bn():
        return layers.BatchNormalization(momentum=0.9, synchronized=synchronized_bn)

    stack = [
        keras.Input((latent_dim,)),
        layers.Dense(7 * 7 * 256),
        bn(),
        layers.ReLU(),
        layers.Reshape((7, 7, 256)),
    ]
    for filters, strides in ((128, 2), (64, 2), (32, 1)):
        stack += [
            layers.Conv2DTranspose(filters, 3, strides=strides, padding="same"),
            bn(),
            layers.ReLU(),
        ]
    stack += [
        layers.Conv2DTranspose(1, 3, padding="same"),
        layers.Activation("tanh", dtype="float32"),
    ]
    return keras.Sequential(stack, name="generator")


def build_discriminator(dropout=0.4):
    """images (n, 28, 28, 1) -> probability of being real (n, 1)."""
    stack = [keras.Input(IMAGE_SHAPE)]
    # Dropout is pinned to float32: under mixed_bfloat16 a bf16 Dropout draws its uniforms in
    # bf16 (multiples of 1/128), so rate 0.4 drops 52/128 = 40.6% and rescales by bf16(1/0.6) =
    # 1.664, not 1.667 (outputs 1.2% low on average); float32 draws are also ~1.5x cheaper.
    # A no-op under float32.
    for filters, strides in ((64, 2), (128, 2), (256, 2), (512, 1)):
        stack += [
            layers.Conv2D(filters, 3, strides=strides, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Dropout(dropout, dtype="float32"),
        ]
    stack += [layers.Flatten(), layers.Dense(1), layers.Activation("sigmoid", dtype="float32")]
    return keras.Sequential(stack, name="discriminator")


def build_conditional_generator(latent_dim=LATENT_DIM, synchronized_bn=False, classes=NUM_CLASSES):
    """[z (n, latent_dim), digit (n,) int] -> images (n, 28, 28, 1) in [-1, 1].

    The reference G with the digit's learned embedding (50 numbers) appended to the noise, so
    the label reaches every layer from the first Dense on. Functional rather than Sequential
    (two inputs), still built-in layers only.
    """
    z, digit = _inputs((latent_dim,), "z")
    e = layers.Embedding(classes, EMBED_DIM, name="digit_embedding")(digit)
    x = layers.Concatenate()([z, e])
    for layer in build_generator(latent_dim + EMBED_DIM, synchronized_bn).layers:
        x = layer(x)
    return keras.Model([z, digit], x, name="conditional_generator")


def build_conditional_discriminator(dropout=0.4, classes=NUM_CLASSES):
    """[images (n, 28, 28, 1), digit (n,) int] -> probability that the image is a real `digit`.

    A projection discriminator (Miyato & Koyama 2018): the reference D's features h, and
    logit = w.h + b + embed(digit).h. The label term is a dot product with the last features,
    so D can tell a good 3 from a good 8 from its first steps; a label fed in as an extra
    input channel was ignored for hundreds of steps (agreement at chance, measured).
    """
    image, digit = _inputs(IMAGE_SHAPE, "image")
    body = build_discriminator(dropout).layers
    h = image
    for layer in body[:-2]:  # up to Flatten: the features
        h = layer(h)
    e = layers.Embedding(classes, h.shape[-1], name="digit_projection")(digit)
    logit = layers.Add()([body[-2](h), layers.Dot(axes=1)([h, e])])
    return keras.Model([image, digit], body[-1](logit), name="conditional_discriminator")


def build_mlp_generator(latent_dim=LATENT_DIM, hidden=128):
    """The vanilla GAN's G (100 -> 128 -> 784). Ends in tanh, not sigmoid, because this project
    keeps every dataset in [-1, 1]."""
    return keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(784),
            layers.Activation("tanh", dtype="float32"),
            layers.Reshape(IMAGE_SHAPE),
        ],
        name="generator",
    )


def build_mlp_discriminator(hidden=128):
    """The vanilla GAN's D (784 -> 128 -> 1)."""
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu"),
            layers.Dense(1),
            layers.Activation("sigmoid", dtype="float32"),
        ],
        name="discriminator",
    )


def build_pair(arch="dcgan", latent_dim=LATENT_DIM, synchronized_bn=False, conditional=False):
    if conditional:
        if arch != "dcgan":
            raise ValueError(f"a conditional GAN needs --arch dcgan, not {arch!r}")
        return (
            build_conditional_generator(latent_dim, synchronized_bn),
            build_conditional_discriminator(),
        )
    if arch == "dcgan":
        return build_generator(latent_dim, synchronized_bn), build_discriminator()
    if arch == "mlp":
        return build_mlp_generator(latent_dim), build_mlp_discriminator()
    raise ValueError(f"unknown arch {arch!r}; choose dcgan or mlp")


def build_adversarial(generator, discriminator):
    """generator -> discriminator, for the generator's update.

    D is not frozen with `trainable = False`: under Keras 3 that flag would also stop D's own
    update (the trap in the reference). The train step freezes it by applying the adversarial
    gradients to G's weights only.
    """
    if not is_conditional(generator):
        return keras.Sequential([generator, discriminator], name="adversarial")
    z, digit = _inputs(generator.inputs[0].shape[1:], "z")
    return keras.Model(
        [z, digit], discriminator([generator([z, digit]), digit]), name="adversarial"
    )
