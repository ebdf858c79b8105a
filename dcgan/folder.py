"""What a run trains on, behind one small interface: digits in memory (`Arrays`, as every run
before folders) or a folder of your own images streamed from disk (`ImageFolder`).

Both give the count, the class names (None: digits, or an unlabelled folder), a digest that
resume compares, a description for the banner, and `dataset(batch, seed, repeat, with_classes,
skip)`, the shuffled float batches `fit` takes.

A folder is read as Keras's `image_dataset_from_directory` reads one: its extensions, its
subfolders (sorted by name) as classes, a folder without subfolders as one unlabelled set. It
is not read *by* that function: that decodes with TensorFlow's decoders inside the pipeline,
so a truncated JPEG stops a run mid-epoch, it reports nothing per file before training, and it
squashes every picture to a square. Here every file is opened and decoded once up front with
PIL, one at a time, so bad files are named before anything is written; only paths stay in
memory, and each image is decoded, converted and resized again as the pipeline reaches it.
"""

import errno
import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
import tensorflow as tf

from dcgan import data, datasets

# image_dataset_from_directory's ALLOWLIST_FORMATS.
FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
IDX_HINT = "train-images-idx3-ubyte[.gz]"
FIX = (
    "pass --data a folder of images (subfolders for classes), a folder of MNIST IDX files or a "
    "Keras-format .npz"
)
# Files checked before the count is said aloud: a big folder takes a while to check.
SAY_COUNT_FROM = 10_000
SHOWN_CLASSES = 6  # class names the banner lists before "..."


class Arrays:
    """Images in memory, uint8 (n, 28, 28), with their labels (digits): what `data.load`
    returns. The batches and the digest are those of every run before folders, so old runs
    resume the same."""

    classes = None  # the ten digits

    def __init__(self, images, labels, source, image_shape=None):
        self.images, self.labels, self.source = images, labels, source
        self.image_shape = image_shape  # the nets': batches are converted to it (`data.to_shape`)
        self.count = len(images)
        self.description = source

    @property
    def digest(self):
        return hashlib.sha256(np.ascontiguousarray(self.images).data).hexdigest()[:16]

    def sample(self, n, seed=0):
        """uint8: min(n, count) of the images, picked by `seed` (as `ImageFolder.sample`)."""
        return self.images[np.sort(np.random.default_rng(seed).permutation(self.count)[:n])]

    def dataset(self, batch, seed=None, repeat=False, with_classes=False, skip=0):
        digits = self.labels if with_classes else None
        ds = data.make_dataset(
            self.images,
            batch,
            seed=seed,
            repeat=repeat,
            digits=digits,
            image_shape=self.image_shape,
        )
        return ds.skip(skip)


def is_image_folder(source):
    """True when `source` (a --data value, or None for $DCGAN_DATA) names a folder that is not a
    folder of MNIST IDX files: such a folder is read as images."""
    source = source or os.environ.get(data.ENV_VAR)
    if not source or source in ("mnist", "fashion_mnist", "sample"):
        return False
    path = Path(source).expanduser()
    return path.is_dir() and not datasets.is_idx_folder(path)


def load(source, image_size=28, channels=1, log=print):
    """The training data --data names: an `ImageFolder` for a folder of images, else `Arrays`
    of `data.load`'s train split."""
    if is_image_folder(source):
        path = Path(source or os.environ[data.ENV_VAR]).expanduser()
        return ImageFolder(path, image_size, channels, log)
    return Arrays(*data.load(source, "train", log=log), (image_size, image_size, channels))


def _loop(link):
    return ValueError(
        f"{link} is a symlink loop: it leads back to {os.path.realpath(link)}, a folder it is "
        "in, so the images under it never end: remove the link or point it elsewhere"
    )


def find_images(folder, above=()):
    """Image files under `folder`, sorted, following symlinked folders but never round a loop
    (ValueError naming the link); `above`: the (device, inode) of the folders `folder` is in.
    A link that leads nowhere is kept, so the check counts it as unreadable; names starting
    with "." are left out (macOS's "._x.jpg" are not images)."""
    found, stack = [], [(Path(folder), tuple(above))]
    while stack:
        here, above = stack.pop()
        st = os.stat(here)
        above = (*above, (st.st_dev, st.st_ino))
        try:
            entries = list(os.scandir(here))
        except OSError as e:
            raise ValueError(f"cannot list {here} ({e.strerror}): {FIX}") from None
        for e in entries:
            if e.name.startswith("."):
                continue
            path, image = Path(e.path), e.name.lower().endswith(FORMATS)
            try:
                st = os.stat(path)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise _loop(path) from None
                if image:
                    found.append(path)
                continue
            if e.is_dir():
                if (st.st_dev, st.st_ino) in above:
                    raise _loop(path)
                stack.append((path, above))
            elif image:
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _reason(e):
    text = str(e).splitlines()[0][:100] if str(e) else ""
    return text or type(e).__name__


