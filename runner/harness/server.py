"""One process per row that imports TensorFlow once and answers requests.

``fork`` mode (the default engine): after import the process warms up on a small
built-in model (Dense layers only, no Lambda, no custom objects: build, fit,
predict, save in each format, load, call), checks that a forked child can do the
same, and then forks one child per request. The child resets TensorFlow's runtime
(a forked child has none of its parent's threads, so it must not use the parent's
thread pools), runs the request and hands back one record through a pipe; the
parent never loads a scenario's artifact. A child that hangs is killed at the
request's time limit; a child that crashes costs that request only. Several children
may run at once (runner/harness/children.py): the orchestrator sends as many requests
as it has CPU slots for, and each is still one request in a process of its own.

``fresh`` and ``shared`` modes answer requests in the process itself: ``fresh``
for one request per process (rows that cannot fork), ``shared`` for every request
in turn (benchmarks only: loads then see each other's state).
"""

import gc
import io
import json
import os
import select
import shutil
import sys
import tempfile
import time

from . import audit, calls, children, common, loading, protocol, saving

_KEEP = []  # runtimes of the parent, never destroyed in a child: their threads do not exist there


def reset_runtime(keras):
    """Give a forked child a TensorFlow runtime of its own.

    The parent's eager context owns thread pools whose threads were not copied by
    fork(); a graph function run on them would wait forever (measured: ``predict``
    hangs in a child of TF 2.0 and 2.15). The old context is kept, not destroyed:
    its destructor would join threads that do not exist here.
    """
    if common.is_tf1() and hasattr(keras.backend, "get_session"):
        # TF 1.x: the parent's session owns threads this child does not have; destroying it here would join
        # them (measured: abort, "std::system_error: Invalid argument"), so it is kept and a new one is made
        _KEEP.append(keras.backend.get_session())
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

        if common.is_tf1():  # graph mode: the kernels run in the backend's session
            k = keras.backend
            return float(k.eval(k.sum(k.dot(k.sigmoid(k.constant(big)), k.constant(big)))))
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
    if common.is_tf1():
        common.graph_session(keras)  # before the warm-up makes the first session
    common.import_scenario_libraries()
    params = common.kwargs_supported(keras.models.load_model)
    facts = common.env_facts(keras)
    keras3 = facts["keras3"]
    formats = list(protocol.FORMATS)
    scratch = tempfile.mkdtemp(prefix="kc-harness-")
    # Temporary files of the libraries (TF's autograph writes a module per converted function) go under the
    # scratch, which goes when the harness ends, instead of piling up in /tmp over a run's ~40,000 children.
    tempfile.tempdir = scratch
    os.environ["TMPDIR"] = scratch
    ready = {"event": protocol.EVENT_READY, "facts": facts, "mode": args.mode, "fork": False, "fork_error": None,
             "warmup": {}, "import_s": round(time.time() - started, 3), "load_model_params": sorted(params)}
    try:
        if args.mode == "fork":
            if computes_in_parent(facts):
                ready["warmup"] = warm_cycle(keras, tempfile.mkdtemp(dir=scratch), formats, params)
                common.clear_session(keras)
            audit.prepare()  # what counts as library code for the audit hook, once for every child
            # Everything the parent holds now is frozen out of the cyclic collector: a child's collections
            # then neither touch (and copy) the parent's pages nor destroy the parent's TensorFlow
            # functions, whose destructors would act on the child's new context.
            gc.collect()
            if hasattr(gc, "freeze"):  # Python >= 3.7
                gc.freeze()
            probe_dir = tempfile.mkdtemp(dir=scratch)
            probe = children.in_child(
                lambda: {"outcome": "ok", "steps": warm_cycle(keras, probe_dir, ["h5"], params)},
                args.probe_timeout, scratch, lambda: reset_runtime(keras))
            steps = probe.get("steps") or {}
            if probe["outcome"] == "ok" and all(isinstance(steps.get(k), float) for k in ("kernels", "call_h5")):
                ready["fork"] = True
            else:
                ready["fork_error"] = "a forked child could not load and call a Dense model: %s" % (
                    json.dumps(steps) if steps else probe["outcome"])
        emit(out, ready)
        _answer_requests(out, args.mode, ready["fork"], keras, keras3, params, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


class _Lines(object):
    """Request lines from a file descriptor, read without blocking past what ``select`` said is there."""

    def __init__(self, fd):
        self.fd, self.buffer, self.open = fd, b"", True

    def read(self):
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.open = False
            chunk, self.buffer = self.buffer + b"\n", b""
        else:
            chunk, self.buffer = self.buffer + chunk, b""
        lines = chunk.split(b"\n")
        self.buffer = lines.pop()
        return [line.strip() for line in lines if line.strip()]


def _answer_requests(out, mode, fork, keras, keras3, params, scratch):
    """Answer every request on stdin until it closes. Under ``fork`` each request gets a child of its
    own at once, so several run at the same time (the orchestrator decides how many it sends: one
    CPU slot each); the records go out as the children finish, each with its request's id."""
    declares = {}
    pool = children.Pool()
    lines = _Lines(sys.stdin.fileno())

    def done(req, record, begun, how):
        record.setdefault("mode", how)
        record["wall_s"] = round(time.time() - begun, 3)
        record["id"] = req["id"]
        record["event"] = protocol.EVENT_RECORD
        emit(out, record)

    while lines.open or pool.children:
        ready, _, _ = select.select(([lines.fd] if lines.open else []) + pool.fds(), [], [], pool.wait_s())
        for fd in ready:
            if fd != lines.fd:
                pool.readable(fd)
                continue
            for line in lines.read():
                req = json.loads(line.decode("utf-8"))
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
                    done(req, {"outcome": "unsupported", "stage": "load", "error": common.unsupported(why),
                               "max_abs_diff": None, "durations": {}}, begun, "parent")
                elif fork:
                    pool.add(children.start(lambda req=req: _handle(req, keras, params), req["timeout"], scratch,
                                            lambda: reset_runtime(keras), tag=(req, begun)))
                else:
                    common.tell_calls(lambda text, rid=req["id"]: emit(out, {"event": protocol.EVENT_CALL,
                                                                            "id": rid, "call": text}))
                    try:
                        record = _handle(req, keras, params)
                    finally:
                        common.tell_calls(None)
                    if mode == "shared":
                        common.clear_session(keras)
                    done(req, record, begun, mode)
        for child, record in pool.collect():
            req, begun = child.tag
            record["mode"] = "fork"
            done(req, record, begun, "fork")
