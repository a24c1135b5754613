"""What a stored Lambda's code reads, decoded without executing or unmarshalling it.

Keras keeps a Python lambda as ``base64(marshal.dumps(func.__code__))``. ``marshal.loads``
would build a code object from bytes an attacker controls (marshal is documented as
unsafe for untrusted data), so this module never calls it. It walks the marshal format
itself, as data: the code object's fields become plain bytes, strings and tuples, and
the bytecode is scanned for the instructions that read a global name.

Readable: code written by CPython 3.6 to 3.13. The layout of a code object tells
3.6-3.7, 3.8-3.10 and 3.11+ apart (the one that parses the bytes exactly is taken);
3.11/3.12 and 3.13 are told apart by the opcode of ``RESUME``. Anything else (another
interpreter, a newer CPython, a truncated string) is reported as unknown, never guessed.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Any

# Per bytecode family: (LOAD_GLOBAL, LOAD_NAME, EXTENDED_ARG, global index is arg >> 1).
# Read off dis.opmap of CPython 3.6-3.13 (pyenv interpreters on the build machine).
_OPCODES = {
    "3.6-3.10": (116, 101, 144, False),
    "3.11-3.12": (116, 101, 144, True),
    "3.13": (91, 92, 71, True),
}
_RESUME_311 = 151  # RESUME in 3.11 and 3.12 (3.13 renumbered it to 149)
_CO_FAST_FREE = 0x80  # 3.11+: a localsplus name that is a free (closure) variable


class Unreadable(Exception):
    """The bytes are not a code object this module can read."""


@dataclass(frozen=True)
class Code:
    layout: str  # "3.6-3.7", "3.8-3.10" or "3.11+"
    code: bytes
    consts: tuple
    names: tuple[str, ...]
    freevars: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class StoredCode:
    """What a stored lambda reads that it does not define: globals (``t``, ``np``) and closure variables."""

    python: str  # the CPython versions whose bytecode this is, e.g. "3.11-3.12"
    name: str  # "<lambda>", or a named function's own name (Keras 2 stores named functions as bytecode too)
    globals: tuple[str, ...]
    freevars: tuple[str, ...]


class _Reader:
    def __init__(self, data: bytes, layout: str) -> None:
        self.data, self.pos, self.layout, self.refs = data, 0, layout, []  # type: ignore[var-annotated]

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise Unreadable("truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int32(self) -> int:
        return int(struct.unpack("<i", self.take(4))[0])

    def obj(self) -> Any:
        code = self.take(1)[0]
        flag, kind = code & 0x80, chr(code & 0x7F)
        slot = None
        if flag:
            slot = len(self.refs)
            self.refs.append(None)
        value = self._value(kind)
        if slot is not None:
            self.refs[slot] = value
        return value

    def _value(self, kind: str) -> Any:
        simple = {"N": None, "F": False, "T": True, ".": Ellipsis, "S": StopIteration}
        if kind in simple:
            return simple[kind]
        if kind == "i":
            return self.int32()
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
            return self.take(self.int32())
        if kind in "ta":
            return self.take(self.int32()).decode("latin-1")
        if kind == "A":
            return self.take(self.int32()).decode("latin-1")
        if kind == "u":
            return self.take(self.int32()).decode("utf-8", "replace")
        if kind in "zZ":
            return self.take(self.take(1)[0]).decode("latin-1")
        if kind == "(" or kind == "[" or kind in "<>":
            return tuple(self.obj() for _ in range(self.int32()))
        if kind == ")":
            return tuple(self.obj() for _ in range(self.take(1)[0]))
        if kind == "{":
            items = []
            while self.data[self.pos : self.pos + 1] != b"0":
                items.append((self.obj(), self.obj()))
            self.take(1)
            return tuple(items)
        if kind == "r":
            index = self.int32()
            if not 0 <= index < len(self.refs):
                raise Unreadable("bad reference")
            return self.refs[index]
        if kind == "c":
            return self._code()
        raise Unreadable(f"marshal type {kind!r}")

    def _code(self) -> Code:
        ints = {"3.6-3.7": 5, "3.8-3.10": 6, "3.11+": 5}[self.layout]
        for _ in range(ints):
            self.int32()
        code, consts, names = self.obj(), self.obj(), self.obj()
        if self.layout == "3.11+":
            plus_names, plus_kinds = self.obj(), self.obj()
            self.obj(), self.obj()  # filename, name
            name = self.obj()  # qualname
            self.int32()  # firstlineno
            self.obj(), self.obj()  # linetable, exceptiontable
            if not isinstance(plus_kinds, bytes) or len(plus_kinds) != len(plus_names):
                raise Unreadable("not a 3.11+ code object")
            freevars = tuple(n for n, k in zip(plus_names, plus_kinds, strict=True) if k & _CO_FAST_FREE)
        else:
            self.obj()  # varnames
            freevars = self.obj()
            self.obj(), self.obj()  # cellvars, filename
            name = self.obj()
            self.int32()  # firstlineno
            self.obj()  # lnotab / linetable
        if not (isinstance(code, bytes) and isinstance(names, tuple) and all(isinstance(n, str) for n in names)):
            raise Unreadable("not a code object")
        return Code(self.layout, code, consts, names, tuple(freevars), str(name))


def parse_code(data: bytes) -> Code:
    """The code object in ``data`` (marshal bytes), as plain data; Unreadable if no layout fits exactly."""
    for layout in ("3.11+", "3.8-3.10", "3.6-3.7"):
        reader = _Reader(data, layout)
        try:
            top = reader.obj()
        except (Unreadable, struct.error, UnicodeDecodeError, RecursionError):
            continue
        if isinstance(top, Code) and reader.pos == len(data):
            return top
    raise Unreadable("not CPython 3.6-3.13 bytecode")


def _family(code: Code) -> str:
    if code.layout != "3.11+":
        return "3.6-3.10"
    first = code.code[0:6:2]  # RESUME is the first or (after COPY_FREE_VARS / MAKE_CELL) a following instruction
    return "3.11-3.12" if _RESUME_311 in first else "3.13"


def _globals(code: Code, family: str) -> list[str]:
    load_global, load_name, extended, shifted = _OPCODES[family]
    found: list[str] = []
    arg_ext = 0
    for i in range(0, len(code.code) - 1, 2):
        op, arg = code.code[i], code.code[i + 1] | arg_ext
        arg_ext = (arg << 8) if op == extended else 0
        if op in (load_global, load_name):
            index = arg >> 1 if shifted and op == load_global else arg
            if 0 <= index < len(code.names) and code.names[index] not in found:
                found.append(code.names[index])
    for const in code.consts:  # comprehensions and nested lambdas
        if isinstance(const, Code):
            found += [n for n in _globals(const, family) if n not in found]
    return found


def stored_code(encoded: str) -> StoredCode:
    """The globals and closure variables of a Keras-stored lambda (its base64 string)."""
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=False)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise Unreadable(f"not base64: {exc}") from None
    code = parse_code(raw)
    family = _family(code)
    python = {"3.6-3.7": "3.6-3.7", "3.8-3.10": "3.8-3.10"}.get(code.layout, family)
    name = code.name.rsplit(".", 1)[-1]  # 3.11+ keeps the qualified name: build.<locals>.<lambda>
    return StoredCode(python=python, name=name, globals=tuple(_globals(code, family)), freevars=code.freevars)
