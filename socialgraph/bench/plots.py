"""PNG plots of a suite result with matplotlib's Agg backend: bars per dataset (every method, error bars = standard
deviation over seeds), the main metric by degree bucket, and validation quality against training time."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from socialgraph.bench.report import _bucket_order, is_rate


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bars(result: dict, path: Path, metric: str | None = None) -> Path | None:
    """Grouped bars: one group per dataset, one bar per method."""
    metric = metric or result["main_metric"]
    data = {n: d["summary"] for n, d in result["datasets"].items() if d.get("summary")}
    if not data:
        return None
    methods = list(dict.fromkeys(m for s in data.values() for m in s if metric in s[m]))
    if not methods:
        return None
    plt = _plt()
    scale = 100 if is_rate(metric) else 1
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(data) * max(1, len(methods)) / 3), 4))
    width = 0.8 / len(methods)
    x = np.arange(len(data))
    for i, m in enumerate(methods):
        mean = [scale * s.get(m, {}).get(metric, {}).get("mean", np.nan) for s in data.values()]
        std = [scale * s.get(m, {}).get(metric, {}).get("std", 0.0) for s in data.values()]
        ax.bar(x + i * width - 0.4 + width / 2, mean, width, yerr=std, label=m, capsize=2)
    ax.set_xticks(x, list(data), rotation=15, ha="right")
    ax.set_ylabel(metric + (" (%)" if scale == 100 else ""))
    ax.set_title(f"{result['suite']}: {metric}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bucket_lines(result: dict, path: Path) -> Path | None:
    """Main metric per degree bucket, one panel per dataset, one line per method."""
    data = {n: d["bucket_summary"] for n, d in result["datasets"].items() if d.get("bucket_summary")}
    if not data:
        return None
    main = result["main_metric"]
    plt = _plt()
    fig, axes = plt.subplots(1, len(data), figsize=(4 * len(data), 3.4), squeeze=False)
    for ax, (name, bs) in zip(axes[0], data.items()):
        for m, v in bs.items():
            names = sorted(v, key=_bucket_order)
            ax.plot(names, [100 * v[b][main] if is_rate(main) else v[b][main] for b in names], marker="o", label=m)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("min training degree of the pair")
    axes[0][0].set_ylabel(main)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def curves(result: dict, path: Path) -> Path | None:
    """Validation Hits@50 against training seconds (the model's history), with each dataset's best heuristic."""
    series = []
    for name, d in result["datasets"].items():
        for r in d.get("runs", []):
            h = r["methods"].get("model", {}).get("history")
            if h:
                series.append((name, h, r.get("best_heuristic_val_hits@50")))
                break
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, h, ref in series:
        line, = ax.plot([e["seconds"] for e in h], [100 * e["val_hits@50"] for e in h], marker=".", label=name)
        if ref is not None:
            ax.axhline(100 * ref, color=line.get_color(), linestyle="--", linewidth=0.8)
    ax.set_xlabel("training seconds")
    ax.set_ylabel("validation Hits@50 (%)  (dashed: best heuristic)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(result: dict, out_dir: Path) -> list[str]:
    """Every plot that applies to ``result``; returns file names relative to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = [bars(result, out_dir / f"{result['suite']}_bars.png"),
            bucket_lines(result, out_dir / f"{result['suite']}_buckets.png"),
            curves(result, out_dir / f"{result['suite']}_curves.png")]
    return [p.name for p in made if p is not None]