def read_image(path, size, channels):
    """uint8 (size, size, channels): the image at `path` decoded with PIL (the first frame of
    an animation), turned upright by its EXIF orientation, made grey or RGB with any
    transparency laid over black (the nets' background, as in MNIST), centre-cropped to a
    square (a stretched face or digit is a different picture) and resized."""
    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as im:
        im.draft(mode, (size, size))  # a JPEG decodes at 1/2, 1/4 or 1/8 scale, if that is enough
        im = ImageOps.exif_transpose(im)  # a loaded copy
    if has_alpha(im):
        im = Image.alpha_composite(Image.new("RGBA", im.size, (0, 0, 0, 255)), im.convert("RGBA"))
    elif im.mode.startswith("I"):  # 16-bit grey PNG: PIL's convert("L") would clip, not scale
        im = Image.fromarray(
            np.clip(np.asarray(im, np.float64) / 257, 0, 255).round().astype("uint8")
        )
    im = im.convert(mode)
    w, h = im.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)
    im = im.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    x = np.asarray(im, np.uint8)
    return x[..., None] if channels == 1 else x


def has_alpha(im):
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _inspect(path, size, channels):
    """(width, height, mode, has transparency) of the image at `path`, after decoding it whole
    as training will; raises what PIL raises for a file it cannot read."""
    with Image.open(path) as im:
        found = (*im.size, im.mode, has_alpha(im))
    read_image(path, size, channels)
    return found


