"""Steps a second of data-parallel training with 1 and 2 worker processes on this machine (``torchrun``, gloo).

Each configuration trains the same run (``--epochs`` epochs, default settings otherwise, TF-IDF text) under
``torchrun --nproc_per_node P`` with ``T`` torch threads a process, in a fresh process group; a step's seconds are
the epochs' step time (``step_seconds`` of the metrics history, validation excluded) over their steps. Graphs:
musae-facebook in full mode (every rank passes messages over the whole graph and scores its half of the pairs) and
a synthetic graph in sampled mode (each rank samples, embeds and scores only its half). Writes
``OUT/ddp_workers.json`` and ``.md`` and prints the table.

Usage: .venv/bin/python benchmarks/ddp_workers.py [--synthetic-users 50000] [--epochs 2] [--out benchmarks/results/speed]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "results" / "speed"
# (processes, threads a process): one process on one core, one process on both, one process a core
LAYOUTS = ((1, 1), (1, 2), (2, 1))


def worker(source: str, out: str, epochs: int, mode: str) -> None:
    """One rank's run (started by torchrun): train, then rank 0 writes the history."""
    from socialgraph.bundle.config import Config
    from socialgraph.data import load
    from socialgraph.train.trainer import Trainer

    cfg = Config()
    cfg.encoders.text, cfg.train.epochs, cfg.train.eval_every, cfg.train.mode = "tfidf", epochs, epochs, mode
    cfg.train.device = "cpu"
    trainer = Trainer(cfg, progress=False)
    trainer.fit(load(source))
    if os.environ.get("RANK", "0") == "0":
        Path(out).write_text(json.dumps(trainer.history))


def measure(source: str, mode: str, epochs: int, processes: int, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "history.json"
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               __file__, "--worker", source, str(out), str(epochs), mode]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        history = json.loads(out.read_text())
    steps = sum(r["steps"] for r in history)
    seconds = sum(r["step_seconds"] for r in history)
    return {"processes": processes, "threads": threads, "steps": steps, "step_seconds": round(seconds, 2),
            "steps_per_second": round(steps / seconds, 3), "wall_seconds": round(wall, 1),
            "val_hits@50": history[-1].get("val_hits@50")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        worker(argv[1], argv[2], int(argv[3]), argv[4])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic-users", type=int, default=50_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    from socialgraph.bench.runinfo import code_state
    from socialgraph.synth import SynthConfig, write_synthetic

    with tempfile.TemporaryDirectory() as tmp:
        synth = write_synthetic(SynthConfig(users=args.synthetic_users, mean_degree=20, seed=0), Path(tmp) / "s")
        graphs = {"musae-facebook (full)": ("musae-facebook", "full"),
                  f"synthetic {args.synthetic_users:,} users (sampled)": (str(synth), "sampled")}
        rows = []
        for name, (source, mode) in graphs.items():
            for p, t in LAYOUTS:
                r = {"graph": name, **measure(source, mode, args.epochs, p, t)}
                print(json.dumps(r), flush=True)
                rows.append(r)
    result = {"command": "python " + " ".join(shlex.quote(a) for a in ["benchmarks/ddp_workers.py", *argv]),
              "code": code_state(), "epochs": args.epochs, "cpus": os.cpu_count(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ddp_workers.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["| graph | processes x threads | steps/s | step seconds | wall s | val Hits@50 |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['graph']} | {r['processes']} x {r['threads']} | {r['steps_per_second']:.3f} | "
                     f"{r['step_seconds']:.1f} | {r['wall_seconds']:.1f} | {r['val_hits@50']:.4f} |")
    (args.out / "ddp_workers.md").write_text(f"Command: `{result['command']}`\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
