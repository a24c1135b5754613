"""Every record the fork engine writes is what a fresh interpreter gets, in any order.

Reference: ``engine="fresh"``, a fresh interpreter for every single request. Engine:
one warmed-up harness per row forking a child per save and per load. The sample
covers every row kind (the oldest Keras 2, a mid Keras 2 on another Python, tf-keras,
Keras 3 on TensorFlow, the JAX and PyTorch rows loading Keras 3's files, and a container
row, whose harness forks inside its container: a fresh load there is a new container) with the
scenarios whose answer depends on process state when loads share an interpreter: a
Lambda global (closure scalar, rebound), custom_objects leaked into
the Keras module by TF 2.0-2.2 (a second model loaded after another one), a global
registry (registered classes), a hub layer and a custom activation.

The fork engine runs twice, in two shuffled orders, each with its own saves and several
children of one harness running at once: records and saved weights must be the same in both
and equal to the fresh reference's.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from runner.core.results import cells_from
from runner.run.backends import UvBackend
from runner.run.catalog import load_catalog
from runner.run.dispatch import RowBackends
from runner.run.engine import Engine
from runner.run.grid import load_grid
from runner.run.workers import RowSession

pytestmark = pytest.mark.integration

SCENARIOS = [
    "lambda_closure_scalar",
    "lambda_closure_rebound",
    "lambda_after_other_model",
    "subclass_with_config",
    "hub_direct",
    "custom_activation_layer",
]
FORMATS = ["h5", "keras"]
KINDS = {  # row kind -> (flavour, TF minor, Python minor or None, load-only backend or None)
    "oldest_keras2": ("keras2", "2.0", None, None),
    "keras2_other_python": ("keras2", "2.15", "3.9", None),
    "tf_keras": ("tf_keras", "2.21", None, None),
    "keras3": ("keras3", "2.21", "3.11", None),
    "jax": ("keras3", "2.21", None, "jax"),
    "torch": ("keras3", "2.21", None, "torch"),
}


def _row(flavour: str, tf: str, python: str | None, backend: str | None):
    for r in load_grid().rows:
        if r.flavour != flavour or not r.tf.startswith(tf + ".") or (python and not r.python.startswith(python + ".")):
            continue
        if (dict(r.env_vars).get("KERAS_BACKEND") or None) == backend and (backend or not r.load_only):
            if backend or "main" in r.tags or python:
                return r
    raise AssertionError(f"no row for {flavour} {tf} {python} {backend}")


ROWS = {kind: _row(*spec) for kind, spec in KINDS.items()}
# the Keras 3 row that saves is the one with the same Keras as the JAX and PyTorch rows (they load its files)
ROWS["keras3"] = next(
    r
    for r in load_grid().rows
    if r.flavour == "keras3" and not r.load_only and r.keras == ROWS["jax"].keras and r.python.startswith("3.11.")
)
ROWS["container"] = next(r for r in load_grid().rows if r.backend == "docker" and r.flavour == "keras2")
SAVERS = [ROWS[k] for k in ("oldest_keras2", "keras2_other_python", "tf_keras", "keras3", "container")]
PAIRS = [(r.id, r.id) for r in SAVERS] + [(ROWS["keras3"].id, ROWS["jax"].id), (ROWS["keras3"].id, ROWS["torch"].id)]


def _key(r: dict) -> tuple:
    return (r["scenario"], r["format"], r["save_row"], r["load_row"], r["option"])


def _comparable(r: dict) -> tuple:
    err = r["error"] or {}
    diff = None if r["max_abs_diff"] is None else round(r["max_abs_diff"], 5)
    return (r["outcome"], r["stage"], r["written"], err.get("type"), err.get("message"), diff)


def _weights(work: Path) -> dict[tuple[str, str], tuple]:
    out = {}
    for meta in work.glob("artifacts/*/*/meta.json"):
        data = json.loads(meta.read_text())
        row, scenario = meta.parent.parent.name.rsplit("-", 2)[0], meta.parent.name.rsplit("-", 1)[0]
        out[(row, scenario)] = (data.get("weights_sha256"), data.get("ref_sha256"))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    catalog = load_catalog()
    scenarios = {s: catalog[s] for s in SCENARIOS}
    rows = list(ROWS.values())
    work = {name: tmp_path_factory.mktemp(name) for name in ("order1", "order2")}
    out = {}
    # several children of one harness at once (3 and 4 CPU slots on a 2-core machine: oversubscribed on
    # purpose), each still one request in a process of its own
    for seed, name, slots in ((1, "order1", 3), (2, "order2", 4)):
        out[name] = Engine(
            backend=RowBackends(work=work[name]),
            work=work[name],
            scenarios=scenarios,
            formats=FORMATS,
            lazy="always",
            shuffle=seed,
            jobs=slots,
        ).run(rows, PAIRS)
    # the reference loads order1's artifacts, each in a fresh interpreter, with no cache
    out["fresh"] = Engine(
        backend=RowBackends(work=work["order1"]),
        work=work["order1"],
        scenarios=scenarios,
        formats=FORMATS,
        lazy="always",
        engine="fresh",
        use_cache=False,
    ).run(rows, PAIRS)
    out["work"] = work
    out["scenarios"] = scenarios
    return out


def test_every_row_kind_ran_and_forked(runs: dict) -> None:
    for name in ("order1", "order2"):
        run = runs[name]
        assert [r.row.id for r in run.rows if r.error] == []
        loaded = {r["load_row"] for r in run.records if r["mode"] == "fork"}
        assert loaded == {r.id for r in ROWS.values()}, f"{name}: rows that never forked: {run.no_fork}"
        assert run.no_fork == {}
        assert len(run.records) >= len(PAIRS) * len(SCENARIOS) * len(FORMATS)


def test_fork_records_equal_fresh_records_in_both_orders(runs: dict) -> None:
    fresh = {_key(r): r for r in runs["fresh"].records}
    # loads ran in fresh interpreters (records decided at save time carry order1's fork saves)
    assert {r["mode"] for r in runs["fresh"].records if r["stage"] in ("load", "call", "compare")} <= {
        "fresh",
        "parent",
    }
    for name in ("order1", "order2"):
        records = runs[name].records
        assert {_key(r) for r in records} == set(fresh), name  # same lazy chains: same options tried
        diffs = [
            (_key(r), _comparable(r), _comparable(fresh[_key(r)]))
            for r in records
            if _comparable(r) != _comparable(fresh[_key(r)])
        ]
        assert diffs == [], name
        cells = {
            (c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"], c["fix"])
            for c in cells_from(records, runs["scenarios"])
        }
        reference = {
            (c["scenario"], c["format"], c["save_row"], c["load_row"]): (c["status"], c["option"], c["fix"])
            for c in cells_from(runs["fresh"].records, runs["scenarios"])
        }
        assert cells == reference, name


def test_saves_are_reproducible_across_orders(runs: dict) -> None:
    one, two = _weights(runs["work"]["order1"]), _weights(runs["work"]["order2"])
    assert one and one == two
    assert sum(1 for w, _ in one.values() if w) >= len(SAVERS) * (len(SCENARIOS) - 1)


def test_the_sample_is_not_trivial(runs: dict) -> None:
    statuses = {c["status"] for c in cells_from(runs["order1"].records, runs["scenarios"])}
    assert {"wrong_output", "pass_custom_objects", "load_error"} <= statuses


def _session_answers(env, engine: str, requests: list[dict]) -> list[dict]:
    session = RowSession(env, engine, stop=threading.Event())  # type: ignore[arg-type]
    try:
        return [session.ask(dict(req, id=i), 60.0) for i, req in enumerate(requests)]
    finally:
        session.close()


def test_tf20_lambda_load_does_not_depend_on_the_load_before_it(runs: dict) -> None:
    """TF 2.0-2.2 write custom_objects into the Keras module's globals (Lambda.from_config,
    ``globs = globals()`` without a copy): a {'t': ...} load leaks into the next load of the
    same process. In a fork each load starts clean; in one shared interpreter it does not."""
    row = ROWS["oldest_keras2"]
    env = UvBackend().prepare(row)
    work = runs["work"]["order1"]
    art = next(work.glob(f"artifacts/{row.id}-*/lambda_closure_scalar-*"))
    base = {
        "kind": "load",
        "scenario": "lambda_closure_scalar",
        "format": "h5",
        "artifact_dir": str(art),
        "scenario_file": str(runs["scenarios"]["lambda_closure_scalar"].path),
        "timeout": 60,
    }
    after_custom = [dict(base, option="custom_objects"), dict(base, option="default")]
    fresh_default = next(
        r
        for r in runs["fresh"].records
        if r["save_row"] == row.id
        and r["load_row"] == row.id
        and r["scenario"] == "lambda_closure_scalar"
        and r["format"] == "h5"
        and r["option"] == "default"
    )
    fork = _session_answers(env, "fork", after_custom)
    assert fork[1]["mode"] == "fork"
    assert (fork[1]["outcome"], fork[1]["error"]["type"]) == (fresh_default["outcome"], fresh_default["error"]["type"])
    shared = _session_answers(env, "shared", after_custom)
    # the same two loads in one interpreter: the leaked t makes the second answer differ from a fresh process's
    assert (shared[1]["outcome"], (shared[1]["error"] or {}).get("type")) != (
        fresh_default["outcome"],
        fresh_default["error"]["type"],
    )
