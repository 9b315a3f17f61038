"""Training: the trainer and what only training needs (positions, sampling, targets, runtime settings). What a
training run produces lives in :mod:`socialgraph.bundle`."""