class ImageFolder:
    """A folder of images, checked file by file; `dataset` streams them (module docstring)."""

    images = labels = None  # never held in memory (`Arrays` holds its own)

    def __init__(self, folder, image_size=28, channels=1, log=print):
        self.folder, self.size, self.channels = Path(folder), image_size, channels
        self.source = str(folder)
        names, groups, loose = self._classes()
        if not any(groups):
            raise ValueError(
                f"{folder} has no {IDX_HINT} nor any image ({', '.join(FORMATS)}): {FIX}"
            )
        total = sum(map(len, groups))
        if total >= SAY_COUNT_FROM:
            log(f"checking {total:,} images under {folder} (each is decoded once)")
        paths, labels, sizes, modes, bad = [], [], [], {}, []
        alpha = False
        first_bad = {}  # class -> its first unreadable image
        for label, group in enumerate(groups):
            for path in group:
                try:
                    w, h, mode, a = _inspect(path, image_size, channels)
                except Exception as e:  # noqa: BLE001 (any undecodable file is skipped alike)
                    bad.append((path, _reason(e)))
                    first_bad.setdefault(label, bad[-1])
                    continue
                paths.append(str(path))
                labels.append(label)
                sizes.append((w, h))
                modes[mode] = modes.get(mode, 0) + 1
                alpha |= a
        if not paths:
            raise ValueError(
                f"{bad[0][0]}: none of the {total:,} images under {folder} can be read "
                f"({bad[0][1]}): {FIX}"
            )
        for label in sorted(set(range(len(names))) - set(labels)):
            path, reason = first_bad[label]
            raise ValueError(
                f"{folder / names[label]}: no image in this class folder can be read (first "
                f"{path}: {reason}): fix or remove them, or the folder"
            )
        # Bytes, as the file system names them: any name reaches PIL unchanged.
        self.paths = np.array([os.fsencode(p) for p in paths])
        self.class_ids = np.array(labels, np.int32)
        self.count, self.skipped = len(paths), len(bad)
        self.classes = tuple(names) if names else None
        self.description = self._describe(sizes, modes, alpha, bad)
        if loose:
            log(
                f"note: {loose} image(s) directly in {folder} are left out: with class "
                "subfolders every image belongs in one (as image_dataset_from_directory reads "
                "a folder)"
            )
        if bad:
            # One broken download should not cost a scraped folder its run: skip, count, name.
            log(
                f"warning: skipped {len(bad):,} of {total:,} images that cannot be read, first "
                f"{bad[0][0]} ({bad[0][1]}); training on the other {self.count:,}"
            )
        self._digest = self._fingerprint()

    def _classes(self):
        """(class names or [], image paths per class, images left loose in the top folder)."""
        try:
            top = list(os.scandir(self.folder))
        except OSError as e:
            raise ValueError(f"cannot list {self.folder} ({e.strerror}): {FIX}") from None
        top = [e for e in top if not e.name.startswith(".")]
        for e in top:
            if e.is_symlink() and _stat_error(e.path) == errno.ELOOP:
                raise _loop(e.path)
        names = sorted(e.name for e in top if _is_dir(e))
        if not names:
            return [], [find_images(self.folder)], 0
        # The folder and every folder it is in: a link to any of them leads round.
        real = self.folder.resolve()
        above = [(st.st_dev, st.st_ino) for st in map(os.stat, (real, *real.parents))]
        groups = []
        for name in names:
            sub = self.folder / name
            st = os.stat(sub)
            if (st.st_dev, st.st_ino) in above:
                raise _loop(sub)
            group = find_images(sub, above)
            if not group:
                raise ValueError(
                    f"{sub} is a class folder with no images ({', '.join(FORMATS)}): add some "
                    f"or remove it (each subfolder of {self.folder} is a class)"
                )
            groups.append(group)
        loose = sum(1 for e in top if not _is_dir(e) and e.name.lower().endswith(FORMATS))
        return names, groups, loose

    def _describe(self, sizes, modes, alpha, bad):
        n = f"{self.count:,} image{'s' if self.count != 1 else ''}"
        if self.classes:
            shown = ", ".join(self.classes[:SHOWN_CLASSES])
            more = ", ..." if len(self.classes) > SHOWN_CLASSES else ""
            first = f"{n} in {len(self.classes)} classes ({shown}{more}) from {self.folder}"
        else:
            first = f"{n}, unlabelled (no class subfolders), from {self.folder}"
        by_area = sorted(set(sizes), key=lambda s: (s[0] * s[1], s))
        small, big = (f"{w}x{h}" for w, h in (by_area[0], by_area[-1]))
        size = f"size {small}" if small == big else f"sizes {small} to {big}"
        kinds = ", ".join(sorted(modes, key=lambda m: -modes[m]))
        target = f"{self.size}x{self.size} {'grey' if self.channels == 1 else 'RGB'}"
        how = []
        if any(w != h for w, h in sizes):
            how.append("centre-cropped to square")
        if alpha:
            how.append("transparency over black")
        second = f"{size}, modes {kinds} -> {target}" + (f" ({', '.join(how)})" if how else "")
        lines = [first, second]
        if bad:
            lines.append(f"{len(bad):,} skipped as unreadable (first: {bad[0][0]})")
        return ("\n" + " " * 15).join(lines)  # under the banner's "data" line

    def _fingerprint(self):
        """A hash of each image's path under the folder, size, modification time and class:
        resume compares it without reading a pixel."""
        h = hashlib.sha256()
        for path, label in zip(self.paths, self.class_ids):
            st = os.stat(path)
            rel = os.fsencode(Path(os.fsdecode(path)).relative_to(self.folder).as_posix())
            h.update(rel + f"\0{st.st_size}\0{st.st_mtime_ns}\0{label}\n".encode())
        return h.hexdigest()[:16]

    @property
    def digest(self):
        return self._digest

    def sample(self, n, seed=0):
        """uint8 (m, size, size[, 3]): m = min(n, count) of the images, picked by `seed` and
        decoded as training decodes them: the real images `dcgan.evaluate` compares with."""
        pick = np.random.default_rng(seed).permutation(self.count)[:n]
        x = np.stack(
            [read_image(os.fsdecode(self.paths[i]), self.size, self.channels) for i in pick]
        )
        return x[..., 0] if self.channels == 1 else x

    def dataset(self, batch, seed=None, repeat=False, with_classes=False, skip=0):
        """Shuffled (each epoch anew, from `seed`), batched (remainder dropped) float images in
        [-1, 1], with int32 classes when `with_classes`; the first `skip` batches are left out
        before any image is decoded, so a resumed run goes on where it stopped at no cost."""
        size, channels = self.size, self.channels

        def read(path):
            return read_image(os.fsdecode(path), size, channels)

        def decode(path, label):
            x = tf.numpy_function(read, [path], tf.uint8, stateful=False)
            x.set_shape((size, size, channels))
            return x, label

        ds = tf.data.Dataset.from_tensor_slices((self.paths, self.class_ids))
        ds = ds.shuffle(self.count, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.skip(skip * batch)  # the same stream as batching first and skipping batches
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)  # in order: deterministic
        ds = ds.batch(batch, drop_remainder=True)
        if with_classes:
            scale = lambda x, y: (data.to_float(x), y)
        else:
            scale = lambda x, y: data.to_float(x)
        ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(opts)


def _stat_error(path):
    try:
        os.stat(path)
    except OSError as e:
        return e.errno
    return None


def _is_dir(entry):
    try:
        return entry.is_dir()  # follows a link
    except OSError:
        return False
