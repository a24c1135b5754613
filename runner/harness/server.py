"""One process per row that imports TensorFlow once and answers requests.

``fork`` mode (the default engine): after import the process warms up on a small
built-in model (Dense layers only, no Lambda, no custom objects: build, fit,
predict, save in each format, load, call), checks that a forked child can do the
same, and then forks one child per request. The child resets TensorFlow's runtime
(a forked child has none of its parent's threads, so it must not use the parent's
thread pools), runs the request and hands back one record through a pipe; the
parent never loads a scenario's artifact. A child that hangs is killed at the
request's time limit; a child that crashes costs that request only.

``fresh`` and ``shared`` modes answer requests in the process itself: ``fresh``
for one request per process (rows that cannot fork), ``shared`` for every request
in turn (benchmarks only: loads then see each other's state).
"""

import gc
import io
import itertools
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings

from . import calls, common, loading, protocol, saving

_COUNTER = itertools.count()
_KEEP = []  # runtimes of the parent, never destroyed in a child: their threads do not exist there


def reset_runtime(keras):
    """Give a forked child a TensorFlow runtime of its own.

    The parent's eager context owns thread pools whose threads were not copied by
    fork(); a graph function run on them would wait forever (measured: ``predict``
    hangs in a child of TF 2.0 and 2.15). The old context is kept, not destroyed:
    its destructor would join threads that do not exist here.
    """
    try:
        from tensorflow.python.eager import context
    except ImportError:
        return
    old = getattr(context, "_context", None)
    if old is not None:
        _KEEP.append(old)
        with context._context_lock:
            context._context = None
        context._create_context()
        if hasattr(context, "_device_parsing_cache"):
            context._device_parsing_cache = {}
        try:
            from tensorflow.python import pywrap_tfe as pywrap
        except ImportError:  # TF < 2.2
            from tensorflow.python import pywrap_tensorflow as pywrap
        clear = getattr(pywrap, "TFE_ClearScalarCache", None)
        if clear is not None:
            clear()  # cached scalars belong to the old context
    common.clear_session(keras)


def computes_in_parent(facts):
    """JAX cannot be reset in a child (its XLA client aborts on a mutex taken by a thread
    fork did not copy), so on JAX the parent imports but never computes: each child
    starts JAX's backend itself (~0.3 s)."""
    return facts.get("backend") != "jax"


def warm_cycle(keras, folder, formats, params):
    """Build, fit, predict, save, load and call a small Dense model; seconds per step."""
    import numpy as np

    steps = {}
    start = time.time()

    def step(name, func):
        t = time.time()
        try:
            result = func()
        except Exception as exc:  # noqa: BLE001 - a format this env lacks is not a failure of the warm-up
            steps[name] = "%s: %s" % (type(exc).__name__, str(exc)[:200])
            return False, None
        steps[name] = round(time.time() - t, 3)
        return True, result

    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    y = np.ones((2, 3), dtype="float32")

    def build():
        inputs = keras.Input(shape=(4,))
        hidden = keras.layers.Dense(4, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(3)(hidden))

    _WarmServe.build = staticmethod(build)
    built, model = step("build", build)
    if not built:
        return steps
    step("fit", lambda: calls.fit(model, x, y))
    step("predict", lambda: calls.predict(model, x))

    def kernels():  # big enough that a multi-threaded kernel would split it over its thread pool
        big = np.ones((256, 256), dtype="float32")
        if common.is_keras3(keras):
            ops = keras.ops
            return float(ops.sum(ops.matmul(ops.sigmoid(big), big)))
        import tensorflow as tf

        return float(tf.reduce_sum(tf.matmul(tf.math.sigmoid(big), big)))

    step("kernels", kernels)
    for fmt in formats:
        target = os.path.join(folder, protocol.artifact_name(fmt))
        if not step("save_" + fmt, lambda: calls.save_model(model, fmt, target, keras))[0]:
            continue
        # the plainest call that reads what was written (load_weights into the rebuilt model for weights,
        # TFSMLayer for a Keras 3 export, else load_model): the paths every real load takes first
        written = saving.written_kind(target)
        option = "load_weights" if fmt == "weights" else \
            "tfsm_layer" if written == "savedmodel_dir" and common.is_keras3(keras) else "default"
        loaded, call = step("load_" + fmt, lambda: calls.loader(option, _WarmServe, target, keras, params, {}))
        if loaded:
            step("call_" + fmt, lambda: call[1](x))
    steps["total_s"] = round(time.time() - start, 3)
    return steps


class _WarmServe(object):
    """The warm-up model's serve and rebuild side: no custom objects; ``build()`` rebuilds it."""

    build = None  # set by warm_cycle


def _handle(req, keras, params):
    """Answer one request in this process."""
    try:
        if req["kind"] == "save":
            return saving.save_request(req, keras)
        if req["kind"] == "check":
            return loading.check_request(req, keras, params)
        return loading.load_request(req, keras, params)
    except Exception as exc:  # noqa: BLE001 - a harness-level failure is still this request's outcome
        outcome = "build_error" if req["kind"] == "save" else "load_error"
        return {"outcome": outcome, "stage": "build" if req["kind"] == "save" else "load",
                "error": common.error_info(exc), "max_abs_diff": None, "durations": {}}


