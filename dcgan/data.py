"""Where the digits come from: Keras's loader, a `.npz`, an IDX folder or the bundled sample.

Everything ends as uint8 arrays (n, 28, 28); `make_dataset` turns them into a `tf.data` pipeline
of float images in [-1, 1], converted on the way (`to_shape`) where a run's nets take another
size or colour. TensorFlow is imported only by that tail, so the readers serve a machine
without it (a JAX GPU box, say).
"""

import gzip
import math
import os
from pathlib import Path
import zipfile
import zlib

import keras
import numpy as np

from dcgan.files import ENV, NUM_CLASSES

ENV_VAR = ENV["data"]
SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")
# Where Debian's dataset-fashion-mnist package puts its IDX files.
FASHION_DIRS = ("/usr/share/datasets/fashion-mnist",)
# The most any one array (an .npz member, an IDX file) may claim, checked from its header before
# anything is read: 8 GB is ten million digits of uint8, far beyond any MNIST-like set.
MAX_ARRAY_BYTES = 8_000_000_000
READ_CHUNK = 1 << 24  # bytes read from a member at a time
# A compressed array (a gzip IDX file, a deflated .npz member) that claims more than this must
# not claim more than MAX_RATIO times its compressed size: digits compress about 5:1 (MNIST's
# gzip files 4.7:1), so a bigger claim would inflate for minutes into gigabytes of nothing.
RATIO_CHECKED = 64_000_000
MAX_RATIO = 100
FIX = (
    "pass --data a Keras-format .npz (x_train, y_train, x_test, y_test) or a folder of "
    "MNIST IDX files"
)


# (source, Keras's loader) -> why it could not be downloaded, for the rest of the process.
_UNREACHABLE = {}


def download_failure(e, longest=200):
    """Why Keras's download failed, in one line: the cause Keras puts after its URL (as in
    "URL fetch failure on URL: None -- [Errno -2] Name or service not known"), cut at a word
    boundary where it is longer than `longest`, never mid-word."""
    text = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    text = text.rsplit(" -- ", 1)[-1].strip() or text
    if len(text) > longest:
        text = text[:longest].rsplit(" ", 1)[0] + " ..."
    return text


def load(source=None, split="train", log=print):
    """Returns (images uint8 (n, 28, 28), labels (n,) whole numbers 0..255, description).

    source: None (then $DCGAN_DATA, then Keras's MNIST, then the bundled sample), "mnist",
    "fashion_mnist", "sample", a `.npz` path or a folder of IDX files.
    Raises FileNotFoundError (no such data) or ValueError (data that is not MNIST-shaped, or
    wrong in content: see `_check`), one line naming the file and the problem.
    """
    from_env = not source and bool(os.environ.get(ENV_VAR))
    explicit = bool(source) or from_env  # named, not the default
    source = source or os.environ.get(ENV_VAR) or "mnist"
    if source == "sample":
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    if source in ("mnist", "fashion_mnist"):
        loader = getattr(keras.datasets, source).load_data
        first = (source, loader) not in _UNREACHABLE
        reason = _UNREACHABLE.get((source, loader))
        if first:  # a command loads both splits, and more than once: one download attempt
            try:
                (xtr, ytr), (xte, yte) = loader()
                return (xtr, ytr, source) if split == "train" else (xte, yte, source)
            except Exception as e:  # no network, a broken cache: both mean "not here"
                reason = _UNREACHABLE[source, loader] = download_failure(e)
        if source == "fashion_mnist":
            for d in FASHION_DIRS:
                if Path(d).is_dir():
                    return (*_read_idx_dir(Path(d), split, log), f"fashion_mnist ({d})")
            raise FileNotFoundError(
                f"Fashion-MNIST could not be downloaded ({reason}); "
                "install dataset-fashion-mnist or pass --data a folder of its IDX files"
            )
        if explicit:  # asked for by name: never another set in its place
            where = f"${ENV_VAR}=mnist" if from_env else "--data mnist"
            raise FileNotFoundError(
                f"MNIST could not be downloaded ({reason}), and {where} asks for it by name: "
                "download it once where there is a network (Keras keeps it in "
                "~/.keras/datasets), pass --data a local mnist.npz, or --data sample for the "
                "bundled 4,000 digits"
            )
        if first:
            log(
                f"MNIST could not be downloaded ({reason}); using the bundled sample of 4,000 "
                f"digits (set --data or ${ENV_VAR} to a local mnist.npz for the full set)"
            )
        return (*_read_npz(SAMPLE_PATH, split), "bundled MNIST sample")
    path = Path(source).expanduser()
    if path.is_dir():
        return (*_read_idx_dir(path, split, log), str(path))
    if not path.exists():
        where = f" (from ${ENV_VAR})" if from_env else ""
        raise FileNotFoundError(
            f"data {source!r}{where} not found: {FIX}, or use mnist, fashion_mnist or sample"
        )
    if not path.is_file():  # a pipe or a device would hang or never end
        raise ValueError(f"data {source!r} is not a regular file or folder: {FIX}")
    return (*_read_npz(path, split, log), str(path))


