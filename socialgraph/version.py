"""The library version, written into every bundle's manifest (kept in step with pyproject.toml)."""

__version__ = "0.1.0"
