"""The errors a user can act on.

One exception family, each with a one-line message and the process exit code
(as in ``cibuildwheel/errors.py``); anything else escaping is a bug and keeps
its traceback.
"""

from __future__ import annotations


class KerasCompatError(Exception):
    """Base of every user-facing error: a one-line message and an exit code."""

    exit_code = 2


class GridError(KerasCompatError):
    """The grid file is invalid (unknown key, bad version, duplicate row id)."""


class ResultsError(KerasCompatError):
    """A results.json does not follow the contract in docs/results-format.md."""


class SelectionError(KerasCompatError):
    """A --rows/--scenarios/--formats selection matches nothing or names an unknown id."""


class EnvError(KerasCompatError):
    """An environment could not be built (resolver or interpreter failure)."""


class RunningError(KerasCompatError):
    """Another run holds the work folder (one run per folder: runner/run/store.py WorkLock)."""


class HarnessDefect(KerasCompatError):
    """keras-compat's own harness code raised while answering a request: a defect of keras-compat,
    never a finding about TensorFlow or Keras. The run fails and publishes nothing; the cells that
    were not hit are kept in the results cache, so the run resumes once the defect is fixed."""

    exit_code = 3
