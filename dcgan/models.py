"""The nets: Sequential, built-in layers only, so `keras.models.load_model` needs no project code.

Layer for layer the reference (shared/reference/seed-dcgan.md). Output activations are their own
float32 layers so mixed precision never hands bf16 images or probabilities to the caller.
"""
import keras
from keras import layers

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)
ARCHS = ("dcgan", "mlp")


def build_generator(latent_dim=LATENT_DIM, synchronized_bn=False):
    """z (n, latent_dim) -> images (n, 28, 28, 1) in [-1, 1].

    `synchronized_bn` averages batch statistics over replicas, so training on k devices is the
    same computation as on one device with the global batch.
    """
    def bn():
        return layers.BatchNormalization(momentum=0.9, synchronized=synchronized_bn)

    stack = [keras.Input((latent_dim,)), layers.Dense(7 * 7 * 256), bn(), layers.ReLU(),
             layers.Reshape((7, 7, 256))]
    for filters, strides in ((128, 2), (64, 2), (32, 1)):
        stack += [layers.Conv2DTranspose(filters, 3, strides=strides, padding="same"), bn(),
                  layers.ReLU()]
    stack += [layers.Conv2DTranspose(1, 3, padding="same"),
              layers.Activation("tanh", dtype="float32")]
    return keras.Sequential(stack, name="generator")


def build_discriminator(dropout=0.4):
    """images (n, 28, 28, 1) -> probability of being real (n, 1)."""
    stack = [keras.Input(IMAGE_SHAPE)]
    for filters, strides in ((64, 2), (128, 2), (256, 2), (512, 1)):
        stack += [layers.Conv2D(filters, 3, strides=strides, padding="same"),
                  layers.LeakyReLU(negative_slope=0.2), layers.Dropout(dropout)]
    stack += [layers.Flatten(), layers.Dense(1), layers.Activation("sigmoid", dtype="float32")]
    return keras.Sequential(stack, name="discriminator")


def build_mlp_generator(latent_dim=LATENT_DIM, hidden=128):
    """The vanilla GAN's G (100 -> 128 -> 784). Ends in tanh, not sigmoid, because this project
    keeps every dataset in [-1, 1]."""
    return keras.Sequential([
        keras.Input((latent_dim,)), layers.Dense(hidden, activation="relu"),
        layers.Dense(784), layers.Activation("tanh", dtype="float32"),
        layers.Reshape(IMAGE_SHAPE)], name="generator")


def build_mlp_discriminator(hidden=128):
    """The vanilla GAN's D (784 -> 128 -> 1)."""
    return keras.Sequential([
        keras.Input(IMAGE_SHAPE), layers.Flatten(), layers.Dense(hidden, activation="relu"),
        layers.Dense(1), layers.Activation("sigmoid", dtype="float32")], name="discriminator")


def build_pair(arch="dcgan", latent_dim=LATENT_DIM, synchronized_bn=False):
    if arch == "dcgan":
        return build_generator(latent_dim, synchronized_bn), build_discriminator()
    if arch == "mlp":
        return build_mlp_generator(latent_dim), build_mlp_discriminator()
    raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")


def build_adversarial(generator, discriminator):
    """generator -> discriminator, for the generator's update.

    D is not frozen with `trainable = False`: under Keras 3 that flag would also stop D's own
    update (the trap in the reference). The train step freezes it by applying the adversarial
    gradients to G's weights only.
    """
    return keras.Sequential([generator, discriminator], name="adversarial")