def _check(x, y, where, labels_where=None, log=print):
    """Images and labels checked in content as well as shape: (uint8 (n, 28, 28), int64 (n,)).

    Pixels: uint8, other integers in 0..255, or floats (no NaN or infinity) either all in [0, 1]
    (then scaled by 255 and rounded, and said so through `log`) or all whole numbers in [0, 255].
    Labels: one whole number 0..255 per image (a class number, not one-hot).
    """
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{where} holds images of shape {x.shape}, expected (n, 28, 28): {FIX}")
    if len(x) == 0:
        raise ValueError(f"{where} holds no images: {FIX}")
    x = _pixels(x, where, log)
    y = np.zeros(len(x), np.int64) if y is None else _labels(y, len(x), labels_where or where)
    return x, y


def _kind(dtype):
    """What a dtype holds, in words, for one that is not plain numbers."""
    return {
        "b": "booleans",
        "c": "complex numbers",
        "U": "strings",
        "S": "byte strings",
        "O": "Python objects",
        "V": "structured records",
        "M": "dates",
        "m": "time spans",
    }.get(dtype.kind, f"{dtype} values")


def _pixels(x, where, log):
    if x.dtype == np.uint8:
        return x
    rule = (
        "pixels must be uint8 0..255, or floats all in [0, 1] (scaled by 255) or all whole "
        "numbers in [0, 255]"
    )
    if x.dtype.kind not in "uif":
        raise ValueError(f"{where} holds {_kind(x.dtype)} ({x.dtype}), not pixels: {rule}")
    if x.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad:
            raise ValueError(
                f"{where} has {bad:,} NaN or infinite pixels: fix or drop those images; {rule}"
            )
    lo, hi = x.min(), x.max()
    if lo < 0 or hi > 255:
        raise ValueError(f"{where} has pixels from {lo:g} to {hi:g}, outside 0..255: {rule}")
    if x.dtype.kind in "ui":
        return x.astype(np.uint8)  # exact: every value is 0..255
    if hi <= 1:
        log(f"{where}: float pixels in [0, 1] read as 0..255 (times 255, rounded to uint8)")
        return np.round(x * np.float32(255)).astype(np.uint8)
    whole = np.equal(np.mod(x, 1), 0)
    if not whole.all():
        example = x[~whole].flat[0]
        raise ValueError(
            f"{where} has float pixels up to {hi:g} that are not whole numbers (such as "
            f"{example:g}): {rule}"
        )
    log(f"{where}: float pixels are whole numbers 0..255, read as uint8")
    return x.astype(np.uint8)


