"""What a stored function's code reads, decoded without executing or unmarshalling it.

Keras keeps a Python function as ``marshal.dumps(func.__code__)``, base64-encoded from
Keras 2.1.2 on and, before that (Keras 1, Keras 2.0/2.1.1), as the marshal bytes decoded
with ``raw_unicode_escape``; Keras's own ``func_load`` tries base64 first and falls back
to the other. ``marshal.loads`` would build a code object from bytes an attacker controls
(marshal is documented as unsafe for untrusted data), so this module never calls it. It
walks the marshal format itself, as data (runner.scan.codeobj): the code object's fields become plain bytes,
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .codeobj import LAYOUTS as _LAYOUTS
from .codeobj import Code, Unreadable, parse

_TABLES: dict[str, dict[str, Any]] = json.loads((Path(__file__).parent / "data" / "opcodes.json").read_text())[
    "versions"
]
_ORDER = list(_TABLES)  # oldest first
_SLASH, _BACKSLASH = 0x2F, 0x5C
_REPAIR_STEPS, _REPAIR_TRIES = 24, 24  # bounds on the Windows repair search (each try is one parse)


class _Bad(Exception):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


@dataclass(frozen=True)
class StoredCode:
    """What a stored function reads that it does not define: globals (``t``, ``np``) and closure variables."""

    python: str  # the CPython versions whose bytecode this is, e.g. "3.8-3.10", "3.4-3.5", "2.7"
    name: str  # "<lambda>", or a named function's own name (Keras 2 stores named functions as bytecode too)
    globals: tuple[str, ...]
    freevars: tuple[str, ...]
    encoding: str = "base64"  # or "raw_unicode_escape" (Keras 1 / Keras 2.0)
    windows: bool = False  # saved on Windows: the stored bytes are corrupted (see the module docstring)


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
        code, _ = parse(data, layout)
        if code is not None:
            versions, _ = _versions(code)
            if versions:
                return code, versions
    return None


def _progress(data: bytes, layout: str) -> int:
    """How far reading ``data`` as ``layout`` gets; past the end when some version accepts all of it."""
    code, pos = parse(data, layout)
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
