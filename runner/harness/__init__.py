"""The in-env harness: runs inside a target environment, never in the orchestrator.

It runs with the row's own interpreter (Python 3.7 - 3.13, TensorFlow 2.0 - 2.21)
and imports only the standard library, numpy, TensorFlow, Keras (and what the
scenarios import). It never imports the orchestrator: the only module both sides
share is :mod:`runner.harness.protocol` (stdlib only, Python 3.7 syntax).

Start it as ``python -m runner.harness serve`` with the repository on PYTHONPATH.
"""
