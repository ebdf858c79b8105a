"""A folder of your own images as training data, checked file by file (`CheckedFolder`);
`dcgan.trainset` streams it.

A folder is read as Keras's `image_dataset_from_directory` reads one: its extensions, its
subfolders (sorted by name) as classes, a folder without subfolders as one unlabelled set. It
is not read *by* that function: that decodes with TensorFlow's decoders inside the pipeline,
so a truncated JPEG stops a run mid-epoch, it reports nothing per file before training, and it
squashes every picture to a square. Here every file is opened and decoded once up front with
PIL, one at a time, so bad files are named before anything is written; only paths stay in
memory, and each image is decoded, converted and resized again as the pipeline reaches it.

What is read: regular files with those extensions, decoded only by the decoders of those
formats (whatever the content, no other PIL plugin runs: EPS would start Ghostscript), of at
most MAX_PIXELS; class folders whose names are UTF-8 without control characters. Hidden entries
and dcgan run folders (a run's samples are not training data) are left out, said once.
"""

import contextlib
import errno
import hashlib
import os
from pathlib import Path
import stat
import unicodedata
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from dcgan import datasets

# image_dataset_from_directory's ALLOWLIST_FORMATS, and the PIL decoders of those formats: the
# only ones a file is given to, whatever its extension says.
FORMATS = datasets.IMAGE_SUFFIXES
PIL_FORMATS = ("BMP", "GIF", "JPEG", "PNG")
# The most pixels an image may have (read from its header, before decoding): 40 megapixels are
# 160 MB decoded as RGBA, several times any picture the nets' 64x64 needs. Larger files are
# skipped like unreadable ones.
MAX_PIXELS = 40_000_000
# A big image is shrunk by a whole factor (PIL's `reduce`, cheap) to at least this many times
# the target size before it is converted and resized.
REDUCING_GAP = 3
IDX_HINT = "train-images-idx3-ubyte[.gz]"
FIX = (
    "pass --data a folder of images (subfolders for classes), a folder of MNIST IDX files or a "
    "Keras-format .npz"
)
# Files checked before the count is said aloud: a big folder takes a while to check.
SAY_COUNT_FROM = 10_000
SHOWN_CLASSES = 6  # class names the banner lists before "..."


def _loop(link):
    return ValueError(
        f"{link} is a symlink loop: it leads back to {os.path.realpath(link)}, a folder it is "
        "in, so the images under it never end: remove the link or point it elsewhere"
    )


class Skipped:
    """What a scan of the folder leaves out besides non-image files, said once (`notes`):
    files that are not regular files (a FIFO or a device would block the check), dcgan run
    folders, and hidden folders."""

    def __init__(self):
        self.special, self.runs, self.hidden = [], [], []

    def notes(self, folder):
        out = []
        if self.special:
            out.append(
                f"note: left out {len(self.special):,} image name(s) under {shown(folder)} that "
                f"are not regular files (first {shown(self.special[0])}): only files are read"
            )
        if self.runs:
            out.append(
                f"note: left out {len(self.runs):,} dcgan run folder(s) under {shown(folder)} "
                f"(first {shown(self.runs[0])}): a run's samples are not training data"
            )
        if self.hidden:
            out.append(
                f"note: left out hidden folder(s) {', '.join(map(shown, self.hidden[:3]))}"
                f"{', ...' if len(self.hidden) > 3 else ''} in {shown(folder)}: names starting "
                'with "." are not read'
            )
        return out


def is_run_folder(path):
    """True for a folder holding a dcgan run: settings (its config.json, or run.json beside a
    shipped model) that read as a run's."""
    config = datasets.run_config(Path(path) / "config.json")
    return config is not None and {"epochs", "batch_size", "out"} <= config.keys()


def find_images(folder, above=(), skipped=None):
    """Image files under `folder`, sorted, following symlinked folders but never round a loop
    (ValueError naming the link); `above`: the (device, inode) of the folders `folder` is in.
    A link that leads nowhere is kept, so the check counts it as unreadable; names starting
    with "." are left out (macOS's "._x.jpg" are not images), and so are image names that are
    not regular files and dcgan run folders (recorded in `skipped`, a `Skipped`)."""
    skipped = Skipped() if skipped is None else skipped
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
                if _is_dir(e):
                    skipped.hidden.append(Path(e.path))
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
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) in above:
                    raise _loop(path)
                if is_run_folder(path):
                    skipped.runs.append(path)
                else:
                    stack.append((path, above))
            elif image and stat.S_ISREG(st.st_mode):
                found.append(path)
            elif image:
                skipped.special.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def shown(path):
    """`path` as one line of text that any file takes: bytes that are not UTF-8, and control
    characters (a newline would forge a line of the log), escaped."""
    text = os.fsdecode(path).encode("utf-8", "backslashreplace").decode()
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _reason(e):
    text = str(e).splitlines()[0][:100] if str(e) else ""
    return text or type(e).__name__


