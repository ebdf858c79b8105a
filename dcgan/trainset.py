"""What a run trains on, behind one small interface: digits in memory (`Arrays`, as every run
before folders) or a folder of your own images streamed from disk (`ImageFolder`); `load`
gives the one --data names.

Both give the count, the class names (None: digits, or an unlabelled folder), the class id of
each image (`class_ids`), a digest that resume compares, a description for the banner, the
`source` it was read from, `sample(n, seed, with_classes)` (the real images scores compare
with) and `dataset(batch, seed, repeat, with_classes, skip)`, the shuffled float batches `fit`
takes, built by the one pipeline both share (`pipeline`). TensorFlow is imported only there,
and in the conversions it maps (`to_shape`, `to_float`).
"""

import hashlib
import os
from pathlib import Path

import numpy as np

from dcgan import data, datasets, folder


def with_channels(shape):
    """The shape of one image, (h, w) or (h, w, c), as (h, w, c)."""
    shape = tuple(shape)
    return shape if len(shape) == 3 else (*shape, 1)


def to_shape(images, size, channels):
    """uint8 images (n, h, w) or (n, h, w, c), numpy or tensor -> a uint8 tensor (n, size,
    size, channels): resized (bilinear, antialiased when shrinking so that thin strokes do not
    break up), then greyscale copied into three channels, or colour made grey. Works inside a
    `tf.data` map. The 28x28x1 digits of a default run never come here (`make_dataset`)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(images)
    if x.shape.rank == 3:
        x = x[..., None]
    if tuple(x.shape[1:3]) != (size, size):
        x = tf.image.resize(x, (size, size), method="bilinear", antialias=True)
        x = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
    if x.shape[-1] == 1 and channels == 3:
        x = tf.image.grayscale_to_rgb(x)
    elif x.shape[-1] == 3 and channels == 1:
        x = tf.image.rgb_to_grayscale(x)
    return x


def shape_note(data_shape, image_shape):
    """How `to_shape` turns images of `data_shape` (one image's) into `image_shape`, in words
    for the start banner ("" when they already are)."""
    (h, w, c), (size, _, channels) = with_channels(data_shape), tuple(image_shape)
    steps = [f"{h}x{w}x{c} resized to {size}x{size}"] if (h, w) != (size, size) else []
    if c != channels:
        steps.append("grey copied to 3 channels" if channels == 3 else "colour made grey")
    return ", ".join(steps) if steps else ""


def to_float(images):
    """uint8 (or any 0..255 numbers) (n, h, w) or (n, h, w, c) -> float32 in [-1, 1], with a
    channel axis."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)
    if x.shape.rank == 3:
        x = x[..., None]
    return (x - 127.5) / 127.5


def pipeline(
    items, batch, seed=None, repeat=False, skip=0, decode=None, as_float=to_float, with_classes=True
):
    """Every train set's batches: `items` (uint8 images, or a tuple of images or paths and their
    class ids) sliced one per image, shuffled (each pass anew, from `seed`), repeated endlessly
    with `repeat`, `decode`d one by one (a path and its class -> an image and its class),
    batched (remainder dropped), scaled by `as_float` (uint8 -> [-1, 1]) with the class ids
    kept when `with_classes`, prefetched, and sharded by data when several workers read it.

    The first `skip` batches are left out before anything is decoded or scaled, so a resumed
    run goes on where it stopped at no cost: the same stream as batching first and skipping
    batches.
    """
    import tensorflow as tf

    pairs = isinstance(items, tuple)
    ds = tf.data.Dataset.from_tensor_slices(items)
    ds = ds.shuffle(len(items[0] if pairs else items), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if skip:
        ds = ds.skip(skip * batch)
    if decode is not None:
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)  # in order: deterministic
    if not pairs:
        scale = as_float
    elif with_classes:
        scale = lambda x, y: (as_float(x), y)
    else:
        scale = lambda x, y: as_float(x)
    ds = ds.batch(batch, drop_remainder=True)
    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)


