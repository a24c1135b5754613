"""What a stored function's code reads, decoded without executing or unmarshalling it.

Keras keeps a Python function as ``marshal.dumps(func.__code__)``, base64-encoded from
Keras 2.1.2 on and, before that (Keras 1, Keras 2.0/2.1.1), as the marshal bytes decoded
with ``raw_unicode_escape``; Keras's own ``func_load`` tries base64 first and falls back
to the other. ``marshal.loads`` would build a code object from bytes an attacker controls
(marshal is documented as unsafe for untrusted data), so this module never calls it. It
walks the marshal format itself, as data: the code object's fields become plain bytes,
strings and tuples, and the bytecode is scanned for the instructions that read a global.

Which CPython wrote it: the layout of the code object narrows it to a family (2.7;
3.4-3.7; 3.8-3.10; 3.11+), and then every instruction of every nested code object must be
one that version defines (``data/opcodes.json``, from each interpreter's ``dis.opmap``),
with name, constant and local indexes in range and, from 3.11, ``RESUME`` in its place.
That is what tells 3.4/3.5 (1- or 3-byte instructions, same header as 3.6/3.7) from 3.6+
wordcode. Anything no version accepts is reported as unknown, never guessed, except one
known corruption: tf.keras's and Keras 3's ``func_dump`` replace every backslash byte with
``/`` when ``os.name == "nt"``; when turning some ``/`` bytes back into backslashes yields
valid code, the function was saved on Windows and its stored bytes cannot run anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TABLES: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "data" / "opcodes.json").read_text())[
    "versions"
]
_ORDER = list(_TABLES)  # oldest first
# Code object layouts in marshal data, and the versions that write each one.
_LAYOUTS: dict[str, tuple[str, ...]] = {
    "3.11+": ("3.11", "3.12", "3.13"),
    "3.8-3.10": ("3.8", "3.9", "3.10"),
    "3.4-3.7": ("3.4", "3.5", "3.6", "3.7"),
    "2.7": ("2.7",),
}
_INTS = {"3.11+": 5, "3.8-3.10": 6, "3.4-3.7": 5, "2.7": 4}  # int32 fields before co_code
_CO_FAST_FREE = 0x80  # 3.11+: a localsplus name that is a free (closure) variable
_SLASH, _BACKSLASH = 0x2F, 0x5C
_REPAIR_STEPS, _REPAIR_TRIES = 24, 24  # bounds on the Windows repair search (each try is one parse)


class Unreadable(Exception):
    """The bytes are not a code object this module can read."""


class _Bad(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


@dataclass(frozen=True)
class Code:
    layout: str  # a key of _LAYOUTS
    code: bytes
    code_at: int  # where co_code starts in the marshal data (-1: not known), for the repair search
    consts: tuple
    names: tuple[str, ...]
    nlocals: int | None  # len(co_varnames) up to 3.10; None from 3.11 (localsplus)
    freevars: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class StoredCode:
    """What a stored function reads that it does not define: globals (``t``, ``np``) and closure variables."""

    python: str  # the CPython versions whose bytecode this is, e.g. "3.8-3.10", "3.4-3.5", "2.7"
    name: str  # "<lambda>", or a named function's own name (Keras 2 stores named functions as bytecode too)
    globals: tuple[str, ...]
    freevars: tuple[str, ...]
    encoding: str = "base64"  # or "raw_unicode_escape" (Keras 1 / Keras 2.0)
    windows: bool = False  # saved on Windows: the stored bytes are corrupted (see the module docstring)


class _Reader:
    def __init__(self, data: bytes, layout: str) -> None:
        self.data, self.pos, self.layout = data, 0, layout
        self.refs: list[Any] = []
        self.interned: list[str] = []  # Python 2's 't' strings, which 'R' refers back to
        self.bytes_at = -1

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Unreadable("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int32(self) -> int:
        return int(struct.unpack("<i", self.take(4))[0])

    def obj(self) -> Any:
        byte = self.take(1)[0]
        py2 = self.layout == "2.7"  # marshal version 2: no FLAG_REF bit
        flag, kind = (0, chr(byte)) if py2 else (byte & 0x80, chr(byte & 0x7F))
        slot = None
        if flag:
            slot = len(self.refs)
            self.refs.append(None)
        value = self._value(kind, py2)
        if slot is not None:
            self.refs[slot] = value
        return value

    def _value(self, kind: str, py2: bool) -> Any:
        simple = {"N": None, "F": False, "T": True, ".": Ellipsis, "S": StopIteration}
        if kind in simple:
            return simple[kind]
        if kind == "i":
            return self.int32()
        if kind == "I" and py2:
            return int(struct.unpack("<q", self.take(8))[0])
        if kind == "l":
            n = self.int32()
            digits = [struct.unpack("<H", self.take(2))[0] for _ in range(abs(n))]
            value = sum(d << (15 * i) for i, d in enumerate(digits))
            return -value if n < 0 else value
        if kind == "g":
            return struct.unpack("<d", self.take(8))[0]
        if kind == "y":
            return complex(*struct.unpack("<dd", self.take(16)))
        if kind in "fx":
            return self.take(self.take(1)[0]).decode("ascii", "replace")
        if kind == "s":
            size = self.int32()
            self.bytes_at = self.pos
            return self.take(size)
        if kind == "t":
            text = self.take(self.int32()).decode("utf-8", "replace")
            if py2:
                self.interned.append(text)
            return text
        if kind == "R" and py2:
            index = self.int32()
            if not 0 <= index < len(self.interned):
                raise Unreadable("bad string reference")
            return self.interned[index]
        if kind in "aA":
            return self.take(self.int32()).decode("latin-1")
        if kind == "u":
            return self.take(self.int32()).decode("utf-8", "replace")
        if kind in "zZ":
            return self.take(self.take(1)[0]).decode("latin-1")
        if kind in "([<>":
            return tuple(self.obj() for _ in range(self.int32()))
        if kind == ")":
            return tuple(self.obj() for _ in range(self.take(1)[0]))
        if kind == "{":
            items = []
            while self.data[self.pos : self.pos + 1] != b"0":
                items.append((self.obj(), self.obj()))
            self.take(1)
            return tuple(items)
        if kind == "r" and not py2:
            index = self.int32()
            if not 0 <= index < len(self.refs):
                raise Unreadable("bad reference")
            return self.refs[index]
        if kind == "c":
            return self._code()
        raise Unreadable(f"marshal type {kind!r}")

    def _code(self) -> Code:
        for _ in range(_INTS[self.layout]):
            self.int32()
        self.bytes_at = -1
        code = self.obj()
        code_at = self.bytes_at
        consts, names = self.obj(), self.obj()
        nlocals: int | None = None
        if self.layout == "3.11+":
            plus_names, plus_kinds = self.obj(), self.obj()
            self.obj(), self.obj()  # filename, name
            name = self.obj()  # qualname
            self.int32()  # firstlineno
            self.obj(), self.obj()  # linetable, exceptiontable
            if not isinstance(plus_kinds, bytes) or not isinstance(plus_names, tuple):
                raise Unreadable("not a 3.11+ code object")
            if len(plus_kinds) != len(plus_names):
                raise Unreadable("not a 3.11+ code object")
            freevars = tuple(n for n, k in zip(plus_names, plus_kinds, strict=True) if k & _CO_FAST_FREE)
        else:
            varnames = self.obj()
            freevars = self.obj()
            self.obj(), self.obj()  # cellvars, filename
            name = self.obj()
            self.int32()  # firstlineno
            self.obj()  # lnotab / linetable
            nlocals = len(varnames) if isinstance(varnames, tuple) else -1
        if not (isinstance(code, bytes) and isinstance(names, tuple) and all(isinstance(n, str) for n in names)):
            raise Unreadable("not a code object")
        if not isinstance(consts, tuple) or not isinstance(freevars, tuple):
            raise Unreadable("not a code object")
        return Code(self.layout, code, code_at, consts, names, nlocals, tuple(map(str, freevars)), str(name))


def _instructions(code: bytes, table: dict[str, Any]) -> Iterator[tuple[int, int, int]]:
    """``(offset, opcode, argument)``; EXTENDED_ARG folded in; _Bad(offset) where the stream breaks."""
    extended = table["ops"]["EXTENDED_ARG"]
    ext, i = 0, 0
    if table["wordcode"]:
        if len(code) % 2:
            raise _Bad(len(code) - 1)
        for i in range(0, len(code), 2):
            op, arg = code[i], code[i + 1] | ext
            ext = arg << 8 if op == extended else 0
            yield i, op, arg
        return
    while i < len(code):  # before 3.6: 1 byte, or 3 with a 16-bit argument
        op = code[i]
        if op < table["have_argument"]:
            yield i, op, 0
            i += 1
            continue
        if i + 3 > len(code):
            raise _Bad(i)
        arg = code[i + 1] | code[i + 2] << 8 | ext
        ext = arg << 16 if op == extended else 0
        yield i, op, arg
        i += 3


def _check(code: Code, version: str) -> None:
    """_Bad(absolute offset) unless ``code`` (and every code object nested in it) is ``version``'s bytecode."""
    table = _TABLES[version]
    defined, hasname, hasconst, haslocal = (
        set(table["defined"]),
        set(table["hasname"]),
        set(table["hasconst"]),
        set(table["haslocal"]),
    )
    base = max(code.code_at, 0)
    modern = code.layout == "3.11+"
    ops = table["ops"]
    prologue = {ops.get("COPY_FREE_VARS"), ops.get("MAKE_CELL")}  # 3.11+: all that may come before RESUME
    try:
        instructions = list(_instructions(code.code, table))
    except _Bad as exc:
        raise _Bad(base + exc.pos) from None
    seen_resume = not modern
    for offset, op, arg in instructions:
        bad = op not in defined
        if modern:
            bad = bad or (op == ops["LOAD_GLOBAL"] and arg >> 1 >= len(code.names))
            bad = bad or (not seen_resume and op != ops["RESUME"] and op not in prologue)
            seen_resume = seen_resume or op == ops["RESUME"]
        else:  # up to 3.10 every index is a plain argument
            bad = bad or (op in hasname and arg >= len(code.names)) or (op in hasconst and arg >= len(code.consts))
            bad = bad or (op in haslocal and code.nlocals is not None and arg >= code.nlocals)
        if bad:
            raise _Bad(base + offset)
    if not seen_resume:
        raise _Bad(base)
    for const in code.consts:
        if isinstance(const, Code):
            _check(const, version)


