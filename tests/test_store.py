"""The results cache: written per cell, resumable, damaged lines dropped and rebuilt."""

from __future__ import annotations

from pathlib import Path

from runner.run.store import Store, cache_key


def test_put_get_and_key_mismatch(tmp_path: Path) -> None:
    store = Store(tmp_path / "cells.jsonl")
    key = cache_key("a", "b", "c", "d")
    store.put(("s", "h5", "r", "r"), key, [{"option": "default", "outcome": "ok"}])
    again = Store(tmp_path / "cells.jsonl")
    assert again.get(("s", "h5", "r", "r"), key) == [{"option": "default", "outcome": "ok"}]
    assert again.get(("s", "h5", "r", "r"), cache_key("a", "b", "c", "other harness")) is None


def test_damaged_lines_are_dropped_and_file_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "cells.jsonl"
    store = Store(path)
    key = cache_key("a", "b", "c", "d")
    store.put(("s", "h5", "r", "r"), key, [{"option": "default", "outcome": "ok"}])
    with open(path, "a") as handle:
        handle.write('{"cell": ["s", "keras", "r", "r"], "key": "x", "rec')  # a run killed mid-write
        handle.write("\n\x00\x00garbage\n")
    rebuilt = Store(path)
    rebuilt.load()
    assert rebuilt.dropped == 2
    assert rebuilt.get(("s", "h5", "r", "r"), key) is not None
    assert ("s", "keras", "r", "r") not in rebuilt.cells
    again = Store(path)
    again.load()
    assert again.dropped == 0


def test_a_failing_write_keeps_the_run_going(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    store = Store(blocked / "cells.jsonl")  # its folder cannot be created: every write fails
    key = cache_key("a", "b", "c", "d")
    store.put(("s", "h5", "r", "r"), key, [{"option": "default", "outcome": "ok"}])
    assert store.write_failed
    assert store.get(("s", "h5", "r", "r"), key) is not None
