"""Readers of the two array files digits come in, `.npz` archives and IDX files, that refuse
a decompression bomb or a lying header before they allocate: every size is checked from a
header first. Only numpy and the standard library, so they serve a machine without TensorFlow
or Keras (a JAX GPU box, say); what the arrays must hold is the caller's to check.
"""

import gzip
import math
import os
import zipfile
import zlib

import numpy as np

# The most any one array (an .npz member, an IDX file) may claim, checked from its header before
# anything is read: 8 GB is ten million digits of uint8, far beyond any MNIST-like set.
MAX_ARRAY_BYTES = 8_000_000_000
READ_CHUNK = 1 << 24  # bytes read from a member at a time
# A compressed array (a gzip IDX file, a deflated .npz member) that claims more than this must
# not claim more than MAX_RATIO times its compressed size: digits compress about 5:1 (MNIST's
# gzip files 4.7:1), so a bigger claim would inflate for minutes into gigabytes of nothing.
RATIO_CHECKED = 64_000_000
MAX_RATIO = 100


def _size(nbytes):
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000


def read_npz(path, names, fix, check_header=None):
    """({name: array or None}, all member names) from the .npz at `path`, without pickle.

    Each member's .npy header is read first, and its declared size is checked against a cap
    (MAX_ARRAY_BYTES), against what the archive says the member holds, and by
    `check_header(name, shape, dtype)` when given, before its body is read; nothing is
    allocated for a header that claims terabytes. Raises ValueError, naming the file and the
    member and ending with `fix` (what to pass instead), for anything that is not a readable
    numeric array.
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


def read_idx(path, fix):
    """Parses one IDX file (raw or .gz) of unsigned bytes into a numpy array. The header is
    checked (against MAX_ARRAY_BYTES, and a raw file's size) before the body is read. Raises
    ValueError, naming the file and ending with `fix`, for anything else."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[:3] != b"\x00\x00\x08":
                raise ValueError(f"{path} is not an unsigned-byte IDX file: {fix}")
            raw = f.read(4 * head[3])
            if len(raw) < 4 * head[3]:
                raise ValueError(
                    f"{path} is truncated inside its header: download it again, or {fix}"
                )
            dims = tuple(int.from_bytes(raw[i : i + 4], "big") for i in range(0, len(raw), 4))
            count = math.prod(dims)
            if count > MAX_ARRAY_BYTES:
                raise ValueError(
                    f"{path} claims {dims} bytes ({_size(count)}), more than the "
                    f"{_size(MAX_ARRAY_BYTES)} read at once: split the data, or {fix}"
                )
            if opener is gzip.open:  # from the compressed size, before inflating
                _check_ratio(path, dims, count, os.path.getsize(path), fix)
            if opener is open:
                size = os.fstat(f.fileno()).st_size - 4 - len(raw)
                if size != count:
                    raise ValueError(
                        f"{path} is {'truncated' if size < count else 'longer than its header'}: "
                        f"header says {dims}, file has {size} bytes; download it again, or {fix}"
                    )
            body = bytearray()  # streamed: never more than the header's claim (and 1 byte)
            while len(body) < count:
                chunk = f.read(min(READ_CHUNK, count - len(body)))
                if not chunk:
                    break
                body += chunk
            extra = f.read(1)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"cannot read IDX file {path} ({type(e).__name__}): {fix}") from None
    if len(body) != count or extra:
        raise ValueError(
            f"{path} is {'truncated' if len(body) < count else 'longer than its header'}: "
            f"header says {dims}, file has {len(body) + len(extra)}{'+' if extra else ''} bytes; "
            f"download it again, or {fix}"
        )
    return np.frombuffer(body, np.uint8).reshape(dims)