def _labels(y, n, where):
    y = np.asarray(y)
    fix = "store one class number 0..255 per image (the digit 0-9 for MNIST), as integers"
    if y.ndim == 0:
        raise ValueError(f"{where} holds a single label, not one per image: {fix}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[0] == n:
        raise ValueError(
            f"{where} holds labels of shape {y.shape}, one-hot or scores rather than one class "
            f"per image: {fix} (for one-hot labels, y.argmax(1))"
        )
    elif y.ndim != 1:
        raise ValueError(f"{where} holds labels of shape {y.shape}, expected ({n},): {fix}")
    if len(y) != n:
        raise ValueError(f"{where} has {n} images but {len(y)} labels: {FIX}")
    if y.dtype.kind not in "uif":
        raise ValueError(f"{where} holds labels that are {_kind(y.dtype)} ({y.dtype}): {fix}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (np.mod(y, 1) != 0)
        if bad.any():
            raise ValueError(
                f"{where} holds float labels that are not whole numbers (such as "
                f"{y[bad][0]:g}): {fix}"
            )
    lo, hi = y.min(), y.max()
    if lo < 0 or hi > 255:
        raise ValueError(f"{where} holds labels from {lo:g} to {hi:g}, outside 0..255: {fix}")
    return y.astype(np.int64)


def _size(nbytes):
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def read_npz(path, names, fix=FIX, check_header=None):
    """({name: array or None}, all member names) from the .npz at `path`, without pickle.

    Each member's .npy header is read first, and its declared size is checked against a cap
    (MAX_ARRAY_BYTES), against what the archive says the member holds, and by
    `check_header(name, shape, dtype)` when given, before its body is read; nothing is
    allocated for a header that claims terabytes. Raises ValueError, naming the file and the
    member, for anything that is not a readable numeric array.
    """
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        try:
            with open(path, "rb") as f:
                npy = f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX
        except OSError:
            npy = False
        if npy:
            raise ValueError(
                f"{path} is a single .npy array, not an .npz archive: save it with "
                f"numpy.savez; {fix}"
            ) from None
        raise ValueError(f"cannot read {path} as .npz (not a zip archive): {fix}") from None
    except (OSError, EOFError, ValueError, NotImplementedError) as e:
        raise ValueError(f"cannot read {path} as .npz ({type(e).__name__}): {fix}") from None
    with zf:
        members = {}
        for info in zf.infolist():
            if not info.is_dir():
                members.setdefault(info.filename.removesuffix(".npy"), info)
        arrays = {
            name: _read_member(zf, members[name], f"{path}: {name!r}", fix, check_header)
            if name in members
            else None
            for name in names
        }
    return arrays, list(members)


def _read_member(zf, info, where, fix, check_header):
    fmt = np.lib.format
    try:
        with zf.open(info) as f:
            try:
                version = fmt.read_magic(f)
            except ValueError:
                raise ValueError(
                    f"{where} is not a numpy array (each member of an .npz must be a .npy): {fix}"
                ) from None
            readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
            if version not in readers:
                raise ValueError(f"{where} uses .npy format {version}, not 1.0 or 2.0: {fix}")
            try:
                shape, fortran, dtype = readers[version](f)
            except ValueError as e:
                reason = str(e).splitlines()[0][:80]
                raise ValueError(f"{where} has a damaged .npy header ({reason}): {fix}") from None
            if dtype.hasobject:
                raise ValueError(
                    f"{where} holds Python objects, which need pickle, and pickles are never "
                    f"loaded: save plain numeric arrays; {fix}"
                )
            if any(d < 0 for d in shape):
                raise ValueError(f"{where} has a damaged .npy header (shape {shape}): {fix}")
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            if nbytes > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"{where} claims an array of shape {shape} {dtype} ({_size(nbytes)}), more "
                    f"than the {_size(MAX_ARRAY_BYTES)} read at once: split the data, or {fix}"
                )
            if check_header is not None:
                check_header(where, shape, dtype)
            if info.compress_type != zipfile.ZIP_STORED:
                _check_ratio(where, shape, nbytes, info.compress_size, fix)
            left = info.file_size - f.tell()
            if nbytes > left:
                raise ValueError(
                    f"{where} is truncated: its header claims {shape} {dtype} "
                    f"({_size(nbytes)}) but the member holds {_size(max(left, 0))}; write it "
                    f"again, or {fix}"
                )
            out = np.empty(count, dtype)
            if nbytes:
                buf, got = out.view(np.uint8), 0
                while got < nbytes:
                    chunk = f.read(min(READ_CHUNK, nbytes - got))
                    if not chunk:
                        raise ValueError(
                            f"{where} is truncated: {_size(got)} of {_size(nbytes)}; write it "
                            f"again, or {fix}"
                        )
                    buf[got : got + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    got += len(chunk)
            if nbytes == left:
                f.read(1)  # reaches the end of the member, where its checksum is checked
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as e:
        reason = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        raise ValueError(f"cannot read {where} ({reason}): write it again, or {fix}") from None
    return out.reshape(shape[::-1]).T if fortran else out.reshape(shape)


def _check_ratio(where, shape, nbytes, packed, fix):
    if nbytes > RATIO_CHECKED and nbytes > MAX_RATIO * max(packed, 1):
        raise ValueError(
            f"{where} claims {shape} ({_size(nbytes)}) from {_size(packed)} compressed, "
            f"{nbytes / max(packed, 1):,.0f}:1 where digits compress about 5:1; refused "
            f"before inflating it: write it again, or {fix}"
        )


def _read_npz(path, split, log=print):
    key = f"x_{split}"
    arrays, names = read_npz(path, (key, f"y_{split}"))
    if arrays[key] is None:
        raise ValueError(f"{path} has no {key!r} array (has {', '.join(names) or 'none'}): {FIX}")
    return _check(
        arrays[key], arrays[f"y_{split}"], f"{path}: {key!r}", f"{path}: 'y_{split}'", log
    )


def load_images(path, max_images=None):
    """(uint8 (n, 28, 28), digits (n,) or None) from the 'images' (and 'digits') arrays of a
    .npz such as `dcgan.generate --out x.npz` writes; more than `max_images` digits are refused
    from the header, before they are read. Raises FileNotFoundError or ValueError."""
    path = Path(path)
    fix = "pass --images a .npz holding uint8 (n, 28, 28) digits under the key 'images'"
    if not path.is_file():
        raise FileNotFoundError(f"images {path} not found: {fix}")

    def check_header(where, shape, dtype):
        if where.endswith("'images'") and max_images and shape:
            channel = len(shape) == 4 and shape[-1] == 1  # (n, 28, 28, 1), else (rows, k, 28, 28)
            n = shape[0] if channel or len(shape) < 3 else math.prod(shape[:-2])
            if n > max_images:
                raise ValueError(
                    f"{where} holds {n:,} digits, more than the {max_images:,} scored at once: "
                    "evaluate a sample of them"
                )

    arrays, names = read_npz(path, ("images", "digits"), fix, check_header)
    x, digits = arrays["images"], arrays["digits"]
    if x is None:
        raise ValueError(f"{path} has no 'images' array (has {', '.join(names) or 'none'}): {fix}")
    x = check_images(
        x.reshape(-1, *x.shape[-2:]) if x.ndim == 4 and x.shape[-1] != 1 else x,
        where=f"images in {path}",
    )
    if digits is not None:
        digits = np.asarray(digits).ravel()
        if (
            len(digits) != len(x)
            or not np.issubdtype(digits.dtype, np.integer)
            or digits.min() < 0
            or digits.max() >= NUM_CLASSES
        ):
            raise ValueError(f"{path}: 'digits' must hold one digit 0-9 per image: {fix}")
    return x, digits


def check_images(images, where="images"):
    """uint8 (n, 28, 28) (a trailing channel of 1 is dropped), else ValueError."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) == 0:
        raise ValueError(
            f"{where} have shape {x.shape}, expected (n, 28, 28) with n >= 1: pass "
            "28x28 greyscale digits"
        )
    if x.dtype != np.uint8:
        raise ValueError(
            f"{where} are {x.dtype}, expected uint8 pixels 0..255: convert generator "
            "output with dcgan.sampling.to_uint8"
        )
    return x


def read_idx(path):
    """Parses one IDX file (raw or .gz) of unsigned bytes into a numpy array. The header is
    checked (against MAX_ARRAY_BYTES, and a raw file's size) before the body is read."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise ValueError(f"{path} is not an unsigned-byte IDX file: {FIX}")
            raw = f.read(4 * head[3])
            if len(raw) < 4 * head[3]:
                raise ValueError(
                    f"{path} is truncated inside its header: download it again, or {FIX}"
                )
            dims = tuple(int.from_bytes(raw[i : i + 4], "big") for i in range(0, len(raw), 4))
            count = math.prod(dims)
            if count > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"{path} claims {dims} bytes ({_size(count)}), more than the "
                    f"{_size(MAX_ARRAY_BYTES)} read at once: split the data, or {FIX}"
                )
            if opener is gzip.open:  # from the compressed size, before inflating
                _check_ratio(path, dims, count, os.path.getsize(path), FIX)
            if opener is open:
                size = os.fstat(f.fileno()).st_size - 4 - len(raw)
                if size != count:
                    raise ValueError(
                        f"{path} is {'truncated' if size < count else 'longer than its header'}: "
                        f"header says {dims}, file has {size} bytes; download it again, or {FIX}"
                    )
            body = bytearray()  # streamed: never more than the header's claim (and 1 byte)
            while len(body) < count:
                chunk = f.read(min(READ_CHUNK, count - len(body)))
                if not chunk:
                    break
                body += chunk
            extra = f.read(1)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"cannot read IDX file {path} ({type(e).__name__}): {FIX}") from None
    if len(body) != count or extra:
        raise ValueError(
            f"{path} is {'truncated' if len(body) < count else 'longer than its header'}: "
            f"header says {dims}, file has {len(body) + len(extra)}{'+' if extra else ''} bytes; "
            f"download it again, or {FIX}"
        )
    return np.frombuffer(body, np.uint8).reshape(dims)


def _read_idx_dir(folder, split, log=print):
    prefix = "train" if split == "train" else "t10k"
    found = {}
    for kind, idx in (("images", "idx3"), ("labels", "idx1")):
        names = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte"]
        hits = [
            folder / (n + ext)
            for n in names
            for ext in ("", ".gz")
            if (folder / (n + ext)).exists()
        ]
        if not hits:
            raise ValueError(f"{folder} has no {names[0]}[.gz]: {FIX}")
        found[kind] = (read_idx(hits[0]), hits[0])
    (x, x_path), (y, y_path) = found["images"], found["labels"]
    return _check(x, y, str(x_path), str(y_path), log)


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


def make_dataset(images, batch_size, seed=None, repeat=False, digits=None, image_shape=None):
    """Shuffled, batched (remainder dropped), prefetched float batches from uint8 images (n, h,
    w) or (n, h, w, c); (images, int32 digits) batches when `digits` are given (a conditional
    GAN's data). With `image_shape` (side, side, channels) other than the images', each batch
    is converted to it (`to_shape`) before it is scaled.

    The uint8 array stays in memory (47 MB for MNIST) and is scaled (and converted) per batch,
    which is cheaper than holding or scaling float copies: MNIST at 64x64x3 would be 737 MB.
    """
    import tensorflow as tf

    convert = image_shape is not None and with_channels(np.shape(images)[1:]) != tuple(image_shape)
    if convert:
        size, _, channels = image_shape
        as_float = lambda x: to_float(to_shape(x, size, channels))
    else:  # the same ops as before sizes existed: a resumed run sees the same batches
        as_float = to_float
    if digits is None:
        ds, scale = tf.data.Dataset.from_tensor_slices(images), as_float
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(digits, np.int32)))
        scale = lambda x, y: (as_float(x), y)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return batched(ds, batch_size, scale)


def batched(ds, batch_size, scale):
    """The tail of every training pipeline: batches (remainder dropped), each mapped by `scale`
    (uint8 to floats), prefetched, and sharded by data when several workers read it."""
    import tensorflow as tf

    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts)
