"""The core: vocabulary, cells, status rules, error signatures, versions, release lines and the
results file. It imports only itself and the harness's protocol module."""
