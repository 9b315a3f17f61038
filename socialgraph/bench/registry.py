"""Suite names -> functions, and :func:`run_suite`, which runs one and writes its JSON, markdown and plots."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from socialgraph.bench import link_suites
from socialgraph.bench.options import SuiteOptions
from socialgraph.bench.plots import write_plots
from socialgraph.bench.report import summarise, write_result
from socialgraph.bench.runinfo import code_state, run_info


def _lazy(module: str, name: str) -> Callable[[SuiteOptions], dict]:
    def run(opts: SuiteOptions) -> dict:
        import importlib

        return getattr(importlib.import_module(f"socialgraph.bench.{module}"), name)(opts)

    run.__name__ = name
    return run


SUITES: dict[str, Callable[[SuiteOptions], dict]] = {
    "social": link_suites.social,
    "planetoid": link_suites.planetoid,
    "seal": link_suites.seal,
    "ogb": link_suites.ogb,
    "engagement": _lazy("task_suites", "engagement"),
    "preference": _lazy("task_suites", "preference"),
    "ablation": _lazy("ablation", "ablation"),
    "speed": _lazy("speed", "speed"),
}


def run_suite(name: str, out_dir: Path, opts: SuiteOptions) -> dict:
    """Run suite ``name`` and write ``out_dir/name/{results.json, results.md, *.png}``; returns the result."""
    from socialgraph.config import to_dict

    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)} or all")
    started = time.time()
    code = code_state()  # the code as the suite loads it (files may change while it runs)
    part = SUITES[name](opts)
    result = {"suite": name, "quick": opts.quick, "seeds": list(opts.seeds),
              "model_config": to_dict(opts.model_config()), **part,
              "notes": opts.budget_notes() + part.get("notes", [])}
    summarise(result)
    folder = Path(out_dir) / name
    result["plots"] = write_plots(result, folder)
    result["run"] = run_info(started, code)
    write_result(result, folder)
    return result
