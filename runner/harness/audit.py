"""What a load did besides reading its file, seen by Python's audit hooks (PEP 578, CPython >= 3.8).

A hook is installed once per process and switched on only around the user's call (the load, then the
first call on what it returned): the serve cell, the harness and the comparison are never observed.
It records what the issue of stored code is about, each event once per phase:

- ``os.system``, ``os.exec``, ``os.posix_spawn``, ``os.spawn``, ``subprocess.Popen``, ``os.fork``: a process;
- ``socket.*`` (connect, bind, sendto, name lookups) and ``urllib.Request``: the network, or a fetch;
- ``pickle.find_class``: an unpickling that names a global (the reduce of a hostile pickle, a numpy array);
- ``marshal.loads``/``marshal.load`` outside the import system: stored bytecode turned into code;
- ``exec``/``compile`` of code that no library file holds (a stored Lambda's ``eval``, a config naming
  ``exec``), called from anywhere but the standard library's and TensorFlow's own code generators;
- ``open`` for writing outside the request's own folder;
- ``import`` of a module outside the standard library and the installed closure of numpy, TensorFlow,
  Keras (and tf-keras, tensorflow-hub, JAX, torch) and what they require.

Python 3.7 has no audit hooks: ``AVAILABLE`` is False there and the records say it cannot be observed.
The canary's folder, marker and bait are watched by runner/harness/observe.py.
"""

import io
import os
import re
import sys

AVAILABLE = hasattr(sys, "addaudithook")
UNAVAILABLE = ("Python %d.%d has no audit hooks (PEP 578 is CPython 3.8+): what the load did cannot be observed"
               % sys.version_info[:2])
MAX_EVENTS = 20  # per record: more are counted in one last "truncated" event
MAX_DETAIL = 160

PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "os.fork")
NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                  "socket.gethostbyname", "socket.gethostbyaddr", "urllib.Request")
CODE_EVENTS = ("pickle.find_class", "marshal.loads", "marshal.load", "exec", "compile")
FILE_EVENTS = ("open",)
IMPORT_EVENTS = ("import",)
KINDS = PROCESS_EVENTS + NETWORK_EVENTS + CODE_EVENTS + FILE_EVENTS + IMPORT_EVENTS

# The packages whose closure of requirements is "the libraries" (their own lazy imports are not findings).
LIBRARY_ROOTS = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "numpy", "h5py", "tensorflow-hub",
                 "jax", "jaxlib", "torch")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_QUIET_PREFIXES = ("/dev/", "/proc/", "/sys/")
# Frames of code generators that exec/compile code of their own (namedtuple, dataclasses, autograph).
_GENERATED = ("/autograph/", "<frozen", "__autograph_generated")

_state = {"on": False, "busy": False, "phase": None, "events": [], "keys": set(), "dropped": 0,
          "allowed": (), "installed": False, "modules": None, "stdlib": None}


def _library_dirs():
    dirs = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            import sysconfig

            path = sysconfig.get_paths().get(name)
        except Exception:  # noqa: BLE001
            path = None
        if path:
            dirs.add(os.path.abspath(path))
    return dirs


