"""The ways loading a file can run code or reach outside it, as scan names them.

Each :class:`Vector` is one flagged thing in one file: a ``kind`` from the closed
vocabulary below, ``where`` (the member, layer or graph function), and a one-line note.
The notes cite the Keras/TF behaviour that makes it a vector; which envs it actually runs
in is the measured matrix's job (issue 18), not a claim made here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from .classes import non_modeling_apis

VectorKind = Literal[
    "stored_code",  # Python bytecode in a layer config (Lambda function/output_shape/mask, Keras 1 Merge mode)
    "nested_stored_code",  # the same, inside a wrapper, a submodel or a Merge branch
    "compile_code",  # Python bytecode as the compiled loss/metric (compile_config / training_config)
    "pickle",  # a pickle stream in an archive member or a file of the model
    "npz_object",  # an .npy array of object dtype inside an .npz (np.load(allow_pickle=True) unpickles it)
    "duplicate_member",  # one name twice in the zip: readers disagree on which copy they take
    "module_import",  # a config names a module outside Keras's own packages (imported while loading)
    "risky_function",  # a config names a function known to touch files, the network or to run code
    "file_path",  # a file path or URL in a layer config (read or fetched while loading)
    "graph_file_op",  # a SavedModel graph op that reads or writes files
    "graph_py_func",  # a SavedModel graph op that calls back into Python (tf.py_function / tf.numpy_function)
    "hdf5_as_keras",  # an HDF5 file under a .keras name
]
VECTOR_KINDS: tuple[VectorKind, ...] = get_args(VectorKind)


@dataclass(frozen=True, kw_only=True)
class Vector:
    kind: VectorKind
    where: str
    note: str


# Packages a Keras 3.9+ config may name (serialization_lib._retrieve_class_or_fn), plus the ones whose
# modules a Keras file legitimately names: a class defined in the loading script (__main__), TF and numpy
# functions used as activations, Python builtins.
KERAS_PACKAGES = frozenset({"keras", "tf_keras", "keras_hub", "keras_cv", "keras_nlp"})
_ORDINARY = KERAS_PACKAGES | {"__main__", "tensorflow", "numpy", "builtins"}

# Whole modules whose functions touch the system, and single functions that do, by module.
_SYSTEM_MODULES = frozenset(
    "os posix nt subprocess shutil socket sys pty runpy importlib ctypes pickle marshal dill cloudpickle "
    "urllib requests http httpx ftplib smtplib telnetlib webbrowser code pdb tempfile glob pathlib io "
    "multiprocessing threading signal asyncio".split()
)
_RISKY_NAMES = {
    "builtins": frozenset(
        "eval exec compile open __import__ getattr setattr delattr globals locals vars breakpoint input "
        "exit quit help memoryview".split()
    ),
    "numpy": frozenset("load save savez savez_compressed savetxt loadtxt fromfile genfromtxt memmap".split()),
    "tensorflow": frozenset("read_file write_file get_file load_library load_op_library py_function".split()),
}
# Keras's own functions that touch files or the network, beyond Keras 3's NON_MODELING_APIS list:
# keras.visualization.* writes image files (plot_image_gallery saves a PNG: a reported safe_mode bypass).
_KERAS_RISKY_MODULES = ("keras.visualization", "keras.src.visualization")


def risky(module: str, name: str) -> str | None:
    """Why calling ``module.name`` while loading is a risk, or None."""
    root = module.split(".")[0]
    if root in _SYSTEM_MODULES:
        return f"{root} touches the system (files, processes or the network)"
    if root in KERAS_PACKAGES:
        api = f"{module}.{name}"
        public = f"keras.{module.split('.', 1)[1]}.{name}" if "." in module else api
        denied = non_modeling_apis()
        if api in denied or public in denied or name in {a.rsplit(".", 1)[-1] for a in denied}:
            return "a Keras function that reads, writes or fetches files, or lifts safe_mode (NON_MODELING_APIS)"
        if module.startswith(_KERAS_RISKY_MODULES):
            return "a public Keras function that writes image files"
        return None
    names = _RISKY_NAMES.get(root)
    if names and (
        name in names or "gfile" in module or module.startswith(("tensorflow.io", "tensorflow.python.lib.io"))
    ):
        return "it touches files or runs code"
    return None


def outside(module: str) -> bool:
    """True for a module a load would import that is not Keras's own or the usual ones."""
    return module.split(".")[0] not in _ORDINARY


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PATH = re.compile(r"^(/[^/\s]|~[/\\]|\.\.?[/\\]|[A-Za-z]:[\\/]|\\\\)")
# Config keys whose string value is a file or a URL that a layer opens while it is built.
PATH_KEYS = frozenset(
    "vocabulary vocabulary_path vocabulary_file vocab_file idf_weights handle filepath file_path path fname "
    "origin url".split()
)


def looks_like_path(key: str, value: str) -> bool:
    if not value or len(value) > 4096 or key == "name":
        return False
    if _URL.match(value) or _PATH.match(value):
        return True
    return key in PATH_KEYS and not value.isspace()
