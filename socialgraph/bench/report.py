"""Aggregate per-seed results (mean and standard deviation) and write a suite's JSON and markdown.

A suite result is ``{"suite", "quick", "seeds", "main_metric", "datasets": {name: {"protocol", "sizes", "runs",
"anchors", "targets", "notes"}}, "skipped": {name: reason}, "run": {...}}``; every run holds
``{"methods": {method: {"test": {metric: value}, "buckets": {...}, ...}}}``. :func:`summarise` adds ``summary``
(``{method: {metric: {"mean", "std"}}}``), ``bucket_summary`` and ``target_check`` to every dataset.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

_RATE_PREFIXES = ("hits@", "mrr", "auc", "ap", "recall@", "ndcg@")


def is_rate(metric: str) -> bool:
    """Metrics in [0, 1], shown as percentages."""
    return metric.startswith(_RATE_PREFIXES) or "hits@" in metric


def _stats(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v))}


def _numeric(d: dict) -> dict[str, float]:
    # None is how results.json stores NaN (a metric that was not measured, e.g. a time never reached).
    return {k: math.nan if v is None else float(v) for k, v in d.items()
            if (v is None or isinstance(v, (int, float))) and not isinstance(v, bool) and k not in ("n", "users")}


def summarise(result: dict) -> dict:
    """Add ``summary``, ``bucket_summary`` and ``target_check`` to each dataset of ``result`` (in place)."""
    main = result["main_metric"]
    for ds in result["datasets"].values():
        runs = ds.get("runs", [])
        summary: dict = {}
        buckets: dict = {}
        for m in (runs[0]["methods"] if runs else {}):
            per_run = [_numeric(r["methods"][m].get("test", {})) for r in runs if m in r["methods"]]
            keys = sorted(set().union(*per_run)) if per_run else []
            summary[m] = {k: _stats([p[k] for p in per_run if k in p]) for k in keys}
            for extra in ("fit_seconds", "pairs_per_second"):
                vals = [r["methods"][m][extra] for r in runs if extra in r["methods"].get(m, {})]
                if vals:
                    summary[m]["_" + extra] = _stats(vals)
            b = runs[0]["methods"][m].get("buckets")
            if b:
                buckets[m] = {name: {"n": v["n"], main: _stats([r["methods"][m]["buckets"].get(name, {}).get(main,
                                                                                                        math.nan)
                                                               for r in runs])["mean"]}
                              for name, v in b.items()}
        ds["summary"], ds["bucket_summary"] = summary, buckets
        check = {}
        for metric, target in ds.get("targets", {}).items():
            got = summary.get("model", {}).get(metric, {}).get("mean")
            if got is not None:
                shown = 100 * got if is_rate(metric) else got
                check[metric] = {"target": target, "model": round(shown, 2), "reached": bool(shown >= target)}
        ds["target_check"] = check
    return result


def _fmt(metric: str, s: dict) -> str:
    scale = 100 if is_rate(metric) else 1
    if math.isnan(s["mean"]):
        return "—"
    if s.get("n", 1) > 1:
        return f"{scale * s['mean']:.2f} ± {scale * s['std']:.2f}"
    return f"{scale * s['mean']:.2f}"


def markdown(result: dict) -> str:
    """The suite as markdown: one table per dataset (methods x metrics), degree buckets, anchors and targets."""
    seeds = result["seeds"]
    lines = [f"## Suite `{result['suite']}`" + (" (quick)" if result["quick"] else ""), "",
             f"Seeds: {seeds}. Rates in %, mean ± standard deviation over seeds. "
             f"Command: `{result.get('run', {}).get('command', '')}`; wall time "
             f"{result.get('run', {}).get('wall_seconds', 0):.0f} s; peak RSS "
             f"{result.get('run', {}).get('peak_rss_mib', 0):.0f} MiB." + _code_line(result.get("run", {})), ""]
    for text in result.get("notes", []):
        lines += [f"> {text}", ""]
    main = result["main_metric"]
    for name, ds in result["datasets"].items():
        summary = ds.get("summary", {})
        if not summary:
            continue
        metrics = list(dict.fromkeys(k for s in summary.values() for k in s if not k.startswith("_")))
        metrics = sorted(metrics, key=lambda k: (k != main, k))
        lines += [f"### {name} ({ds.get('protocol', '')})", ""]
        if ds.get("sizes"):
            lines += [", ".join(f"{k} {v}" for k, v in ds["sizes"].items()), ""]
        lines += ["| method | " + " | ".join(metrics) + " | fit s |", "|" + "---|" * (len(metrics) + 2)]
        for m, s in summary.items():
            fit = s.get("_fit_seconds", {}).get("mean")
            lines.append(f"| {m} | " + " | ".join(_fmt(k, s[k]) if k in s else "" for k in metrics) +
                         f" | {'' if fit is None else f'{fit:.1f}'} |")
        lines.append("")
        if ds.get("anchors"):
            lines += ["Published anchors: " + "; ".join(f"{k} {v}" for k, v in ds["anchors"].items()), ""]
        for metric, c in ds.get("target_check", {}).items():
            shown = "reached" if c["reached"] else "**not reached**"
            lines += [f"Target {metric} >= {c['target']}: model {c['model']} — {shown}.", ""]
        bs = ds.get("bucket_summary", {})
        if bs:
            names = sorted({b for v in bs.values() for b in v}, key=_bucket_order)
            first = next(iter(bs.values()))
            lines += [f"{main} by degree bucket (min training degree of the pair's ends; positives per bucket in "
                      "the header, negatives shared):", "",
                      "| method | " + " | ".join(f"{b} (n={first.get(b, {}).get('n', 0)})" for b in names) + " |",
                      "|" + "---|" * (len(names) + 1)]
            for m, v in bs.items():
                lines.append(f"| {m} | " + " | ".join(
                    "" if b not in v or math.isnan(v[b][main]) else
                    f"{(100 if is_rate(main) else 1) * v[b][main]:.2f}" for b in names) + " |")
            lines.append("")
        for text in ds.get("notes", []):
            lines += [f"- {text}"]
        if ds.get("notes"):
            lines.append("")
    for name, reason in result.get("skipped", {}).items():
        lines += [f"- skipped **{name}**: {reason}"]
    for png in result.get("plots", []):
        lines += ["", f"![{png}]({png})"]
    return "\n".join(lines).rstrip() + "\n"


def _code_line(run: dict) -> str:
    code = run.get("code") or {}
    if not code.get("commit"):
        return ""
    dirty = code.get("uncommitted") or []
    return (f" Code: commit `{code['commit'][:10]}`" +
            (f" plus uncommitted changes to {', '.join(f'`{p}`' for p in dirty)}." if dirty else "."))


def _bucket_order(b: str) -> tuple:
    return ({"0": 0, "1-2": 1, "3-5": 2, "6-20": 3, ">20": 4}.get(b, 9), b)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        return _clean(x.item())
    return x


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (no half-written file on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_result(result: dict, out_dir: Path) -> tuple[Path, Path]:
    """``results.json`` (every number, NaN as null) and ``results.md`` in ``out_dir``."""
    j, md = out_dir / "results.json", out_dir / "results.md"
    write_atomic(j, json.dumps(_clean(result), indent=1))
    write_atomic(md, markdown(result))
    return j, md
