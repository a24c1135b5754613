"""``keras-compat scan``: what a model file holds and what the grid predicts for it, without running it."""
