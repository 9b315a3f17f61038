"""Seconds of two attention layers' forward and backward pass on musae-facebook, one convolution beside another.

The layers are the graph encoder's (:class:`~socialgraph.model.graph_encoder.GraphEncoder`, dim 64, 2 heads,
dropout 0.1, training mode) over the shipped musae-facebook friendships (22,470 users, 342,004 directed edges plus
self-loops), with random inputs; the loss is the squared sum of the output. Each convolution runs ``--repeats``
times after one warm-up, in the same process, and the median is kept. ``gat`` is
:class:`~socialgraph.model.sparse_gat.SparseGATConv` (the default), ``gat-pyg`` PyG's ``GATConv`` with the same
weights; the two outputs are compared too.

Writes ``OUT/gat_layers.json`` and prints a table.

Usage: .venv/bin/python benchmarks/gat_layers.py [--threads 2] [--repeats 5] [--out benchmarks/results/speed]
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch_geometric.nn import GATConv

from socialgraph.bench.runinfo import code_state
from socialgraph.data import load
from socialgraph.model.graph_encoder import FRIEND, GraphEncoder

OUT = Path(__file__).parent / "results" / "speed"


def _edges() -> tuple[torch.Tensor, int]:
    g = load("musae-facebook")
    e = g.friends[g.friends[:, 0] != g.friends[:, 1]]
    return torch.from_numpy(np.r_[e, e[:, ::-1]].T.copy()), g.num_users


def _encoder(conv: str) -> GraphEncoder:
    torch.manual_seed(0)
    enc = GraphEncoder(64, num_layers=2, heads=2, conv="gat" if conv == "gat-pyg" else conv, dropout=0.1)
    if conv == "gat-pyg":  # PyG's own layer with the same weights
        for i, c in enumerate(enc.convs):
            ref = GATConv(64, 32, heads=2, dropout=0.1)
            ref.load_state_dict(c.state_dict())
            enc.convs[i] = ref
    return enc


def seconds(conv: str, x: torch.Tensor, edge_index: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    enc = _encoder(conv)
    times = []
    for _ in range(repeats + 1):
        torch.manual_seed(1)
        start = time.perf_counter()
        out = enc({"user": x}, {FRIEND: edge_index})["user"]
        out.square().sum().backward()
        times.append(time.perf_counter() - start)
    enc.eval()
    with torch.no_grad():
        ref = enc({"user": x}, {FRIEND: edge_index})["user"]
    return float(np.median(times[1:])), ref


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    edge_index, n = _edges()
    x = torch.randn(n, 64, generator=torch.Generator().manual_seed(0))
    rows, outs = [], {}
    for conv in ("gat", "gat-pyg", "gatv2", "transformer", "mean"):
        s, outs[conv] = seconds(conv, x, edge_index, args.repeats)
        rows.append({"conv": conv, "seconds": round(s, 4)})
        print(f"{conv:12s} {s:7.3f} s", flush=True)
    result = {"command": "benchmarks/gat_layers.py " + shlex.join(sys.argv[1:] if argv is None else argv),
              "code": code_state(), "threads": args.threads, "users": n, "directed_edges": int(edge_index.shape[1]),
              "rows": rows, "gat_vs_pyg_max_abs_difference": float((outs["gat"] - outs["gat-pyg"]).abs().max())}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gat_layers.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"eval-mode outputs, gat against gat-pyg: max |difference| {result['gat_vs_pyg_max_abs_difference']:.2e}")
    return result


if __name__ == "__main__":
    main()
