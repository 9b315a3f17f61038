"""The offline suggestion job on a big synthetic graph versus a per-user NetworkX Adamic-Adar loop.

Steps (each timed): generate the graph (``socialgraph.synth``); train a small feature-only model (no id vectors,
so it applies to users it never saw) on a smaller graph from the same generator and seed; carry it over to the big
graph (encode every user with the fitted encoders, message passing over every friendship) and save the bundle;
run ``socialgraph suggest`` in a subprocess (wall time and peak RSS of that process); then time a per-user NetworkX
Adamic-Adar top-k loop on a sample of users and extrapolate it to every user.

    .venv/bin/python benchmarks/bench_suggest_job.py --users 1000000 --mean-degree 20 --k 20

Writes ``benchmarks/results/suggest_job_<users>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_bundle(users: int, degree: float, train_users: int, epochs: int, seed: int, path: Path,
                 completion: int = 0, spectral: int | None = None) -> dict:
    import torch

    from socialgraph.data.adjacency import adjacency_from_edges
    from socialgraph.model.social_model import ModelShape, SocialModel
    from socialgraph.model.spectral import spectral_positions
    from socialgraph.synth import generate
    from socialgraph.bundle.format import save_bundle
    from socialgraph.bundle.config import Config
    from socialgraph.bundle.fitted import FittedModel
    from socialgraph.bundle.inputs import EncodedGraph, to_inputs
    from socialgraph.train.trainer import Trainer

    times = {}
    t = time.time()
    big = generate(users=users, mean_degree=degree, seed=seed)
    times["generate_seconds"] = round(time.time() - t, 1)
    t = time.time()
    small = generate(users=train_users, mean_degree=degree, seed=seed)
    cfg = Config()
    cfg.model.id_embedding = False  # features + friends only: the model applies to users it was not trained on
    cfg.encoders.text = "tfidf"  # the fitted encoders then encode every user of the big graph: a sentence model
    # on a million bios would take about an hour of CPU
    cfg.train.epochs, cfg.train.eval_every, cfg.train.seed = epochs, epochs, seed
    cfg.model.link_completion = completion
    if spectral is not None:
        cfg.model.link_spectral = spectral
    fitted = Trainer(cfg, progress=True).fit(small)
    times["train_seconds"] = round(time.time() - t, 1)
    t = time.time()
    enc = fitted.encoded.user_encoders
    inputs = to_inputs(enc.transform_graph(big), big.num_users)
    times["carry_over_encode_seconds"] = round(time.time() - t, 1)
    if cfg.model.link_spectral:
        # The big graph's own eigenvectors: another basis than the one the scorer was trained on, so the carried-over
        # scorer reads them as noise. This bundle measures the job's speed, not its quality.
        t = time.time()
        inputs.positions = torch.from_numpy(spectral_positions(adjacency_from_edges(big.undirected_pairs(),
                                                                                    big.num_users),
                                                               cfg.model.link_spectral, seed))
        times["spectral_positions_seconds"] = round(time.time() - t, 1)
    t = time.time()
    shape = ModelShape(num_users=big.num_users, user_dims={m: int(v.shape[1]) for m, v in inputs.x.items()},
                       num_categories=fitted.model.shape.num_categories)
    model = SocialModel(cfg.model, shape)
    model.load_state_dict(fitted.model.state_dict())
    model.eval()
    carried = FittedModel(cfg, model, big, EncodedGraph(enc, None, inputs, None), big.undirected_pairs(),
                          preference_source=fitted.preference_source, preference_names=fitted.preference_names,
                          metrics={"calibration": fitted.metrics.get("calibration"),
                                   "note": f"trained on synth {train_users} users, carried over"})
    save_bundle(carried, path, overwrite=True)
    times["carry_over_and_save_seconds"] = round(time.time() - t, 1)
    times["train_val_hits@20_50_100"] = fitted.metrics.get("best_val_hits@20_50_100")
    del big, small, fitted, carried, inputs
    torch.set_num_threads(torch.get_num_threads())
    return times


def run_job(bundle: Path, out: Path, k: int, engine: str, threads: int) -> dict:
    cmd = [str(ROOT / ".venv/bin/socialgraph"), "suggest", "--model", str(bundle), "--out", str(out), "--k", str(k),
           "--engine", engine, "--threads", str(threads), "--quiet"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t
    if proc.returncode:
        raise SystemExit(f"job failed:\n{proc.stderr[-4000:]}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"engine": engine, "threads": threads, "command": " ".join(cmd), "wall_seconds": round(wall, 1),
            "peak_rss_gib": round(max(peak_kib, before) / 2**20, 2), "result": result}


def networkx_baseline(bundle: Path, sample: int, k: int, seed: int) -> dict:
    """Per-user Adamic-Adar top-k with NetworkX on the exact subgraph each user needs (all edges touching the user
    or a friend: every common neighbour's full degree is there), timed per user and extrapolated."""
    import networkx as nx

    from socialgraph.data.folder import read_folder

    graph = read_folder(bundle / "graph")
    adj = graph.adjacency().tocsr()
    n = graph.num_users
    rng = np.random.default_rng(seed)
    users = rng.choice(n, size=sample, replace=False)
    elapsed = 0.0
    for u in users.tolist():
        nb = adj.indices[adj.indptr[u]:adj.indptr[u + 1]]
        sub = adj[np.r_[u, nb]].tocoo()
        rows = np.r_[u, nb][sub.row]
        g = nx.Graph()
        g.add_node(u)  # a user without friends has no fof candidates, and must still be timed
        g.add_edges_from(zip(rows.tolist(), sub.col.tolist()))
        t = time.perf_counter()
        friends = set(g[u])
        fof = {v for w in friends for v in g[w]} - friends - {u}
        scores = nx.adamic_adar_index(g, [(u, v) for v in fof])
        sorted(scores, key=lambda t3: -t3[2])[:k]
        elapsed += time.perf_counter() - t
    per_user = elapsed / sample
    # Like for like: the job's own Adamic-Adar top-k stage (compiled friends-of-friends kernel) over every user.
    from socialgraph.data.adjacency import adjacency_from_edges, friends_of_friends, graph_arrays

    binary = graph_arrays(adjacency_from_edges(graph.undirected_pairs(), n))  # the job keeps these per shard
    friends_of_friends(binary, users[:10], k)  # compile / load the cached kernel
    t = time.perf_counter()
    for s in range(0, n, 50_000):
        friends_of_friends(binary, np.arange(s, min(s + 50_000, n)), k)
    kernel = time.perf_counter() - t
    return {"sample_users": sample, "seconds_per_user": per_user, "extrapolated_seconds": per_user * n,
            "job_aa_topk_stage_all_users_seconds": round(kernel, 1),
            "aa_topk_speedup_like_for_like": round(per_user * n / kernel, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--mean-degree", type=float, default=20.0)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--train-users", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--completion", type=int, default=0, help="model.link_completion of the bundle's model")
    ap.add_argument("--spectral", type=int, default=None,
                    help="model.link_spectral of the bundle's model (default: the configuration's)")
    ap.add_argument("--engine", default="local")
    ap.add_argument("--nx-sample", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--reuse-bundle", action="store_true",
                    help="use WORKDIR/bundle when it exists (its build times come from WORKDIR/setup.json)")
    ap.add_argument("--build-only", action="store_true", help="build WORKDIR/bundle and stop")
    ap.add_argument("--threads", type=int, default=1, help="--threads of the job (torch / FAISS threads)")
    ap.add_argument("--job-json", type=Path, default=None,
                    help="take the job's result from this JSON (a run_job line of an earlier invocation on the same "
                         "bundle) instead of running it again")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sg-bench-job-"))
    bundle, out = work / "bundle", work / "suggestions"
    shutil.rmtree(out, ignore_errors=True)
    report = {"users": args.users, "mean_degree": args.mean_degree, "k": args.k, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version()}}
    print(f"[1/3] graph + model -> {bundle}", flush=True)
    setup_file = work / "setup.json"
    if args.reuse_bundle and (bundle / "manifest.json").is_file() and setup_file.is_file():
        report["setup"] = {**json.loads(setup_file.read_text()), "reused": True}
    else:
        report["setup"] = build_bundle(args.users, args.mean_degree, args.train_users, args.epochs, args.seed, bundle,
                                       args.completion, args.spectral)
        report["setup"].update(train_users=args.train_users, epochs=args.epochs)
        setup_file.write_text(json.dumps(report["setup"]))
    print(json.dumps(report["setup"]), flush=True)
    if args.build_only:
        return
    print("[2/3] suggest job", flush=True)
    if args.job_json is not None:
        report["job"] = {**json.loads(args.job_json.read_text()), "from": str(args.job_json)}
    else:
        report["job"] = run_job(bundle, out, args.k, args.engine, args.threads)
    print(json.dumps(report["job"]), flush=True)
    print("[3/3] networkx adamic-adar loop (sample)", flush=True)
    report["networkx"] = networkx_baseline(bundle, args.nx_sample, args.k, args.seed)
    report["speedup_vs_networkx"] = round(report["networkx"]["extrapolated_seconds"] / report["job"]["wall_seconds"], 1)
    report["targets"] = {"wall_seconds<=900": report["job"]["wall_seconds"] <= 900,
                         "peak_rss_gib<=8": report["job"]["peak_rss_gib"] <= 8,
                         "speedup>=100": report["speedup_vs_networkx"] >= 100}
    dest = ROOT / "benchmarks" / "results" / f"suggest_job_{args.users}.json"
    dest.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