def _globals(code: Code, version: str) -> list[str]:
    table = _TABLES[version]
    load_global, load_name = table["ops"]["LOAD_GLOBAL"], table["ops"]["LOAD_NAME"]
    shifted = code.layout == "3.11+"  # 3.11+: LOAD_GLOBAL's argument is (index << 1) | push-NULL bit
    found: list[str] = []
    for _, op, arg in _instructions(code.code, table):
        if op in (load_global, load_name):
            index = arg >> 1 if shifted and op == load_global else arg
            if 0 <= index < len(code.names) and code.names[index] not in found:
                found.append(code.names[index])
    for const in code.consts:  # comprehensions and nested lambdas
        if isinstance(const, Code):
            found += [n for n in _globals(const, version) if n not in found]
    return found


def _parse(data: bytes, layout: str) -> tuple[Code | None, int]:
    """The code object of ``layout`` that takes exactly all of ``data``, or None and where reading broke."""
    reader = _Reader(data, layout)
    try:
        top = reader.obj()
    except (Unreadable, struct.error, RecursionError, OverflowError, MemoryError):
        return None, reader.pos
    if isinstance(top, Code) and reader.pos == len(data):
        return top, len(data)
    return None, reader.pos


def _versions(code: Code) -> tuple[list[str], int]:
    """The versions ``code`` is valid bytecode of, and (when none) the furthest offset any reached."""
    ok, furthest = [], 0
    for version in _LAYOUTS[code.layout]:
        try:
            _check(code, version)
        except _Bad as exc:
            furthest = max(furthest, exc.pos)
            continue
        ok.append(version)
    return ok, furthest


