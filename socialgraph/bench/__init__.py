"""Link-prediction benchmark suites: the project's model beside the usual baselines, on the same split, the same
negatives and the same evaluator, written out as JSON, markdown tables and plots.

``run_suite(name, out_dir, seeds=..., quick=...)`` runs one suite (see :data:`SUITES`); ``write_docs`` collects every
suite's results into ``docs/benchmarks.md``.
"""
from __future__ import annotations

from socialgraph.bench.registry import SUITES, run_suite
from socialgraph.bench.docs import write_docs

__all__ = ["SUITES", "run_suite", "write_docs"]
