"""socialgraph: predict social relationships from multimodal user features with attention graph networks."""

from socialgraph.version import __version__

__all__ = ["Predictor", "__version__"]


def __getattr__(name: str):
    # Lazy: `import socialgraph` stays light; torch and the model load on first use of the predictor.
    if name == "Predictor":
        from socialgraph.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'socialgraph' has no attribute {name!r}")