def _read(data: bytes) -> tuple[Code, list[str]] | None:
    for layout in _LAYOUTS:
        code, _ = _parse(data, layout)
        if code is not None:
            versions, _ = _versions(code)
            if versions:
                return code, versions
    return None


def _progress(data: bytes, layout: str) -> int:
    """How far reading ``data`` as ``layout`` gets; past the end when some version accepts all of it."""
    code, pos = _parse(data, layout)
    if code is None:
        return pos
    versions, furthest = _versions(code)
    return len(data) + 1 if versions else furthest


def _repair(data: bytes) -> bytes | None:
    """The bytes before Windows' backslash-to-slash replacement, when flipping ``/`` bytes back yields code
    some version accepts; None otherwise. Per layout, a greedy search: flip the ``/`` (at or before where
    reading breaks) that lets reading get furthest, until it reads to the end or nothing helps."""
    for layout in _LAYOUTS:
        current = bytearray(data)
        for _ in range(_REPAIR_STEPS):
            reached = _progress(bytes(current), layout)
            if reached > len(current):
                return bytes(current)
            slashes = [i for i in range(min(reached, len(current) - 1), -1, -1) if current[i] == _SLASH]
            gains = []
            for i in slashes[:_REPAIR_TRIES]:
                current[i] = _BACKSLASH
                gained = _progress(bytes(current), layout)
                current[i] = _SLASH
                if gained > reached:
                    gains.append((gained, i))
            if not gains:
                break
            current[max(gains)[1]] = _BACKSLASH
    return None


