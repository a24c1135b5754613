"""Faults cost one request, never the run: a crashing, a hanging load, a half-written artifact.

Real env (TF 2.15 row), real harness processes; the faults are scenarios whose
serving side kills its own interpreter or hangs. A fork child that crashes or hangs
kills only itself: the warmed-up parent goes on, and the request is asked again in a
fresh interpreter, whose answer is the record.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.run.backends import UvBackend
from runner.run.catalog import SCENARIO_DIR, load_catalog
from runner.run.engine import Engine
from runner.run.grid import load_grid

pytestmark = pytest.mark.integration

FAULT = '''
"""Fault injection: the serving side {what} the first {times} time(s) it runs."""
import os
import time

import numpy as np
import tensorflow as tf

keras = tf.keras

SOURCE = "002_3e5b7dc6c5aa62e0.txt"
CLAIM = "-"
FIX = "-"

x = np.ones((2, 4), dtype="float32")
y = np.ones((2, 4), dtype="float32")


def build():
    inputs = keras.Input(shape=(4,))
    return keras.Model(inputs, keras.layers.Dense(4)(inputs))


# %% train

# %% serve
_counter = os.path.join(ARTIFACTS, "fault-count")  # noqa: F821
_count = len(open(_counter).read()) if os.path.exists(_counter) else 0
if _count < {times}:
    open(_counter, "a").write("x")
    {action}

# %% rebuild
'''


@pytest.fixture(scope="module")
def fault_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("scenarios")
    # the crash comes back when the load is confirmed in a fresh interpreter; the hang does not
    (d / "fault_crash.py").write_text(FAULT.format(what="kills its interpreter", times=2, action="os._exit(3)"))
    (d / "fault_hang.py").write_text(FAULT.format(what="hangs", times=1, action="time.sleep(3600)"))
    shutil.copy(SCENARIO_DIR / "lambda_simple.py", d / "lambda_simple.py")
    return d


def test_crash_and_hang_cost_one_record_each(fault_dir: Path, tmp_path: Path) -> None:
    row = next(r for r in load_grid().rows if r.flavour == "keras2" and r.tf.startswith("2.15.") and "main" in r.tags)
    scenarios = load_catalog(fault_dir)
    engine = Engine(backend=UvBackend(), work=tmp_path, scenarios=scenarios, formats=["h5"], jobs=1, load_timeout=30)
    run = engine.run([row])
    by = {(r["scenario"], r["option"]): r for r in run.records}
    # a crash that comes back in a fresh interpreter is the cell's outcome, measured there
    crash = by[("fault_crash", "default")]
    assert (crash["outcome"], crash["mode"]) == ("crash", "fresh")
    assert "exited with code 3" in crash["error"]["message"]
    # a hang that a fresh interpreter does not repeat is not an outcome
    assert (by[("fault_hang", "default")]["outcome"], by[("fault_hang", "default")]["mode"]) == ("ok", "fresh")
    assert run.processes["confirmed_fresh"] == 2  # the crash (which came back) and the hang (which did not)
    # only the children died: the warmed-up parents were never restarted, and the other loads forked as usual
    assert run.processes["parent_restarts"] == 0
    # the cell goes on to its next calls (forked again: the crash counter is spent) and stops at the first that works
    after = [r for r in run.records if r["scenario"] == "fault_crash" and r["option"] != "default"]
    works = [r for r in after if r["outcome"] == "ok"]
    assert works and works[0] is after[-1] and works[0]["mode"] == "fork"
    assert (by[("lambda_simple", "default")]["outcome"], by[("lambda_simple", "default")]["mode"]) == ("ok", "fork")


def test_a_damaged_artifact_is_saved_again_never_loaded(fault_dir: Path, tmp_path: Path) -> None:
    """An artifact that no longer matches its manifest (a disk-full write, a crash mid-save) is not the file a
    user's saver wrote: loading it would measure keras-compat's damage. It is saved again, then loaded."""
    row = next(r for r in load_grid().rows if r.flavour == "keras2" and r.tf.startswith("2.15.") and "main" in r.tags)
    scenarios = {k: v for k, v in load_catalog(fault_dir).items() if k == "lambda_simple"}
    engine = Engine(backend=UvBackend(), work=tmp_path, scenarios=scenarios, formats=["h5"], jobs=1)
    engine.run([row])
    artifact = next(tmp_path.glob("artifacts/*/lambda_simple-*/model.h5"))
    data = artifact.read_bytes()
    artifact.write_bytes(data[: len(data) // 3])  # truncated, as a disk-full write leaves it
    (tmp_path / "cells.jsonl").unlink()  # forget the results, keep the artifact
    run = Engine(backend=UvBackend(), work=tmp_path, scenarios=scenarios, formats=["h5"], jobs=1).run([row])
    default = next(r for r in run.records if r["option"] == "default")
    assert default["outcome"] == "ok"
    assert artifact.read_bytes() != data[: len(data) // 3] and artifact.stat().st_size >= len(data) * 0.9


def test_a_load_cannot_change_the_artifacts_of_the_loads_after_it(tmp_path: Path) -> None:
    """Keras 3.4's load_model("d/model.keras") extracts its weights to d/model.weights.h5 and deletes that
    file afterwards: the weights artifact saved beside it. Each load works on a private copy, so the weights
    loads give the same answer whether or not .keras loads of the same folder ran before them."""
    row = next(r for r in load_grid().rows if r.flavour == "keras3" and r.keras.startswith("3.4."))
    scenarios = {k: v for k, v in load_catalog().items() if k == "lambda_simple"}
    both = Engine(
        backend=UvBackend(),
        work=tmp_path / "both",
        scenarios=scenarios,
        formats=["keras", "weights"],
        jobs=1,
        lazy="never",
    ).run([row])
    alone = Engine(
        backend=UvBackend(), work=tmp_path / "alone", scenarios=scenarios, formats=["weights"], jobs=1, lazy="never"
    ).run([row])

    def weights(run) -> list[tuple]:
        return [
            (r["option"], r["outcome"], (r["error"] or {}).get("type")) for r in run.records if r["format"] == "weights"
        ]

    assert any(r["format"] == "keras" and r["outcome"] != "unsupported" for r in both.records)  # .keras loads ran
    assert weights(both) == weights(alone)
    assert next((tmp_path / "both").glob("artifacts/*/lambda_simple-*/model.weights.h5")).exists()
