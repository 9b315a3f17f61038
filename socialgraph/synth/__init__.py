"""Synthetic social graphs with planted communities, homophilous multimodal attributes and triadic closure."""
from socialgraph.synth.generator import SynthConfig, generate, write_synthetic

__all__ = ["SynthConfig", "generate", "write_synthetic"]
