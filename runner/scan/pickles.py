"""Pickle streams found by walking their opcodes as data: nothing is unpickled.

Unpickling runs whatever callable the stream names (``GLOBAL posix system`` + ``REDUCE``
is ``os.system(...)``), and ``np.load(..., allow_pickle=True)`` unpickles an ``.npz``
member that is not an array, or an object-dtype array. So scan looks for pickles in every
archive member and file a loader may open, and lists the globals each one imports. The
opcode table is pickle's own (``pickletools.opcodes``, protocols 0-5), written out here
so that nothing in the scan package imports pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

# Opcode byte -> how its argument is stored: a fixed byte count, "line" (up to a newline),
# "line2" (two lines: module and name), or "lenN" (an N-byte little-endian length, then that many bytes).
_ARGS: dict[int, int | str] = {
    **{ord(c): 0 for c in "NabdelotsuR0(12.Q)]}"},
    **{c: 0 for c in (0x85, 0x86, 0x87, 0x88, 0x89, 0x8F, 0x90, 0x91, 0x92, 0x93, 0x94, 0x81, 0x97, 0x98)},
    ord("I"): "line",
    ord("L"): "line",
    ord("S"): "line",
    ord("V"): "line",
    ord("F"): "line",
    ord("g"): "line",
    ord("p"): "line",
    ord("P"): "line",
    ord("c"): "line2",
    ord("i"): "line2",
    ord("J"): 4,
    ord("K"): 1,
    ord("M"): 2,
    ord("G"): 8,
    ord("h"): 1,
    ord("j"): 4,
    ord("q"): 1,
    ord("r"): 4,
    0x82: 1,
    0x83: 2,
    0x84: 4,
    0x80: 1,  # PROTO
    0x95: 8,  # FRAME
    0x8A: "len1",  # LONG1
    0x8B: "len4",  # LONG4
    ord("T"): "len4",
    ord("U"): "len1",
    ord("B"): "len4",
    ord("C"): "len1",
    0x8E: "len8",
    0x96: "len8",
    0x8C: "len1",  # SHORT_BINUNICODE
    ord("X"): "len4",
    0x8D: "len8",
}
_STRINGS = {0x8C, ord("X"), 0x8D, ord("V"), ord("T"), ord("U"), ord("S")}
_CALLS = {ord("R"): "REDUCE", ord("i"): "INST", ord("o"): "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", ord("b"): "BUILD"}
_PUTS = {ord("p"), ord("q"), ord("r"), 0x94}
_GETS = {ord("g"), ord("h"), ord("j")}
_MAX_GLOBALS = 64


@dataclass(frozen=True)
class Pickle:
    """A pickle stream: its protocol, the ``module.name`` globals it imports, and whether it calls any."""

    protocol: int
    globals: tuple[str, ...]
    calls: bool
    size: int  # bytes up to and including STOP


def sniff(data: bytes, start: int = 0) -> Pickle | None:
    """The pickle that starts at ``data[start]``, or None when the bytes are not one (a walk that meets an
    unknown opcode, runs past the end or never reaches STOP). Protocol 0/1 streams (no PROTO opcode) only
    count when they import or call something, so that text which happens to parse is not a pickle."""
    pos, protocol = start, 0
    found: list[str] = []
    strings: list[str] = []  # recent string pushes: STACK_GLOBAL takes its module and name from them
    memo: dict[int, str] = {}
    calls, memo_next = False, 0
    while pos < len(data):
        op = data[pos]
        kind = _ARGS.get(op)
        if kind is None:
            return None
        pos += 1
        arg = b""
        if isinstance(kind, int):
            if pos + kind > len(data):
                return None
            arg = data[pos : pos + kind]
            pos += kind
        elif kind in ("line", "line2"):
            for _ in range(2 if kind == "line2" else 1):
                end = data.find(b"\n", pos)
                if end < 0:
                    return None
                arg += data[pos : end + 1]
                pos = end + 1
        else:
            width = int(kind[3:])
            if pos + width > len(data):
                return None
            size = int.from_bytes(data[pos : pos + width], "little")
            pos += width
            if size > len(data) - pos:
                return None
            arg = data[pos : pos + size]
            pos += size
        if op == 0x80:
            protocol = arg[0]
            if protocol > 5 or pos - 2 != start:
                return None  # PROTO comes first, and pickle knows protocols 0-5
        elif op in (ord("c"), ord("i")):
            module, _, name = arg.decode("latin-1").rstrip("\n").partition("\n")
            found.append(f"{module}.{name}")
            calls = calls or op == ord("i")
        elif op == 0x93 and len(strings) >= 2:  # STACK_GLOBAL
            found.append(f"{strings[-2]}.{strings[-1]}")
        elif op in _STRINGS:
            strings = [*strings[-1:], arg.decode("utf-8", "replace").strip().strip("'\"")]
        elif op in _PUTS:
            index = memo_next if op == 0x94 else _memo_index(op, arg)
            memo_next += op == 0x94
            if strings and index is not None:
                memo[index] = strings[-1]
        elif op in _GETS:
            index = _memo_index(op, arg)
            if index in memo:
                strings = [*strings[-1:], memo[index]]
        if op in _CALLS:
            calls = True
        if op == ord("."):
            if protocol < 2 and not (found or calls):
                return None
            return Pickle(protocol, tuple(dict.fromkeys(found))[:_MAX_GLOBALS], calls, pos - start)
    return None


def _memo_index(op: int, arg: bytes) -> int | None:
    if op in (ord("p"), ord("g")):
        text = arg.strip()
        return int(text) if text.isdigit() else None
    return int.from_bytes(arg, "little")


# Globals whose call touches the system: a pickle naming one is hostile, not just unsafe.
_HOSTILE_MODULES = {"os", "posix", "nt", "subprocess", "socket", "shutil", "sys", "pty", "commands", "runpy"}
_HOSTILE_BUILTINS = {"eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "breakpoint", "input"}


def hostile(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    root = module.split(".")[0]
    return root in _HOSTILE_MODULES or (root in ("builtins", "__builtin__") and attr in _HOSTILE_BUILTINS)


def describe(found: Pickle) -> str:
    """One line: protocol, what it imports (the hostile ones first) and whether it calls them."""
    names = sorted(found.globals, key=lambda n: (not hostile(n), n))
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    danger = [n for n in names if hostile(n)]
    what = f"imports {shown}" if names else "imports nothing"
    call = " and calls" if found.calls else ""
    head = f"a pickle (protocol {found.protocol}) that {what}{call}"
    return head + (f": unpickling it runs {danger[0]}" if danger and found.calls else "")
