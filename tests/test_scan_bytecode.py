"""Stored bytecode, read as data: which CPython wrote it, what it reads, and the Windows corruption.

Real bytecode comes from pyenv's interpreters (CPython 2.7 and 3.6-3.13 here; a version
that is missing is skipped). CPython 3.4/3.5 cannot be installed here: their code objects
are made by CPython 3.6's own marshal from ``types.CodeType`` with 3.5's 1- and 3-byte
instructions (tools/fixtures/corrupt.py does the same for the committed fixture).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.scan.bytecode import Unreadable, stored_code, version_range, versions_of
from runner.scan.reader import scan

MODELS = Path(__file__).parent / "fixtures" / "models"
VERSIONS = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

# Run by each interpreter: Keras's func_dump (marshal.dumps(code), base64 or raw_unicode_escape) of a few
# lambdas, and the names dis sees them load as globals. Valid Python 2.7 and 3.
DUMP = r"""
import base64, dis, json, marshal, sys
t = 3
def make(enc):
    return lambda x: enc(x) + t
def unpack(x):
    a, b = x
    return np.add(a, b)
def cells(a, b, c):
    return lambda: (a, b, c)
cases = {'scalar': lambda x: x[:, t, :], 'mixed': lambda x: np.sin(x) + tf.reduce_mean([i for i in range(k)]),
         'closure': make(len), 'simple': lambda x: x * 2, 'unpack': unpack, 'cells': cells(1, 2, 3)}
def code_of(f):
    return getattr(f, '__code__', None) or f.func_code
def seen(c):
    names = [i.argval for i in dis.get_instructions(c) if i.opname in ('LOAD_GLOBAL', 'LOAD_NAME')] \
        if hasattr(dis, 'get_instructions') else sorted(c.co_names)
    for k in c.co_consts:
        if hasattr(k, 'co_code'):
            names += seen(k)
    return names
out = {}
for k, f in cases.items():
    raw = marshal.dumps(code_of(f))
    out[k] = [base64.b64encode(raw).decode('ascii'), raw.decode('latin-1'), sorted(set(seen(code_of(f)))),
              list(code_of(f).co_freevars), code_of(f).co_name]
print(json.dumps(out))
"""


def _python(version: str) -> Path | None:
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return None
    done = subprocess.run([pyenv, "prefix", version], capture_output=True, text=True)
    if done.returncode:
        return None
    bin_dir = Path(done.stdout.strip().splitlines()[-1]) / "bin"
    for name in ("python3", "python"):
        if (bin_dir / name).exists():
            return bin_dir / name
    return None


@pytest.fixture(scope="module")
def dumps() -> dict[str, dict]:
    out = {}
    for version in VERSIONS:
        python = _python(version)
        if python is not None:
            done = subprocess.run([str(python), "-c", DUMP], capture_output=True, text=True, check=True)
            out[version] = json.loads(done.stdout)
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_real_bytecode_of_every_cpython_is_read_and_named(version: str, dumps: dict[str, dict]) -> None:
    if version not in dumps:
        pytest.skip(f"no CPython {version} here")
    for case, (b64, _, expected, freevars, name) in dumps[version].items():
        found = stored_code(b64)
        assert version in versions_of(found.python), (case, found.python)
        if version != "2.7":  # 2.7 has no dis.get_instructions: its globals are checked below
            assert sorted(found.globals) == expected, case
        assert list(found.freevars) == freevars and found.name == name, case
        assert found.encoding == "base64" and not found.windows


def test_python2_globals_are_the_names_it_loads(dumps: dict[str, dict]) -> None:
    if "2.7" not in dumps:
        pytest.skip("no CPython 2.7 here")
    found = {case: stored_code(b64) for case, (b64, *_) in dumps["2.7"].items()}
    assert found["mixed"].globals == ("np", "tf", "range", "k") and found["scalar"].globals == ("t",)
    assert found["closure"].freevars == ("enc",) and found["mixed"].python == "2.7"


def test_raw_unicode_escape_strings_are_read_like_keras_func_load(dumps: dict[str, dict]) -> None:
    """Keras 1 / 2.0's func_dump: marshal bytes decoded with raw_unicode_escape (here, as JSON stores them)."""
    if "3.6" not in dumps:
        pytest.skip("no CPython 3.6 here")
    for case, (_, latin1, expected, _, _) in dumps["3.6"].items():
        text = latin1.encode("latin-1").decode("raw_unicode_escape")
        found = stored_code(json.loads(json.dumps(text)))
        assert found.encoding == "raw_unicode_escape" and sorted(found.globals) == expected, case


def test_cpython_35_code_is_told_apart_from_36_wordcode() -> None:
    """Same code-object header as 3.6/3.7, 1- or 3-byte instructions: 3.4-3.5, not "3.6-3.7"."""
    facts = scan(MODELS / "py3.5-listform.h5")
    assert [(f.slot, f.python, f.globals) for f in facts.functions] == [
        ("function", "3.4-3.5", ["scale"]),
        ("output_shape", "3.4-3.5", []),
        ("function", "3.4-3.5", []),
    ]
    real = scan(MODELS / "keras2.0.8-py3.7-listform.h5")  # the file it was made from: CPython 3.7 wordcode
    assert {f.python for f in real.functions} == {"3.6-3.7"}


@pytest.mark.parametrize("version", ["3.6", "3.7", "3.8", "3.10", "3.11", "3.12"])
def test_windows_mangled_bytecode_is_found(version: str, dumps: dict[str, dict]) -> None:
    """func_dump on os.name == "nt" replaces every backslash byte with "/": the repaired code names the
    same globals; bytes that never held a backslash are not called corrupted."""
    if version not in dumps:
        pytest.skip(f"no CPython {version} here")
    for case, (b64, _, expected, _, _) in dumps[version].items():
        raw = base64.b64decode(b64)
        mangled = stored_code(base64.b64encode(raw.replace(b"\\", b"/")).decode())
        if b"\\" not in raw:
            assert not mangled.windows, case  # the replacement changed nothing
        elif mangled.windows:
            assert sorted(mangled.globals) == expected, case  # repaired: the same names as the real code
        # else: the replaced bytes sat where any value is valid code (a string, a line number)
    raw = base64.b64decode(dumps[version]["unpack"][0])
    assert b"\\" in raw  # UNPACK_SEQUENCE is opcode 92 up to 3.12
    assert stored_code(base64.b64encode(raw.replace(b"\\", b"/")).decode()).windows


def test_the_windows_fixture_says_its_code_cannot_run(tmp_path: Path) -> None:
    facts = scan(MODELS / "tf2.3-py3.8-unpack-windows.h5")
    (fn,) = facts.functions
    assert fn.windows and fn.function == "swap_halves" and "saved on Windows" in fn.note
    assert "cannot run anywhere; rebuild and load weights" in fn.note
    assert not scan(MODELS / "tf2.3-py3.8-unpack.h5").functions[0].windows


def test_bytes_that_are_not_code_are_unknown_not_guessed() -> None:
    for junk in (b"", b"\xe3\x00\x00", b"garbage" * 10, bytes(range(256)), b"/" * 64):
        with pytest.raises(Unreadable):
            stored_code(base64.b64encode(junk).decode())
    with pytest.raises(Unreadable):
        stored_code("\u20ac not marshal data")


def test_version_labels_round_trip() -> None:
    assert version_range(["3.8", "3.9", "3.10"]) == "3.8-3.10" and version_range(["3.11"]) == "3.11"
    assert versions_of("3.4-3.5") == ["3.4", "3.5"] and versions_of("2.7") == ["2.7"] and versions_of(None) == []