def version_range(versions: list[str]) -> str:
    """``["3.8", "3.9", "3.10"]`` -> ``"3.8-3.10"``; non-adjacent versions are listed."""
    if not versions:
        return "unknown"
    idx = sorted(_ORDER.index(v) for v in versions)
    if idx == list(range(idx[0], idx[-1] + 1)):
        return _ORDER[idx[0]] if len(idx) == 1 else f"{_ORDER[idx[0]]}-{_ORDER[idx[-1]]}"
    return ", ".join(_ORDER[i] for i in idx)


def _encodings(encoded: str) -> list[tuple[str, bytes]]:
    """The byte strings ``func_load`` would try, in its order: base64, then raw_unicode_escape."""
    out = []
    try:
        out.append(("base64", base64.b64decode(encoded.encode("ascii"), validate=False)))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        pass
    try:
        out.append(("raw_unicode_escape", encoded.encode("raw_unicode_escape")))
    except UnicodeEncodeError:
        pass
    return out


def parse_code(data: bytes) -> Code:
    """The code object in ``data`` (marshal bytes), as plain data; Unreadable if no version accepts it."""
    found = _read(data)
    if found is None:
        raise Unreadable("not CPython 2.7 or 3.4-3.13 bytecode")
    return found[0]


def stored_code(encoded: str) -> StoredCode:
    """The globals and closure variables of a Keras-stored function (its base64 or raw_unicode_escape string)."""
    if not isinstance(encoded, str):
        raise Unreadable("the stored code is not a string")
    candidates = _encodings(encoded)
    for encoding, raw in candidates:
        found = _read(raw)
        if found is not None:
            return _stored(found, encoding, windows=False)
    for encoding, raw in candidates:
        # Only base64 dumps were mangled: func_dump's os.name == "nt" branch is tf.keras / Keras 3 code.
        if encoding == "base64" and _BACKSLASH not in raw and _SLASH in raw:
            repaired = _repair(raw)
            found = _read(repaired) if repaired is not None else None
            if found is not None:
                return _stored(found, encoding, windows=True)
    raise Unreadable("not CPython 2.7 or 3.4-3.13 bytecode (neither base64 nor raw_unicode_escape marshal data)")


def _stored(found: tuple[Code, list[str]], encoding: str, *, windows: bool) -> StoredCode:
    code, versions = found
    names: list[str] = []
    for version in versions:  # one version's reading, or both widths when 3.4/3.5 and 3.6/3.7 both fit
        names += [n for n in _globals(code, version) if n not in names]
    name = code.name.rsplit(".", 1)[-1]  # 3.11+ keeps the qualified name: build.<locals>.<lambda>
    return StoredCode(
        python=version_range(versions),
        name=name,
        globals=tuple(names),
        freevars=code.freevars,
        encoding=encoding,
        windows=windows,
    )


def versions_of(label: str | None) -> list[str]:
    """The versions a :func:`version_range` label stands for (``"3.8-3.10"`` -> ``["3.8", "3.9", "3.10"]``)."""
    out: list[str] = []
    for part in (label or "").split(", "):
        lo, _, hi = part.partition("-")
        if lo in _ORDER and (hi or lo) in _ORDER:
            out += _ORDER[_ORDER.index(lo) : _ORDER.index(hi or lo) + 1]
    return out
