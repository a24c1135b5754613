"""The run side: grid, catalog, pairs, envs, the harness sessions, the engine and the results it collects."""
