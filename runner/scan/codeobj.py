"""A marshalled code object walked as data: its fields become plain bytes, strings and tuples.

``marshal.loads`` would build a code object from bytes an attacker controls (marshal is
documented as unsafe for untrusted data), so this module reads the marshal format itself
(Python/marshal.c: one type byte, FLAG_REF 0x80 from marshal version 3, then the value) and
keeps only what runner.scan.bytecode needs: the instructions, constants, names and free
variables. The code object's layout differs by CPython version (the int fields before
``co_code``, 3.11's localsplus), so each layout is a way of reading the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

# Code object layouts in marshal data, and the versions that write each one.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "3.11+": ("3.11", "3.12", "3.13"),
    "3.8-3.10": ("3.8", "3.9", "3.10"),
    "3.4-3.7": ("3.4", "3.5", "3.6", "3.7"),
    "2.7": ("2.7",),
}
_INTS = {"3.11+": 5, "3.8-3.10": 6, "3.4-3.7": 5, "2.7": 4}  # int32 fields before co_code
_CO_FAST_FREE = 0x80  # 3.11+: a localsplus name that is a free (closure) variable


class Unreadable(Exception):
    """The bytes are not a code object this module can read."""


@dataclass(frozen=True)
class Code:
    layout: str  # a key of LAYOUTS
    code: bytes
    code_at: int  # where co_code starts in the marshal data (-1: not known), for the repair search
    consts: tuple
    names: tuple[str, ...]
    nlocals: int | None  # len(co_varnames) up to 3.10; None from 3.11 (localsplus)
    freevars: tuple[str, ...]
    name: str


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


def parse(data: bytes, layout: str) -> tuple[Code | None, int]:
    """The code object of ``layout`` that takes exactly all of ``data``, or None and where reading broke."""
    reader = _Reader(data, layout)
    try:
        top = reader.obj()
    except (Unreadable, struct.error, RecursionError, OverflowError, MemoryError):
        return None, reader.pos
    if isinstance(top, Code) and reader.pos == len(data):
        return top, len(data)
    return None, reader.pos