def _stdlib_names():
    names = set(sys.builtin_module_names)
    if hasattr(sys, "stdlib_module_names"):  # 3.10+
        return names | set(sys.stdlib_module_names)
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    for folder in (stdlib, os.path.join(stdlib, "lib-dynload")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry == "site-packages":
                continue
            names.add(entry.split(".", 1)[0])
    return names


def _normal(name):
    return name.lower().replace("_", "-").replace(".", "-")


def _dist_infos():
    """``{normalized name: dist-info folder}`` of the installed distributions (read from sys.path, no metadata
    parsing: importlib.metadata takes ~1 s for TensorFlow's env)."""
    found = {}
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            if entry.endswith((".dist-info", ".egg-info")):
                name = entry.rsplit(".", 1)[0].split("-", 1)[0]
                found.setdefault(_normal(name), os.path.join(folder or ".", entry))
    return found


def _read(path):
    try:
        with io.open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def _library_modules():
    """Top-level module names of the installed closure of LIBRARY_ROOTS' requirements."""
    dists = _dist_infos()
    seen, todo, modules = set(), [n for n in (_normal(r) for r in LIBRARY_ROOTS) if n in dists], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        info = dists[name]
        for line in _read(os.path.join(info, "METADATA") if info.endswith(".dist-info") else
                          os.path.join(info, "PKG-INFO")).splitlines():
            if not line.startswith("Requires-Dist:") or "extra ==" in line:
                continue
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line[len("Requires-Dist:"):])
            if match and _normal(match.group(1)) in dists:
                todo.append(_normal(match.group(1)))
        top = _read(os.path.join(info, "top_level.txt"))
        if top:  # a wheel without it (no setuptools) has its RECORD read instead
            modules.update(line.strip() for line in top.split() if line.strip())
            continue
        for line in _read(os.path.join(info, "RECORD")).splitlines():
            first = line.split(",", 1)[0].split("/", 1)[0]
            if not first or first.endswith((".dist-info", ".egg-info", ".data")) or first in ("..", "bin"):
                continue
            modules.add(first[:-3] if first.endswith(".py") else first.split(".", 1)[0])
    return modules


def prepare():
    """Work out what counts as library code, once per process (the warmed-up parent does it for its children)."""
    if _state["modules"] is None:
        _state["stdlib"] = _stdlib_names()
        _state["modules"] = _library_modules() | _state["stdlib"] | {"__main__", "runner"}
        _state["libdirs"] = _library_dirs()


def install():
    """Add the hook (once per process; a hook cannot be removed, so it is switched on and off)."""
    if not AVAILABLE or _state["installed"]:
        return
    prepare()
    sys.addaudithook(_hook)
    _state["installed"] = True


def start(allowed_dirs):
    """Observe from now on; writes under ``allowed_dirs`` (the request's own folder) are not events."""
    install()
    _state.update(on=AVAILABLE, phase="load", events=[], keys=set(), dropped=0,
                  allowed=tuple(os.path.abspath(d).rstrip(os.sep) + os.sep for d in allowed_dirs))


def phase(name):
    _state["phase"] = name


def stop():
    """Stop observing; the events seen (None on Python 3.7: nothing can be observed there)."""
    _state["on"] = False
    if not AVAILABLE:
        return None
    # an import the hook saw may have failed (the standard library probes for Jython's org.python.core)
    events = [e for e in _state["events"] if e["event"] != "import" or e["detail"] in sys.modules]
    if _state["dropped"]:
        events.append({"phase": _state["phase"], "event": "truncated",
                       "detail": "%d more events not kept" % _state["dropped"]})
    return events


def _short(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 1] + "…"


