"""The trained model, the neutral layer between training and prediction (DESIGN.md: train writes it, the
predictor reads it, neither imports the other).

- :mod:`~socialgraph.bundle.config`: the run's configuration, recorded in every bundle.
- :mod:`~socialgraph.bundle.inputs`: fitted modality encoders and the encoded inputs they produce.
- :mod:`~socialgraph.bundle.fitted`: :class:`FittedModel`, network + inputs + the message-passing graph.
- :mod:`~socialgraph.bundle.calibration`: logits to probabilities (Platt scaling fitted on validation pairs).
- :mod:`~socialgraph.bundle.format`: the folder on disk (safetensors, JSON, Parquet), verified before loading.
"""
