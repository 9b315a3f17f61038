"""socialgraph: predict social relationships from multimodal user features with attention graph networks."""

__version__ = "0.1.0"
