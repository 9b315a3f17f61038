"""One short check on a CUDA machine: CPU and GPU agree, and the big graphs train on the GPU.

Three parts, each timed, each written to ``OUT/gpu.json`` as soon as it ends (a check cut short by the machine's
time limit still leaves the parts that finished):

1. **agreement**: a small synthetic graph trained with the same seed on the CPU and on ``--device``; the test
   metrics of the two runs, and the logits of the device-trained bundle scored on the CPU and on the device
   (bundles are device-independent: the same model must give the same scores within float tolerance).
2. **musae-facebook** (shipped with the project): the defaults (``--epochs`` caps them) on ``--device``, fp32 and
   bf16; time, peak GPU memory, test Hits@20/50/100 under the benchmark protocol.
3. **ogbl-ddi** when its files are under the data root: the official split; Hits@20 against OGB's negatives
   (OGB's definition, computed here: a positive counts when it scores above the 20th best negative).

Runs from a source tree without the optional packages (``PYTHONPATH=. python benchmarks/gpu_check.py``): ogb,
ray and faiss are never imported. ``--device cpu --quick`` runs the same code on small graphs, which is how the test
suite checks the script on a machine without a GPU.

    PYTHONPATH=. python benchmarks/gpu_check.py --out $OUT            # on the GPU machine (about 10 minutes)
    .venv/bin/python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gpu_check
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def config(device: str, epochs: int | None, precision: str = "fp32", dim: int | None = None):
    """The defaults on ``device`` with ``precision``; ``epochs`` caps the default epochs (``None``: no cap)."""
    from socialgraph.bundle.config import Config

    cfg = Config()
    cfg.encoders.text = "tfidf"  # no model download; the same inputs on every machine
    cfg.train.device, cfg.train.precision = device, precision
    if epochs:
        cfg.train.epochs = min(cfg.train.epochs, epochs)
    if dim:
        cfg.model.dim = dim
    return cfg


def peak_memory(device: str) -> dict:
    import torch

    if not device.startswith("cuda"):
        return {}
    return {"peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)}


def reset_peak(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def train_on_split(graph, cfg, seed: int = 0):
    """Train under the benchmark protocol (85/5/10 split, shared negatives); ``(fitted, split, seconds)``."""
    from socialgraph.data.protocol import benchmark_split
    from socialgraph.train.links import LinkData
    from socialgraph.train.trainer import Trainer

    split = benchmark_split(graph, seed=seed)
    start = time.time()
    fitted = Trainer(cfg, progress=False).fit(graph.with_friends(split.train),
                                              LinkData(split.train, split.val, split.test, split.negatives))
    return fitted, split, time.time() - start


def agreement(device: str, quick: bool) -> dict:
    """Same seed on the CPU and on ``device``; a device-trained bundle scored on both."""
    from socialgraph.bundle.format import save_bundle
    from socialgraph.predictor import Predictor
    from socialgraph.synth import generate

    graph = generate(users=400 if quick else 3000, mean_degree=10, seed=0)
    runs = {}
    for where in ("cpu", device):
        fitted, split, seconds = train_on_split(graph, config(where, 2 if quick else 10, dim=32))
        runs[where] = {"seconds": round(seconds, 2), "test": fitted.metrics["test"]["link"]}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = save_bundle(fitted, Path(tmp) / "b")
        pairs = np.r_[split.test[:500], split.negatives[:500]]
        on_cpu = Predictor.load(bundle, device="cpu").link_logits(pairs)
        on_device = Predictor.load(bundle, device=device).link_logits(pairs)
    cpu, dev = runs["cpu"]["test"], runs[device]["test"]
    return {"graph": f"synth 400/3000 users (quick={quick})", "runs": runs,
            "auc_difference": abs(cpu["auc"] - dev["auc"]),
            "hits50_difference": abs(cpu["hits@50"] - dev["hits@50"]),
            "bundle_logit_max_abs_difference_cpu_vs_device": float(np.max(np.abs(on_cpu - on_device))),
            "bundle_scores_agree": bool(np.allclose(on_cpu, on_device, atol=1e-3))}


def musae(device: str, quick: bool, epochs: int | None) -> dict:
    from socialgraph.bench.subgraph import induced, top_users
    from socialgraph.data import load

    graph = load("musae-facebook")
    if quick:
        graph = induced(graph, top_users(graph, 1500))
    out = {"users": graph.num_users, "friend_pairs": int(len(graph.undirected_pairs()))}
    for precision in ("fp32", "bf16"):
        reset_peak(device)
        fitted, _, seconds = train_on_split(graph, config(device, 2 if quick else epochs, precision))
        link = fitted.metrics["test"]["link"]
        out[precision] = {"train_seconds": round(seconds, 1), "epochs": fitted.metrics.get("epochs"),
                          **{k: round(float(link[k]), 4) for k in ("hits@20", "hits@50", "hits@100", "auc")},
                          **peak_memory(device)}
    return out


def ddi(device: str, quick: bool, epochs: int) -> dict:
    from socialgraph.data import load
    from socialgraph.data.registry import get_card, is_present, load_ogb_split
    from socialgraph.eval.metrics import hits_at_k
    from socialgraph.train.links import LinkData
    from socialgraph.train.trainer import Trainer

    if not is_present(get_card("ogbl-ddi")):
        return {"skipped": "ogbl-ddi is not under the data root (SOCIALGRAPH_DATA)"}
    graph = load("ogbl-ddi")
    split = load_ogb_split("ogbl-ddi")
    train, valid, test = split["train"]["edge"], split["valid"]["edge"], split["test"]["edge"]
    test_neg = split["test"]["edge_neg"]
    if quick:
        train, valid, test = train[:20_000], valid[:2_000], test[:2_000]
    cfg = config(device, 1 if quick else epochs)
    cfg.train.batch_size = 65536
    reset_peak(device)
    start = time.time()
    fitted = Trainer(cfg, progress=False).fit(graph.with_friends(train), LinkData(train, valid))
    seconds = time.time() - start
    pos, neg = fitted.link_logits(test), fitted.link_logits(test_neg)
    return {"train_seconds": round(seconds, 1), "epochs": fitted.metrics.get("epochs"),
            "test_hits@20": round(100 * hits_at_k(pos, neg, 20), 2), "published_gcn_hits@20": 37.07,
            **peak_memory(device)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--quick", action="store_true", help="small graphs and 1-2 epochs (the test suite's run)")
    ap.add_argument("--epochs", type=int, default=None, help="epoch cap of the musae-facebook runs (default: the "
                    "configuration's own)")
    ap.add_argument("--ddi-epochs", type=int, default=20)
    ap.add_argument("--parts", nargs="+", default=["agreement", "musae-facebook", "ogbl-ddi"])
    args = ap.parse_args()

    import torch

    from socialgraph.train.runtime import resolve_device

    device = str(resolve_device(args.device))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "gpu.json"
    report = {"device": device, "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else
              platform.processor() or "cpu", "torch": torch.__version__, "python": platform.python_version(),
              "command": " ".join(sys.argv), "parts": {}}
    runs = {"agreement": lambda: agreement(device, args.quick),
            "musae-facebook": lambda: musae(device, args.quick, args.epochs),
            "ogbl-ddi": lambda: ddi(device, args.quick, args.ddi_epochs)}
    for name in args.parts:
        start = time.time()
        try:
            result = runs[name]()
        except Exception as err:  # record and go on: the other parts still tell something
            result = {"error": f"{type(err).__name__}: {err}"}
        result["wall_seconds"] = round(time.time() - start, 1)
        report["parts"][name] = result
        path.write_text(json.dumps(report, indent=1, default=float))
        print(f"{name}: {json.dumps(result, default=float)}", flush=True)
    print(path)


if __name__ == "__main__":
    main()
