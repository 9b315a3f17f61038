"""``socialgraph benchmark SUITE``: link-prediction benchmark suites with baselines side by side.

Writes ``OUT/SUITE/results.json`` (every number, seeds, versions, command line, wall time, peak memory),
``results.md`` and PNG plots; ``SUITE`` ``all`` runs every suite, ``docs`` only rebuilds ``docs/benchmarks.md`` from
what ``OUT`` holds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from socialgraph.cli.common import fail, progress_bars


def benchmark(
    suite: str = typer.Argument(..., help="social, planetoid, seal, ogb, engagement, preference, ablation, speed, "
                                          "all, or docs (rebuild the docs page only)."),
    out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Folder for results (one sub-folder per suite)."),
    seeds: int = typer.Option(3, "--seeds", min=1, help="Seeds 0..N-1 (splits and training); --quick uses 1."),
    quick: bool = typer.Option(False, "--quick", help="Small datasets, tiny model, few epochs: proves it runs (CI)."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML model configuration (default: defaults)."),
    max_epochs: Optional[int] = typer.Option(None, "--max-epochs", min=1, help="Cap on the model's training epochs."),
    baseline_epochs: Optional[int] = typer.Option(None, "--baseline-epochs", min=1,
                                                  help="Cap on the graph-autoencoder baselines' epochs (300)."),
    docs: str = typer.Option("docs/benchmarks.md", "--docs",
                                        help="Rebuild this docs page from OUT afterwards ('' to skip)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Run a benchmark suite: the model and baselines, same splits.

    The project's model and every baseline see the same split, negatives and
    evaluator. Writes OUT/SUITE/results.json, results.md and plots, then
    rebuilds docs/benchmarks.md from OUT (--docs '' skips that). Full suites
    take hours; --quick proves a suite runs in minutes.

    Examples:

      socialgraph benchmark seal --quick --out /tmp/bench --docs ''

      socialgraph benchmark social --seeds 3 --out benchmarks/results

      socialgraph benchmark docs --out benchmarks/results
    """
    from socialgraph.bench import SUITES, run_suite, write_docs
    from socialgraph.bench.options import SuiteOptions

    names = list(SUITES) if suite == "all" else [] if suite == "docs" else [suite]
    if suite not in SUITES and suite not in ("all", "docs"):
        fail(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}, all or docs")
    cfg = None
    if config is not None:
        from socialgraph.config import load_yaml
        from socialgraph.bundle.config import Config

        cfg = load_yaml(Config, config)
    opts = SuiteOptions(seeds=list(range(1 if quick else seeds)), quick=quick, config=cfg, max_epochs=max_epochs,
                        baseline_epochs=baseline_epochs, progress=progress)
    for name in names:
        with progress_bars(progress):
            result = run_suite(name, out, opts)
        typer.echo(f"{name}: {out / name / 'results.md'} ({result['run']['wall_seconds']:.0f} s)")
        for ds, d in result["datasets"].items():
            for metric, c in d.get("target_check", {}).items():
                typer.echo(f"  {ds} {metric}: model {c['model']} vs target {c['target']}: "
                           f"{'reached' if c['reached'] else 'NOT reached'}")
    if docs.strip():
        typer.echo(f"docs: {write_docs(out, Path(docs))}")
