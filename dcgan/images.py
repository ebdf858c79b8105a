"""The formats of generated images: a grid of them (`grid`), drawn as a PNG (`save_grid`), and the
arrays of an .npz (`write_npz`), written atomically; `save_images` writes either.

Images are uint8, greyscale (n, side, side) or colour (n, side, side, 3), as
`sampling.to_uint8` makes them."""

from pathlib import Path
import zipfile

import matplotlib.image
import numpy as np

from dcgan import files


def image_dims(shape):
    """How many of the last axes of `shape` (of uint8 images, as `sampling.to_uint8` gives them)
    are one image's: 3 when the last is colour (3), else 2. A side is never 3 (28, 32 or 64)."""
    return 3 if tuple(shape)[-1] == 3 else 2


def collect(batches, shape):
    """The batches, one after another, in one array of `shape` (filled in place)."""
    out = np.empty(shape, np.uint8)
    image = tuple(shape)[-image_dims(shape) :]
    flat, at = out.reshape(-1, *image), 0
    for b in batches:
        b = np.reshape(b, (-1, *image))
        flat[at : at + len(b)] = b
        at += len(b)
    if at != len(flat):
        raise ValueError(f"the batches held {at} digits, not the {len(flat)} of {shape}")
    return out


def grid(images, cols=None, pad=2):
    """uint8 (n, h, w) -> one uint8 image (H, W), `cols` per row (default: as square as fits);
    colour (n, h, w, 3) -> (H, W, 3)."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, *images.shape[3:]), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = img
    return out


def save_grid(images, path, cols=None, scale=3):
    """Writes digits as one PNG grid, atomically: greyscale, or colour for colour images.

    Args:
        images: uint8 (n, h, w) or (n, h, w, 3), as `sampling.generate` returns; n at most
            files.MAX_GRID.
        path: the .png to write.
        cols: digits per row (default: as square as fits).
        scale: each pixel becomes scale x scale, for viewing.
    Returns:
        `path`.
    Raises:
        ValueError: more than files.MAX_GRID digits (write them to an .npz instead).
        OSError: `path` cannot be written (nothing is left behind).
    """
    files.check_grid(len(images))
    g = grid(images, cols)
    g = g.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else g
    grey = dict(cmap="gray", vmin=0, vmax=255) if g.ndim == 2 else {}
    with files.atomic_path(path) as tmp:
        matplotlib.image.imsave(str(tmp), g, format="png", **grey)
    return path


def write_npz(path, batches, shape, **extra):
    """Writes an .npz that `numpy.load` reads as {"images": uint8 `shape`, **extra}, atomically,
    taking the images a batch at a time (as `sampling.generate_batches` gives them): the `images`
    member is written as the batches come, so memory holds one batch, not all of them.

    Args:
        path: the .npz to write.
        batches: uint8 arrays (k, ..., *image) whose rows, one after another, fill `shape`.
        shape: the shape of all the images, e.g. (n, 28, 28) or (n, 64, 64, 3).
        extra: small arrays written after `images` (the seed, the digits asked for).
    Raises:
        ValueError: the batches hold more or fewer pixels than `shape` (nothing is written).
        OSError: `path` cannot be written (nothing is left behind).
    """
    fmt = np.lib.format
    header = {"descr": fmt.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False}
    total = int(np.prod(shape))
    with (
        files.atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        with zf.open("images.npy", "w", force_zip64=True) as f:
            fmt.write_array_header_1_0(f, {**header, "shape": tuple(shape)})
            written = 0
            for b in batches:
                b = np.ascontiguousarray(b, np.uint8)
                written += b.size
                if written > total:
                    break
                f.write(b.data)
        if written != total:
            raise ValueError(
                f"{path}: the batches held {'more' if written > total else 'fewer'} pixels than "
                f"{tuple(shape)} images"
            )
        for name, value in extra.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                fmt.write_array(f, np.asanyarray(value), allow_pickle=False)
    return path


def save_images(images, path, seed=None, cols=None, classes=None, shape=None):
    """Writes images to `path`: a .png grid (`save_grid`), or an .npz holding `images` (and
    `seed` and the `classes` asked for, under the key "digits", when given), atomically.
    Returns `path`.

    `images` is a uint8 array, or an iterable of uint8 batches (`sampling.generate_batches`)
    with their `shape` given: an .npz is then written as they come (`write_npz`), in the memory
    of one batch; a grid needs them all at once, and at most files.MAX_GRID of them.
    """
    path = Path(path)
    files.check_image_format(path)
    if isinstance(images, np.ndarray):
        shape = images.shape
        images = [images]
    if path.suffix.lower() == ".png":
        image = tuple(shape)[-image_dims(shape) :]
        files.check_grid(int(np.prod(shape[: -len(image)])))
        images = collect(images, shape)
        return save_grid(images.reshape(-1, *image), path, cols=cols)
    extra = {} if classes is None else {"digits": np.asarray(classes, np.uint8)}
    if seed is not None:
        extra["seed"] = np.int64(seed)
    return write_npz(path, images, shape, **extra)
