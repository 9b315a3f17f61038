"""Training: configuration, trainer, fitted model, bundles on disk."""