def _read_all(fd, deadline):
    """Everything written to ``fd`` until EOF, or None when the deadline passes first."""
    chunks = []
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _tail(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return b"", []
    lines = data.decode("utf-8", "replace").splitlines()
    return data, lines[-protocol.STDERR_LINES:]


def in_child(func, timeout, scratch, keras):
    """Run ``func()`` (which returns a record dict) in a forked child, with a time limit."""
    read_fd, write_fd = os.pipe()
    err_path = os.path.join(scratch, "child-%d.err" % next(_COUNTER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(err, 1)
            os.dup2(err, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the parent's requests are not the child's to read
            common.die_with_parent()
            reset_runtime(keras)
            data = json.dumps(func(), sort_keys=True).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            code = 70
        finally:
            try:
                sys.stderr.flush()
                sys.stdout.flush()
            finally:
                os._exit(code)
    os.close(write_fd)
    start = time.time()
    try:
        data = _read_all(read_fd, start + timeout)
    finally:
        os.close(read_fd)
    if data is None:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    raw, tail = _tail(err_path)
    if raw:
        sys.stderr.write(raw.decode("utf-8", "replace"))  # the row's log keeps what the child printed
        sys.stderr.flush()
    try:
        os.unlink(err_path)
    except OSError:
        pass
    if data is None:
        return {"outcome": "timeout", "stage": "load", "durations": {}, "max_abs_diff": None,
                "error": {"type": "WorkerDied", "traceback": "",
                          "message": "no answer within %.0fs; the process was killed" % timeout}}
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return {"outcome": "crash", "stage": "load", "durations": {}, "max_abs_diff": None,
                "exit_code": code, "stderr_tail": tail, "error": None}


def open_protocol():
    """The protocol stream: the original stdout. Everything the libraries print goes to stderr."""
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return io.open(fd, "w", encoding="utf-8", buffering=1)


def emit(stream, obj):
    stream.write(json.dumps(obj, sort_keys=True) + "\n")
    stream.flush()


def serve(args):
    common.die_with_parent()
    out = open_protocol()
    common.add_root(sys.prefix, "<env>")
    common.add_root(os.path.expanduser("~"), "~")
    common.add_root(args.scenario_dir, "<scenarios>")
    common.add_root(common.HARNESS_DIR, "<harness>")
    common.add_scenario_path(args.scenario_dir)
    started = time.time()
    import tensorflow  # noqa: F401 - imported once for every request of this process

    common.one_compute_thread()
    keras = common.keras_module()
    common.import_scenario_libraries()
    params = common.kwargs_supported(keras.models.load_model)
    facts = common.env_facts(keras)
    keras3 = facts["keras3"]
    formats = list(protocol.FORMATS)
    scratch = tempfile.mkdtemp(prefix="kc-harness-")
    ready = {"event": protocol.EVENT_READY, "facts": facts, "mode": args.mode, "fork": False, "fork_error": None,
             "warmup": {}, "import_s": round(time.time() - started, 3), "load_model_params": sorted(params)}
    try:
        if args.mode == "fork":
            if computes_in_parent(facts):
                ready["warmup"] = warm_cycle(keras, tempfile.mkdtemp(dir=scratch), formats, params)
                common.clear_session(keras)
            # Everything the parent holds now is frozen out of the cyclic collector: a child's collections
            # then neither touch (and copy) the parent's pages nor destroy the parent's TensorFlow
            # functions, whose destructors would act on the child's new context.
            gc.collect()
            gc.freeze()
            probe_dir = tempfile.mkdtemp(dir=scratch)
            probe = in_child(lambda: {"outcome": "ok", "steps": warm_cycle(keras, probe_dir, ["h5"], params)},
                             args.probe_timeout, scratch, keras)
            steps = probe.get("steps") or {}
            if probe["outcome"] == "ok" and all(isinstance(steps.get(k), float) for k in ("kernels", "call_h5")):
                ready["fork"] = True
            else:
                ready["fork_error"] = "a forked child could not load and call a Dense model: %s" % (
                    json.dumps(steps) if steps else probe["outcome"])
        emit(out, ready)
        declares = {}
        while True:
            line = sys.stdin.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            req = json.loads(line)
            req["scratch"] = scratch  # a load copies its artifact under here (loading.private_copy)
            begun = time.time()
            why = None
            if req["kind"] == "load":
                path = req["scenario_file"]
                if path not in declares:
                    from .scenario import serve_declares
                    declares[path] = serve_declares(path)
                why = loading.not_applicable(req["format"], req["option"], declares[path], keras3, params,
                                             req.get("written"))
            if why is not None:
                record = {"outcome": "unsupported", "stage": "load", "error": common.unsupported(why),
                          "max_abs_diff": None, "durations": {}, "mode": "parent"}
            elif ready["fork"]:
                record = in_child(lambda: _handle(req, keras, params), req["timeout"], scratch, keras)
                record["mode"] = "fork"
            else:
                record = _handle(req, keras, params)
                record["mode"] = args.mode
                if args.mode == "shared":
                    common.clear_session(keras)
            record["wall_s"] = round(time.time() - begun, 3)
            record["id"] = req["id"]
            record["event"] = protocol.EVENT_RECORD
            emit(out, record)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0
