"""The protocol buffer wire format, read as data (no protobuf package, no generated classes).

A SavedModel's ``saved_model.pb`` and ``keras_metadata.pb`` are read with this: only the
few fields scan needs, by number. Every length is checked against the buffer, so a file
that is not a protobuf (a Git LFS pointer, text, a truncated copy) is a :class:`WireError`
naming where it broke, never an IndexError or a silently short field.
"""

from __future__ import annotations

from collections.abc import Iterator


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise WireError(f"truncated varint at byte {pos}")
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of each field of one message; length-delimited values stay bytes."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        number, kind = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {start}")
        if kind == 0:
            value, pos = _varint(buf, pos)
            yield number, kind, value
        elif kind == 2:
            size, pos = _varint(buf, pos)
            if size > len(buf) - pos:
                raise WireError(f"field {number} at byte {start} claims {size} bytes, {len(buf) - pos} remain")
            yield number, kind, buf[pos : pos + size]
            pos += size
        elif kind in (1, 5):
            size = 8 if kind == 1 else 4
            if size > len(buf) - pos:
                raise WireError(f"fixed-width field {number} at byte {start} is cut short")
            yield number, kind, buf[pos : pos + size]
            pos += size
        else:  # 3/4 are proto2 groups (never written by TF), 6/7 do not exist
            raise WireError(f"wire type {kind} at byte {start}")


def message(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """All fields of one message (raises WireError before returning anything partial)."""
    return list(fields(buf))


def submessages(buf: bytes, number: int) -> list[bytes]:
    """The length-delimited values of field ``number`` (a repeated or single embedded message)."""
    return [v for n, k, v in fields(buf) if n == number and k == 2 and isinstance(v, bytes)]


def first(buf: bytes, number: int, default: bytes = b"") -> bytes:
    found = submessages(buf, number)
    return found[0] if found else default


def text(buf: bytes, number: int) -> str | None:
    """A string field, decoded as UTF-8 (replacing what is not)."""
    found = submessages(buf, number)
    return found[0].decode("utf-8", "replace") if found else None
