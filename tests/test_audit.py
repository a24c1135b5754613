"""The load's observers (runner/harness/audit.py: audit events; observe.py: the canary folder, the bait watch)
and the crafting helpers the canaries rewrite real files with (runner/harness/crafting.py). No TensorFlow here."""

from __future__ import annotations

import json
import os
import pickletools
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from runner.harness import audit, crafting, observe

REPO = Path(__file__).resolve().parents[1]


def _observe(tmp_path: Path, body: str) -> list[dict]:
    """Run ``body`` with the hook on, in a fresh interpreter (a hook cannot be removed), and its events."""
    allowed = tmp_path / "own"
    allowed.mkdir()
    script = (
        textwrap.dedent(
            f"""
        import json, os, sys
        sys.path.insert(0, {str(REPO)!r})
        from runner.harness import audit
        audit.start([{str(allowed)!r}])
        """
        )
        + textwrap.dedent(body)
        + "\nprint(json.dumps(audit.stop()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_hook_sees_processes_unpickling_bytecode_writes_and_imports(tmp_path: Path) -> None:
    (tmp_path / "stranger.py").write_text("VALUE = 1\n")
    (tmp_path / "stranger_by_name.py").write_text("VALUE = 2\n")  # how Keras imports a config's module
    events = _observe(
        tmp_path,
        f"""
        import marshal, pickle
        sys.path.insert(0, {str(tmp_path)!r})
        sys.path.insert(0, {str(REPO)!r})
        from runner.harness import crafting
        pickle.loads(crafting.payload_pickle().replace(b"KC_CANARY:-/dev/null", b"KC_CANARY:-/dev/null"))
        marshal.loads(marshal.dumps(compile("x = 1", "<stored>", "exec")))
        open({str(tmp_path / "outside.txt")!r}, "w").write("x")
        open({str(tmp_path / "own" / "inside.txt")!r}, "w").write("x")
        import stranger
        import importlib
        importlib.import_module("stranger_by_name")
        audit.phase("call")
        os.system("true")
        """,
    )
    seen = {(e["phase"], e["event"], e["detail"]) for e in events}
    assert ("load", "pickle.find_class", "posix.system") in seen
    assert ("load", "os.system", crafting.SHELL_MARKER) in seen  # the pickle's reduce ran the command
    assert any(e["event"] == "marshal.loads" for e in events)  # outside the import system
    assert any(e["event"] == "open" and "outside.txt" in e["detail"] for e in events)
    assert not any("inside.txt" in e["detail"] for e in events)  # the request's own folder is not an event
    assert ("load", "import", "stranger") in seen  # not stdlib, not the libraries' closure
    assert ("load", "import", "stranger_by_name") in seen  # importlib.import_module raises no "import" event
    assert ("call", "os.system", "true") in seen
    assert len(events) == len(seen)  # each event once per phase


def test_the_import_system_and_the_standard_library_are_quiet(tmp_path: Path) -> None:
    events = _observe(
        tmp_path,
        """
        import collections, json as j2, email.mime.text, xml.dom.minidom
        collections.namedtuple("P", "a b")
        """,
    )
    assert events == []


def test_nothing_is_observed_once_stopped(tmp_path: Path) -> None:
    events = _observe(tmp_path, "audit.stop()\nos.system('true')\naudit.start([])\n")
    assert events == []


def test_the_folder_and_the_bait_watch(tmp_path: Path) -> None:
    bait = tmp_path / crafting.BAIT
    bait.write_text("a\nb\n")
    folder = observe.Folder(str(tmp_path), ignore=(crafting.BAIT,))
    watch = observe.Watch(str(bait))
    assert not folder.changed() and not watch.read()
    (tmp_path / "canary.txt").write_text("load\n")
    bait.read_text()
    assert folder.changed() and not folder.changed()  # once per change
    assert watch.read() is watch.available and not watch.read()
    watch.close()


def test_crafted_zip_keeps_both_copies_and_the_payload_only_calls_os_system(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Functional", "config": {"layers": []}}))
        z.writestr("model.weights.h5", b"h5")
    crafting.write_zip(
        str(path), [*crafting.members(str(path)), ("model.weights.npz", b"a"), ("model.weights.npz", b"b")]
    )
    names = [name for name, _ in crafting.members(str(path))]
    assert names.count("model.weights.npz") == 2
    with zipfile.ZipFile(path) as z:
        assert z.read("model.weights.npz") == b"b"  # zipfile returns the last copy
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(crafting.payload_pickle())]
    assert ("GLOBAL", f"{os.name == 'nt' and 'nt' or 'posix'} system") in ops
    assert any(arg == crafting.SHELL_MARKER for _, arg in ops)
    crafting.add_layers(str(path), [crafting.bare_function_layer("kc", "os", "system", ["echo"])])
    (entry,) = crafting.zip_config(str(path))["config"]["layers"]
    assert entry["module"] == "os" and entry["inbound_nodes"] == [{"args": ["echo"], "kwargs": {}}]


def test_a_lambda_entry_names_its_function_and_passes_its_input_as_a_keyword() -> None:
    entry = crafting.lambda_calling("kc", "keras.utils", "get_file", "kc-get-file.txt", {"origin": "file:x"})
    assert entry["config"]["function"] == crafting.function_ref("keras.utils", "get_file")
    assert entry["inbound_nodes"] == [{"args": [], "kwargs": {"inputs": "kc-get-file.txt"}}]


def test_python37_has_no_hooks_and_says_so() -> None:
    assert audit.AVAILABLE is hasattr(sys, "addaudithook")
    assert "cannot be observed" in audit.UNAVAILABLE
