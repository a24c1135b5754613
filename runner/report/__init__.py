"""The report side: MATRIX.md, index.html, badges, diffs and upgrade notes from results.json files.

It reads results through ``runner.core`` only and never imports the run side
(``tests/test_layers.py`` keeps it so). Entry point: :func:`runner.report.publish.publish`.
"""