def make_dataset(
    images, batch_size, seed=None, repeat=False, class_ids=None, image_shape=None, skip=0
):
    """`pipeline`'s batches of uint8 images (n, h, w) or (n, h, w, c); (images, int32 class ids)
    batches when `class_ids` are given (a conditional GAN's data). With `image_shape` (side, side,
    channels) other than the images', each batch is converted to it (`to_shape`) before it is
    scaled.

    The uint8 array stays in memory (47 MB for MNIST) and is scaled (and converted) per batch,
    which is cheaper than holding or scaling float copies: MNIST at 64x64x3 would be 737 MB.
    """
    convert = image_shape is not None and with_channels(np.shape(images)[1:]) != tuple(image_shape)
    if convert:
        size, _, channels = image_shape
        as_float = lambda x: to_float(to_shape(x, size, channels))
    else:  # the same ops as before sizes existed: a resumed run sees the same batches
        as_float = to_float
    items = images if class_ids is None else (images, np.asarray(class_ids, np.int32))
    return pipeline(items, batch_size, seed, repeat, skip, as_float=as_float)


class Arrays:
    """Images in memory, uint8 (n, 28, 28), with their class ids: what `data.load`
    returns. The batches and the digest are those of every run before folders, so old runs
    resume the same."""

    classes = None  # the ten digits

    def __init__(self, images, class_ids, source, image_shape=None):
        self.images, self.class_ids, self.source = images, class_ids, source
        self.image_shape = image_shape  # the nets': batches are converted to it (`to_shape`)
        self.count = len(images)
        self.description = source

    @property
    def digest(self):
        return hashlib.sha256(np.ascontiguousarray(self.images).data).hexdigest()[:16]

    def sample(self, n, seed=0, with_classes=False):
        """uint8: min(n, count) of the images, picked by `seed` (as `ImageFolder.sample`); with
        `with_classes`, (images, their class ids or None)."""
        pick = np.sort(np.random.default_rng(seed).permutation(self.count)[:n])
        if not with_classes:
            return self.images[pick]
        ids = None if self.class_ids is None else np.asarray(self.class_ids)[pick]
        return self.images[pick], ids

    def dataset(self, batch, seed=None, repeat=False, with_classes=False, skip=0):
        ids = self.class_ids if with_classes else None
        return make_dataset(self.images, batch, seed, repeat, ids, self.image_shape, skip)


class ImageFolder(folder.CheckedFolder):
    """A folder of images checked file by file (`dcgan.folder`), streamed: each image is
    decoded, converted and resized again as the pipeline reaches it."""

    def dataset(self, batch, seed=None, repeat=False, with_classes=False, skip=0):
        """Shuffled (each epoch anew, from `seed`), batched (remainder dropped) float images in
        [-1, 1], with int32 classes when `with_classes`; the first `skip` batches are left out
        before any image is decoded."""
        import tensorflow as tf

        size, channels, read = self.size, self.channels, self.read

        def decode(path, label):
            x = tf.numpy_function(read, [path], tf.uint8, stateful=False)
            x.set_shape((size, size, channels))
            return x, label

        items = (self.paths, self.class_ids)
        return pipeline(items, batch, seed, repeat, skip, decode, with_classes=with_classes)


def load(source, image_size=28, channels=1, log=print):
    """The training data --data names: an `ImageFolder` for a folder of images, else `Arrays`
    of `data.load`'s train split."""
    path = datasets.image_folder(source)
    if path is not None:
        return ImageFolder(path, image_size, channels, log)
    given = Path(source or os.environ.get(data.ENV_VAR) or "mnist").expanduser()
    if given.suffix.lower() in folder.FORMATS and given.is_file():
        raise ValueError(
            f"{folder.shown(given)} is an image file, not a data set: pass --data the folder "
            f"that holds it ({folder.shown(given.parent)}) to train on its images"
        )
    return Arrays(*data.load(source, "train", log=log), (image_size, image_size, channels))