@contextlib.contextmanager
def _open(path):
    """(PIL's lazy image, the open file) of the image at `path`: a regular file (anything else
    raises, never blocks), decoded only as one of PIL_FORMATS, of at most MAX_PIXELS."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        try:
            with warnings.catch_warnings():  # PIL's bomb warning: MAX_PIXELS is lower, and said
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(f, formats=PIL_FORMATS)
        except UnidentifiedImageError:
            raise ValueError(f"not a {', '.join(PIL_FORMATS)} image") from None
        with im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ValueError(
                    f"{w}x{h} is over the {MAX_PIXELS // 1_000_000}-megapixel limit: scale it down"
                )
            yield im, f


def read_image(path, size, channels):
    """uint8 (size, size, channels): the image at `path` (as `_open` takes it) decoded with
    PIL (the first frame of an animation), turned upright by its EXIF orientation, made grey or
    RGB with any transparency laid over black (the nets' background, as in MNIST),
    centre-cropped to a square (a stretched face or digit is a different picture) and
    resized."""
    with _open(path) as (im, _):
        return _convert(im, size, channels)


def _convert(im, size, channels):
    mode = "L" if channels == 1 else "RGB"
    im.draft(mode, (size, size))  # a JPEG decodes at 1/2, 1/4 or 1/8 scale, if that is enough
    im.load()
    factor = min(im.size) // (REDUCING_GAP * size)
    if factor > 1:  # before any full-size copy: memory stays near the decoded file's
        try:
            im = im.reduce(factor)
        except ValueError:  # a mode reduce does not take (P, 1): converted at full size
            pass
    im = ImageOps.exif_transpose(im)  # a copy
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
    """(width, height, mode, has transparency, a hash of the file's bytes) of the image at
    `path`, after decoding it whole as training will; raises what PIL raises for a file it
    cannot read, ValueError for one `_open` refuses."""
    with _open(path) as (im, f):
        found = (*im.size, im.mode, has_alpha(im))
        _convert(im, size, channels)
        f.seek(0)
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(1 << 20), b""):  # hashlib.file_digest is 3.11+
            h.update(chunk)
        return (*found, h.digest())


class CheckedFolder:
    """A folder of images, checked file by file (module docstring): its paths, the class id of
    each, its class names, a description and a digest; an image is decoded only when asked
    for (`read`, `sample`)."""

    images = None  # never held in memory: only the paths are

    def __init__(self, folder, image_size=28, channels=1, log=print):
        self.folder, self.size, self.channels = Path(folder), image_size, channels
        self.source = str(folder)
        self.unreadable = []  # (path, reason) of files that failed while training: `read`
        skipped = Skipped()
        names, groups, loose = self._classes(skipped)
        if not any(groups):
            raise ValueError(
                f"{folder} has no {IDX_HINT} nor any image ({', '.join(FORMATS)}): {FIX}"
            )
        total = sum(map(len, groups))
        if total >= SAY_COUNT_FROM:
            log(f"checking {total:,} images under {folder} (each is decoded once)")
        paths, labels, sizes, modes, bad, hashes = [], [], [], {}, [], []
        alpha = False
        first_bad = {}  # class -> its first unreadable image
        for label, group in enumerate(groups):
            for path in group:
                try:
                    w, h, mode, a, content = _inspect(path, image_size, channels)
                except Exception as e:  # noqa: BLE001 (any undecodable file is skipped alike)
                    bad.append((path, _reason(e)))
                    first_bad.setdefault(label, bad[-1])
                    continue
                paths.append(str(path))
                hashes.append(content)
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
        for note in skipped.notes(folder):
            log(note)
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
                f"{shown(bad[0][0])} ({shown(bad[0][1])}); training on the other {self.count:,}"
            )
        self._digest = self._fingerprint(hashes)

    def _classes(self, skipped):
        """(class names or [], image paths per class, images left loose in the top folder);
        what is left out goes into `skipped`."""
        try:
            top = list(os.scandir(self.folder))
        except OSError as e:
            raise ValueError(f"cannot list {self.folder} ({e.strerror}): {FIX}") from None
        skipped.hidden += [Path(e.path) for e in top if e.name.startswith(".") and _is_dir(e)]
        top = [e for e in top if not e.name.startswith(".")]
        for e in top:
            if e.is_symlink() and _stat_error(e.path) == errno.ELOOP:
                raise _loop(e.path)
        runs = {e.name for e in top if _is_dir(e) and is_run_folder(e.path)}
        skipped.runs += [self.folder / n for n in sorted(runs)]
        names = sorted(e.name for e in top if _is_dir(e) and e.name not in runs)
        check_class_names(self.folder, names)
        if not names:
            return [], [find_images(self.folder, skipped=skipped)], 0
        # The folder and every folder it is in: a link to any of them leads round.
        real = self.folder.resolve()
        above = [(st.st_dev, st.st_ino) for st in map(os.stat, (real, *real.parents))]
        groups = []
        for name in names:
            sub = self.folder / name
            st = os.stat(sub)
            if (st.st_dev, st.st_ino) in above:
                raise _loop(sub)
            group = find_images(sub, above, skipped)
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
        where = shown(self.folder)
        if self.classes:
            names = ", ".join(self.classes[:SHOWN_CLASSES])
            more = ", ..." if len(self.classes) > SHOWN_CLASSES else ""
            first = f"{n} in {len(self.classes)} classes ({names}{more}) from {where}"
        else:
            first = f"{n}, unlabelled (no class subfolders), from {where}"
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
            lines.append(f"{len(bad):,} skipped as unreadable (first: {shown(bad[0][0])})")
        return ("\n" + " " * 15).join(lines)  # under the banner's "data" line

    def _fingerprint(self, hashes):
        """A hash of each image's path under the folder, class and content (`hashes`, taken
        as the check read it): what resume compares. A copy of the folder (`cp -r`, `touch`)
        is the same data; an edited, added or removed image is not."""
        h = hashlib.sha256()
        for path, label, content in zip(self.paths, self.class_ids, hashes):
            rel = os.fsencode(Path(os.fsdecode(path)).relative_to(self.folder).as_posix())
            h.update(rel + f"\0{label}\0".encode() + content + b"\n")
        return h.hexdigest()[:16]

    @property
    def digest(self):
        return self._digest

    def legacy_digest(self):
        """The digest runs before content hashing stored (paths, sizes, modification times
        and classes), so that they resume on the folder they trained on."""
        h = hashlib.sha256()
        for path, label in zip(self.paths, self.class_ids):
            st = os.stat(path)
            rel = os.fsencode(Path(os.fsdecode(path)).relative_to(self.folder).as_posix())
            h.update(rel + f"\0{st.st_size}\0{st.st_mtime_ns}\0{label}\n".encode())
        return h.hexdigest()[:16]

    def sample(self, n, seed=0, with_classes=False):
        """uint8 (m, size, size[, 3]): m = min(n, count) of the images, picked by `seed` and
        decoded as training decodes them: the real images `dcgan.evaluate` compares with; with
        `with_classes`, (images, their class ids)."""
        pick = np.random.default_rng(seed).permutation(self.count)[:n]
        x = np.stack(
            [read_image(os.fsdecode(self.paths[i]), self.size, self.channels) for i in pick]
        )
        x = x[..., 0] if self.channels == 1 else x
        return (x, self.class_ids[pick]) if with_classes else x

    def read(self, path):
        """The image at `path` (bytes, as `paths` holds them) decoded as `sample` decodes it; a
        file that fails is added to `unreadable`, for the run to name, and raises."""
        try:
            return read_image(os.fsdecode(path), self.size, self.channels)
        except Exception as e:  # noqa: BLE001 (named by the run, which then stops)
            self.unreadable.append((os.fsdecode(path), _reason(e)))
            raise


def check_class_names(folder, names):
    """ValueError naming the class folder unless every name can be written in a run's files and
    said on one line (UTF-8, no control characters) and no two are one name in different
    Unicode forms (NFC "café" and NFD "café" look alike everywhere they are shown)."""
    seen = {}
    for name in names:
        where = shown(Path(folder) / name)
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"class folder {where} has a name that is not UTF-8 text: rename it (class names "
                "are written into the run's files)"
            ) from None
        bad = [c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        if bad:
            raise ValueError(
                f"class folder {where} has a control character ({ascii(bad[0])}) in its name: "
                "rename it (class names are shown one per line)"
            )
        twin = seen.setdefault(unicodedata.normalize("NFC", name), name)
        if twin != name:
            raise ValueError(
                f"class folders {ascii(twin)} and {ascii(name)} in {shown(folder)} are one name "
                "in two Unicode forms (NFC and NFD): merge them into one, or rename one"
            )


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
