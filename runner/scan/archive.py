"""A ``.keras`` zip's members, read as data: duplicates, pickles, ``.npz`` arrays of object dtype.

Which copy of a duplicated member a reader takes: Python's ``zipfile`` (and so Keras's
``saving_lib`` and ``np.load`` on an ``.npz``) keeps the *last* central-directory entry of a
name (``ZipFile.NameToInfo`` is filled in order), while a tool that extracts entries in
order (``unzip``, most scanners that walk the entries) ends with either copy, or asks. So
every copy is checked, and the vector names the one Keras reads.

``np.load(f, allow_pickle=True)`` (Keras 3.0-3.8's ``.npz`` weights store; fixed in 3.9.0)
unpickles a file that is neither a zip nor an ``.npy``, and an ``.npy`` array whose dtype
holds objects; both are found here without unpickling (runner.scan.pickles).
"""

from __future__ import annotations

import ast
import io
import zipfile
from collections import Counter
from dataclasses import dataclass

from .pickles import Pickle, describe, sniff
from .vectors import Vector

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
READ_LIMIT = 256 * 1024 * 1024  # a member bigger than this is not read whole (a zip bomb must not hang scan)
_HEADER_LIMIT = 65536  # numpy itself refuses .npy headers over 10000 bytes unless told otherwise
_NPZ_DEPTH = 2


@dataclass(frozen=True, kw_only=True)
class Copy:
    name: str
    index: int  # position among the entries that share the name (1-based)
    copies: int
    taken: bool  # the copy zipfile (Keras, numpy) returns for this name


def copies(z: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, Copy]]:
    infos = z.infolist()
    counts = Counter(i.filename for i in infos)
    seen: Counter[str] = Counter()
    out = []
    for info in infos:
        seen[info.filename] += 1
        taken = z.NameToInfo.get(info.filename) is info
        copy = Copy(name=info.filename, index=seen[info.filename], copies=counts[info.filename], taken=taken)
        out.append((info, copy))
    return out


_HEAD = 64
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Bytes a pickle can start with (pickletools.opcodes' codes): PROTO, or a protocol 0/1 opcode.
_PICKLE_FIRST = frozenset(b"(.0125FGIJKLMNPQRSTUVXabcdeghijlopqrstu}])\x80\x8c\x95")


def _worth_reading(head: bytes) -> bool:
    """Whether a member may hold a pickle, an .npy or a nested zip (weights in HDF5 and JSON files are
    skipped after their first bytes, so a big model's weights are not read whole)."""
    if not head or head.startswith(_HDF5_MAGIC):
        return False
    return head.startswith((NPY_MAGIC, ZIP_MAGIC)) or head[0] in _PICKLE_FIRST


def read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = READ_LIMIT) -> bytes:
    with z.open(info) as f:
        return f.read(limit)


def npy_descr(data: bytes) -> object | None:
    """The ``descr`` of an ``.npy`` header (its dtype), read as a Python literal the way numpy does
    (``ast.literal_eval``, which evaluates no code); None when ``data`` is not an ``.npy``."""
    if not data.startswith(NPY_MAGIC) or len(data) < 10:
        return None
    major = data[6]
    width = 2 if major == 1 else 4
    size = int.from_bytes(data[8 : 8 + width], "little")
    if size > _HEADER_LIMIT or 8 + width + size > len(data):
        return None
    header = data[8 + width : 8 + width + size].decode("latin-1")
    try:
        parsed = ast.literal_eval(header)
    except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
        return None
    return parsed.get("descr") if isinstance(parsed, dict) else None


def holds_objects(descr: object, depth: int = 0) -> bool:
    """Whether a numpy dtype description has object fields ('|O', or a structured dtype holding one)."""
    if depth > 32:
        return False
    if isinstance(descr, str):
        return descr.lstrip("<>|=")[:1] == "O"
    if isinstance(descr, list | tuple):
        return any(holds_objects(part, depth + 1) for part in descr)
    return False


def _label(copy: Copy) -> str:
    if copy.copies == 1:
        return copy.name
    which = "the copy Keras reads" if copy.taken else "a copy Keras does not read"
    return f"{copy.name} (copy {copy.index} of {copy.copies}, {which})"


def _pickle_note(found: Pickle, name: str) -> str:
    via = (
        "; np.load(allow_pickle=True) in Keras 3.0-3.8's .npz weights store unpickles it"
        if name.endswith((".npz", ".npy"))
        else ""
    )
    return describe(found) + via


def scan_bytes(data: bytes, label: str, name: str, notes: list[str], depth: int = 0) -> list[Vector]:
    """Vectors in one member's bytes: a pickle, an object-dtype .npy, and the same inside a nested .npz."""
    out: list[Vector] = []
    found = sniff(data)
    if found is not None:
        out.append(Vector(kind="pickle", where=label, note=_pickle_note(found, name)))
        return out
    descr = npy_descr(data)
    if descr is not None and holds_objects(descr):
        start = data.find(b"\x80", 10)
        inner = sniff(data, start) if start >= 0 else None
        what = describe(inner) if inner else "a pickle"
        out.append(
            Vector(
                kind="npz_object",
                where=label,
                note=f"an .npy array of object dtype {descr!r}: its data is {what}, unpickled by "
                "np.load(allow_pickle=True) (Keras 3.0-3.8's .npz weights store)",
            )
        )
    if data.startswith(ZIP_MAGIC) and depth < _NPZ_DEPTH:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as inner_zip:
                out += scan_archive(inner_zip, notes, prefix=f"{label}:", depth=depth + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
            pass  # not a readable nested zip: the outer member is only data
    return out


def scan_archive(z: zipfile.ZipFile, notes: list[str], prefix: str = "", depth: int = 0) -> list[Vector]:
    """Every vector in a zip's members, each copy of a duplicated name checked; members that cannot be
    read are added to ``notes``."""
    out: list[Vector] = []
    entries = copies(z)
    for name, count in Counter(c.name for _, c in entries).items():
        if count > 1:
            last = max(c.index for _, c in entries if c.name == name)
            out.append(
                Vector(
                    kind="duplicate_member",
                    where=f"{prefix}{name}",
                    note=f"{count} members named {name!r}: zipfile, and so every Keras that reads .keras zips "
                    f"(tf.keras 2.13+, Keras 3) and np.load on an .npz, reads copy {last} of {count} (the last); "
                    "a tool that walks the entries in order may check another",
                )
            )
    for info, copy in entries:
        if info.is_dir():
            continue
        try:
            data = read_member(z, info, _HEAD)
            if _worth_reading(data) and info.file_size > len(data):
                data = read_member(z, info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            notes.append(f"member {prefix}{_label(copy)} cannot be read ({exc}): not checked")
            continue
        out += scan_bytes(data, f"{prefix}{_label(copy)}", copy.name, notes, depth)
    return out
