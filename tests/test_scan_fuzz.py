"""Fuzzing every reader of the scan package: no input gives a traceback or a hang.

Each reader gets real bytes (the fixtures' protobufs, marshal data, pickles, zips, HDF5)
truncated, bit-flipped, overwritten with wrong lengths, or random bytes outright. The only
acceptable outcomes are a result or the reader's own one-line error (WireError, Unreadable,
SavedModelError, ScanError); hypothesis's deadline catches a hang.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner.scan import archive, config, savedmodel, wire
from runner.scan.bytecode import Unreadable, stored_code
from runner.scan.pickles import sniff
from runner.scan.reader import ScanError, scan

MODELS = Path(__file__).parent / "fixtures" / "models"
SAVED = MODELS / "tf2.15-py3.11-subclassed-savedmodel"
SAVED_PB = (SAVED / "saved_model.pb").read_bytes()
METADATA_PB = (SAVED / "keras_metadata.pb").read_bytes()
KERAS = (MODELS / "tf2.21-keras3.15-py3.11-nested.keras").read_bytes()
H5 = (MODELS / "keras2.1.6-py3.7-listform.h5").read_bytes()
with zipfile.ZipFile(io.BytesIO(KERAS)) as _z:
    _CONFIG = json.loads(_z.read("config.json"))
CODE = base64.b64decode(_CONFIG["config"]["layers"][1]["config"]["layer"]["config"]["function"]["config"]["code"])
PICKLE = pickle.dumps({"a": np.arange(3), "b": [1.5, "x"]}, protocol=4)

FAST = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(max_examples=60, deadline=10000, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def damaged(draw: st.DrawFn, real: bytes) -> bytes:
    """``real`` truncated, with bits flipped, or with bytes overwritten (a length field made wrong)."""
    data = bytearray(real)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["cut", "flip", "overwrite", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "cut":
            del data[at:]
        elif how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=5))
            data[at : at + len(patch)] = patch
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=5))
        if not data:
            break
    return bytes(data)


@FAST
@given(st.one_of(st.binary(max_size=300), damaged(SAVED_PB[:4000]), damaged(METADATA_PB[:4000])))
def test_the_wire_reader_never_raises_anything_else(data: bytes) -> None:
    try:
        for _, kind, value in wire.fields(data):
            assert kind in (0, 1, 2, 5) and (isinstance(value, int) or len(value) <= len(data))
    except wire.WireError:
        pass


@FILES
@given(damaged(SAVED_PB), damaged(METADATA_PB))
def test_the_savedmodel_reader_never_raises_anything_else(saved: bytes, metadata: bytes) -> None:
    try:
        savedmodel.read(saved, metadata)
    except savedmodel.SavedModelError:
        pass


@FAST
@given(st.one_of(damaged(CODE), st.binary(max_size=200), damaged(CODE.replace(b"\\", b"/"))))
def test_the_bytecode_reader_never_raises_anything_else(raw: bytes) -> None:
    for encoded in (base64.b64encode(raw).decode(), raw.decode("latin-1")):
        try:
            found = stored_code(encoded)
        except Unreadable:
            continue
        assert found.python and all(isinstance(n, str) for n in found.globals)


@FAST
@given(st.text(max_size=200))
def test_any_string_as_stored_code(text: str) -> None:
    try:
        stored_code(text)
    except Unreadable:
        pass


@FAST
@given(st.one_of(damaged(PICKLE), st.binary(max_size=200)))
def test_the_pickle_sniffer_never_raises(data: bytes) -> None:
    found = sniff(data)
    assert found is None or found.size <= len(data)


@FAST
@given(damaged(b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }" + b" " * 60 + b"\n"))
def test_the_npy_header_reader_never_raises(data: bytes) -> None:
    archive.holds_objects(archive.npy_descr(data))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["class_name", "config", "layers", "layer", "module", "function", "function_type", "mode"])
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@FAST
@given(JSON)
def test_the_config_walker_takes_any_json(node: object) -> None:
    root = {"class_name": "Functional", "config": node}
    for ref in config.layers(root):
        config.functions_in(config.own_items(ref.config, ref.where), ref)


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


@FILES
@given(damaged(KERAS))
def test_scan_of_a_damaged_keras_zip(tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _scan_or_one_line(_write(tmp_path_factory.mktemp("k"), "m.keras", data))


@FILES
@given(JSON)
def test_scan_of_a_keras_zip_with_any_config(tmp_path_factory, node: object) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("c") / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(node))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    _scan_or_one_line(path)


@FILES
@given(damaged(H5[:3000]))
def test_scan_of_a_damaged_h5(tmp_path_factory, head: bytes) -> None:  # type: ignore[no-untyped-def]
    _scan_or_one_line(_write(tmp_path_factory.mktemp("h"), "m.h5", head + H5[3000:]))


@FILES
@given(damaged(SAVED_PB), st.booleans())
def test_scan_of_a_damaged_savedmodel(tmp_path_factory, saved: bytes, text_copy: bool) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("s")
    shutil.copy(SAVED / "keras_metadata.pb", home / "keras_metadata.pb")
    if text_copy:  # the re-encoded-as-text keras_metadata.pb of issue 17
        (home / "keras_metadata.pb").write_bytes(METADATA_PB.decode("latin-1").encode("utf-8"))
    (home / "saved_model.pb").write_bytes(saved)
    _scan_or_one_line(home)


def _scan_or_one_line(path: Path) -> None:
    try:
        scan(path)
    except ScanError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