def _site_path(filename):
    """``keras/src/saving/saving_lib.py`` for a file of an installed package, else None."""
    for marker in ("site-packages" + os.sep, "dist-packages" + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return None


def _via(frame):
    """The innermost frame of TensorFlow/Keras (else of any installed package): who made the call."""
    fallback = None
    while frame is not None:
        rel = _site_path(frame.f_code.co_filename)
        if rel is not None:
            where = "%s:%s" % (rel, frame.f_code.co_name)
            if rel.split(os.sep, 1)[0] in ("keras", "tf_keras", "tensorflow"):
                return where
            fallback = fallback or where
        frame = frame.f_back
    return fallback


def _library_file(filename):
    if not filename or filename.startswith("<"):
        return filename.startswith(_GENERATED)
    if any(g in filename for g in _GENERATED):
        return True
    path = os.path.abspath(filename)
    return any(path.startswith(d.rstrip(os.sep) + os.sep) for d in _state.get("libdirs", ()))


def _add(event, detail, frame):
    key = (_state["phase"], event, detail)
    if key in _state["keys"]:
        return
    if len(_state["events"]) >= MAX_EVENTS:
        _state["dropped"] += 1
        return
    _state["keys"].add(key)
    item = {"phase": _state["phase"], "event": event, "detail": detail}
    via = _via(frame)
    if via:
        item["via"] = via
    _state["events"].append(item)


def _detail(event, args, frame):
    """The event's one-line detail, or None when it is not a finding."""
    if event in ("os.system",):
        return _short(args[0])
    if event == "subprocess.Popen":
        argv = args[1]
        return _short(" ".join(str(a) for a in argv) if isinstance(argv, (list, tuple)) else argv)
    if event in ("os.exec", "os.posix_spawn", "os.spawn"):
        argv = args[1] if len(args) > 1 else args[0]
        return _short(" ".join(str(a) for a in argv) if isinstance(argv, (list, tuple)) else argv)
    if event == "os.fork":
        return ""
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        return _short(args[1] if len(args) > 1 else "")
    if event.startswith("socket."):
        return _short(args[0] if args else "")
    if event == "urllib.Request":
        return _short(args[0])
    if event == "pickle.find_class":
        return _short("%s.%s" % (args[0], args[1]))
    if event in ("marshal.loads", "marshal.load"):
        if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            return None  # the import system reading a .pyc
        return "%d bytes" % len(args[0]) if event == "marshal.loads" and hasattr(args[0], "__len__") else ""
    if event in ("exec", "compile"):
        if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
            return None  # a module's body run by the import system: an import (see _imported_by_name)
        if frame is not None and _library_file(frame.f_code.co_filename) and \
                _site_path(frame.f_code.co_filename) is None:
            return None  # the standard library's own code generation (namedtuple, dataclasses)
        if frame is not None and any(g in frame.f_code.co_filename for g in _GENERATED):
            return None
        if event == "exec":
            code = args[0]
            filename = getattr(code, "co_filename", "")
            if filename and _library_file(filename):
                return None
            return _short("%s in %s" % (getattr(code, "co_name", "?"), filename or "?"))
        filename = args[1] if len(args) > 1 else ""
        if isinstance(filename, bytes):
            filename = filename.decode("utf-8", "replace")
        if filename and not str(filename).startswith("<") and _library_file(str(filename)):
            return None
        source = args[0]
        return _short(source if isinstance(source, (str, bytes)) else filename)
    if event == "open":
        path, mode = args[0], args[1]
        flags = args[2] if len(args) > 2 else 0
        if not isinstance(path, (str, bytes)) or isinstance(path, bool):
            return None
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        if not writing:
            return None
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        full = os.path.abspath(path)
        if full.startswith(_QUIET_PREFIXES) or any(full.startswith(d) for d in _state["allowed"]):
            return None
        return _short("%s (%s)" % (full, mode if isinstance(mode, str) else "flags %#x" % flags))
    if event == "import":  # an import statement or __import__: the libraries' own are theirs to make
        top = str(args[0]).split(".", 1)[0]
        if top in _state["modules"] or (frame is not None and _library_file(frame.f_code.co_filename)):
            return None
        return _short(args[0])
    return None


def _imported_by_name(event, args, frame):
    """The module a load imports by name (``importlib.import_module``, as Keras does with a config's
    ``module``), or None. That path raises no "import" event: the module's body being run does (``exec``
    from the import system), and the frames above it show who asked for it by name."""
    if event != "exec" or frame is None or getattr(args[0], "co_name", "") != "<module>":
        return None
    if not frame.f_code.co_filename.startswith("<frozen importlib"):
        return None
    try:
        name = frame.f_locals["args"][1].get("__name__") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    if not name or name.split(".", 1)[0] in _state["modules"]:
        return None
    asker = frame
    while asker is not None and asker.f_code.co_filename.startswith("<frozen importlib"):
        asker = asker.f_back
    if asker is None or asker.f_code.co_name != "import_module":
        return None  # an import statement (its "import" event decides)
    return _short(name)


def _hook(event, args):
    if not _state["on"] or _state["busy"] or event not in _KINDS:
        return
    _state["busy"] = True
    try:
        frame = sys._getframe(1)
        module = _imported_by_name(event, args, frame)
        if module is not None:
            _add("import", module, frame)
            return
        detail = _detail(event, args, frame)
        if detail is not None:
            _add(event, detail, frame)
    except Exception:  # noqa: BLE001 - an observer must never change what it observes
        pass
    finally:
        _state["busy"] = False


_KINDS = frozenset(KINDS)
