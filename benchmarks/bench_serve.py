"""Load benchmark of ``socialgraph serve`` on loopback: latency and throughput of /score, /score/batch and /suggest
under N concurrent closed-loop HTTP clients, beside the same calls made in-process on a :class:`Predictor`.

    .venv/bin/python benchmarks/bench_serve.py --workdir /tmp/bench_serve            # trains a short bundle first
    .venv/bin/python benchmarks/bench_serve.py --bundle out/demo/bundle --seconds 5  # an existing bundle

Steps:

1. Train the model on the shipped MUSAE Facebook page graph (22,470 users) with a short configuration (the demo's:
   tfidf text, ``--epochs`` (4) epochs, lr 0.005, one torch thread) and save the bundle under ``--workdir``; or take
   ``--bundle``.
2. Start the real CLI, ``python -m socialgraph.cli.main serve --threads 1``, in a subprocess on a free loopback
   port and wait for ``/ready``. The subprocess is stopped at the end and on any error (it also gets SIGTERM if
   this process dies: ``PR_SET_PDEATHSIG``).
3. For each endpoint (one pair; 100 random pairs; suggest k=20) and each ``--clients`` level: that many client
   threads, each with its own ``httpx.Client`` (one keep-alive HTTP/1.1 connection), send requests back to back
   (closed loop: the next request leaves when the previous answer has been read) for ``--seconds`` or at most
   ``--max-requests`` each. Latency is timed per request around ``client.post`` (send, server work, reading the
   whole body). Request bodies are JSON-encoded ahead of time from seeded random users / pairs, so the clients
   spend as little CPU as possible: they share the machine's cores with the server. A warm-up of ``--warmup``
   requests per endpoint is not counted.
4. In this process: ``Predictor.load(bundle)`` with ``torch.set_num_threads(1)``, timing ``score``,
   ``score_pairs`` (100 pairs) and ``suggest`` (k=20) over the same kind of inputs, and where a suggestion's time
   goes (candidates: friends-of-friends and nearest neighbours; scoring and ranking; the reasons).
5. Writes ``benchmarks/results/serve.json``, ``serve.md`` and ``serve_latency.png`` (``--out``).

Threads, not asyncio tasks, are the clients: each thread is an independent blocking client with its own connection
(the way N separate callers behave), and while one waits on its socket it holds no lock, so the others keep sending.
A single asyncio loop would put every client's request encoding and response parsing on one thread, where a
response that has arrived waits for the loop to get to it; with threads it waits for the GIL instead, so either way
the clients' own CPU time is part of what is measured on a 2-core machine. ``client_cpu_pct`` and
``server_cpu_pct`` in the results say how much of the cores each side used during a run.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASET = "musae-facebook"
ENDPOINTS = ("score", "score_batch", "suggest")
PATHS = {"score": "/score", "score_batch": "/score/batch", "suggest": "/suggest"}
BATCH = 100  # pairs per /score/batch request
K = 20  # suggestions per /suggest request
AIM_MS = 50.0  # the aim: suggest p99 under 50 ms at 50 concurrent clients
AIM_CLIENTS = 50
POOL = 2000  # distinct pre-encoded request bodies per endpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=None, help="serve this bundle instead of training one")
    ap.add_argument("--workdir", type=Path, default=None, help="where the trained bundle and the server log go "
                    "(default: a new temporary folder)")
    ap.add_argument("--epochs", type=int, default=4, help="training epochs of the bundle built here (the demo's 4)")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50], help="concurrency levels")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each (endpoint, clients) run")
    ap.add_argument("--max-requests", type=int, default=5000, help="at most this many requests per client per run")
    ap.add_argument("--warmup", type=int, default=300, help="uncounted requests per endpoint before its runs")
    ap.add_argument("--inproc-calls", type=int, default=2000, help="in-process calls per method (or --seconds)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that the finally blocks stop the server

    started = time.time()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_serve_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"command": command_line(),
                     "argv": sys.argv[1:], "machine": machine_facts(), "workdir": str(workdir)}
    if args.bundle is None:
        bundle, info = train_bundle(workdir / "bundle", args.epochs)
    else:
        bundle, info = args.bundle, {"source": "given (--bundle)"}
    results["bundle"] = {"path": str(bundle), **info}

    server = ServeProcess(bundle, workdir / "server.log")
    try:
        url = server.start()
        results["server"] = {"command": server.command_line, "startup_seconds": server.startup_seconds,
                             "pid": server.proc.pid}
        ids = fetch_users(url, server.token)
        results["users"] = len(ids)
        bodies = request_bodies(ids, args.seed)
        results["http"] = http_runs(url, server, bodies, args)
    finally:
        server.stop()
    results["in_process"], results["suggest_breakdown"] = in_process(bundle, bodies, args)
    results["aim"] = aim(results["http"])
    results["seconds_total"] = round(time.time() - started, 1)
    write_results(results, args.out)


def command_line() -> str:
    exe = Path(sys.executable)
    try:
        exe = exe.relative_to(Path.cwd())
    except ValueError:
        pass
    return " ".join([str(exe), *sys.argv])


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------- facts
def machine_facts() -> dict:
    import fastapi
    import httpx
    import torch
    import uvicorn

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "cpu": cpu, "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "httpx": httpx.__version__, "uvicorn": uvicorn.__version__,
            "fastapi": fastapi.__version__, "numpy": np.__version__, "load_average_at_start": os.getloadavg(),
            "note": "server (one uvicorn process, --threads 1) and the client threads (this process) run on the same "
                    f"machine and share its {os.cpu_count()} cores; no CPU pinning; other jobs may run beside them"}


# ---------------------------------------------------------------------------------------------- the bundle
def train_bundle(path: Path, epochs: int) -> tuple[Path, dict]:
    """Train the demo's short configuration on MUSAE Facebook (one torch thread) and save it at ``path``."""
    from socialgraph.bundle.format import save_bundle
    from socialgraph.cli.demo import demo_config
    from socialgraph.data import load
    from socialgraph.train.trainer import Trainer

    cfg = demo_config("tfidf", epochs)
    cfg.train.threads = 1
    graph = load(DATASET)
    t = time.time()
    trainer = Trainer(cfg, progress=True)
    fitted = trainer.fit(graph)
    seconds = time.time() - t
    save_bundle(fitted, path, overwrite=True, history=trainer.history)
    val = trainer.history[-1] if trainer.history else {}
    info = {"source": "trained here", "dataset": graph.name, "users": int(graph.num_users),
            "friend_pairs": int(graph.num_friend_pairs), "epochs": epochs, "text": "tfidf", "lr": cfg.train.lr,
            "train_threads": 1, "train_seconds": round(seconds, 1),
            "last_validation": {k: v for k, v in val.items() if isinstance(v, (int, float))}}
    del fitted, trainer
    return path, info


# ---------------------------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class ServeProcess:
    """``socialgraph serve --threads 1`` over ``bundle`` in a subprocess on a free loopback port."""

    def __init__(self, bundle: Path, log: Path) -> None:
        self.bundle, self.log_path = bundle, log
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.command = [sys.executable, "-m", "socialgraph.cli.main", "serve", "--model", str(bundle),
                        "--host", "127.0.0.1", "--port", str(self.port), "--threads", "1"]
        self.command_line = "SOCIALGRAPH_TOKEN=... " + " ".join(self.command)
        self.proc: Optional[subprocess.Popen] = None
        self.startup_seconds = None

    def start(self, timeout: float = 300.0) -> str:
        import httpx

        self.log = open(self.log_path, "wb")
        env = {**os.environ, "SOCIALGRAPH_TOKEN": self.token}
        t = time.time()
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        url = f"http://127.0.0.1:{self.port}"
        while time.time() - t < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.proc.returncode} before it was ready:\n"
                                   + self.log_tail())
            try:
                r = httpx.get(url + "/ready", timeout=2)
                if r.status_code == 200 and r.json().get("ready"):
                    self.startup_seconds = round(time.time() - t, 1)
                    print(f"server ready on {url} after {self.startup_seconds}s "
                          f"({r.json()['users']:,} users, pid {self.proc.pid})", file=sys.stderr)
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the server was not ready within {timeout:.0f}s:\n" + self.log_tail())

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process so far (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.log.close()
        print(f"server stopped (status {self.proc.returncode})", file=sys.stderr)


def fetch_users(url: str, token: str) -> list:
    import httpx

    ids, offset = [], 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while True:
            r = c.get("/users", params={"offset": offset, "limit": 10_000})
            r.raise_for_status()
            got = r.json()
            ids += got["users"]
            offset += len(got["users"])
            if not got["users"] or offset >= got["total"]:
                return ids


def request_bodies(ids: list, seed: int) -> dict[str, list]:
    """Seeded random inputs per endpoint: ``(python arguments, pre-encoded JSON body)`` pairs."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids, dtype=object)
    out: dict[str, list] = {}
    pairs = ids[rng.integers(0, len(ids), (POOL, 2))]
    out["score"] = [((a, b), json.dumps({"u": a, "v": b}).encode()) for a, b in pairs.tolist()]
    out["score_batch"] = []
    for _ in range(POOL // 4):
        batch = ids[rng.integers(0, len(ids), (BATCH, 2))].tolist()
        out["score_batch"].append((batch, json.dumps({"pairs": batch}).encode()))
    users = ids[rng.integers(0, len(ids), POOL)].tolist()
    out["suggest"] = [(u, json.dumps({"user": u, "k": K}).encode()) for u in users]
    return out


# ---------------------------------------------------------------------------------------------- HTTP load
@dataclass
class Worker:
    latencies: list = field(default_factory=list)
    errors: int = 0
    error_kinds: dict = field(default_factory=dict)
    done: int = 0


def load_run(url: str, token: str, path: str, bodies: list, clients: int, seconds: float, max_requests: int,
             seed: int, progress: Optional[Callable[[int], None]] = None) -> dict:
    """``clients`` closed-loop client threads on ``path`` for ``seconds`` (or ``max_requests`` each)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    workers = [Worker() for _ in range(clients)]
    connected = threading.Barrier(clients + 1, timeout=120)
    go = threading.Event()
    state = {"deadline": None}

    def client(i: int) -> None:
        w = workers[i]
        at = int(np.random.default_rng([seed, i]).integers(len(bodies)))
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=url, headers=headers, timeout=60, limits=limits) as c:
            try:
                c.get("/health")  # open the connection before the clock starts
            except httpx.HTTPError:
                pass
            connected.wait()
            go.wait()
            deadline = state["deadline"]
            for n in range(max_requests):
                if time.perf_counter() >= deadline:
                    break
                body = bodies[(at + n) % len(bodies)][1]
                t = time.perf_counter()
                try:
                    r = c.post(path, content=body)
                    ok = r.status_code == 200
                    kind = str(r.status_code)
                except httpx.HTTPError as err:
                    ok, kind = False, type(err).__name__
                w.latencies.append(time.perf_counter() - t)
                w.done += 1
                if not ok:
                    w.errors += 1
                    w.error_kinds[kind] = w.error_kinds.get(kind, 0) + 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    connected.wait()  # every client has its connection open
    before = server_latency(url, token, path)
    cpu_server, cpu_client = _server_cpu(), os.times()
    t0 = time.perf_counter()
    state["deadline"] = t0 + seconds
    go.set()
    seen = 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        now = sum(w.done for w in workers)
        if progress:
            progress(now - seen)
        seen = now
    wall = time.perf_counter() - t0
    cpu_server_used = _server_cpu() - cpu_server
    c1 = os.times()
    after = server_latency(url, token, path)
    handled = after[1] - before[1]
    server_ms = 1000 * (after[0] - before[0]) / handled if handled > 0 else None
    cpu_client_used = (c1.user - cpu_client.user) + (c1.system - cpu_client.system)
    lat = np.concatenate([np.asarray(w.latencies) for w in workers]) * 1000
    errors = sum(w.errors for w in workers)
    kinds: dict = {}
    for w in workers:
        for k, v in w.error_kinds.items():
            kinds[k] = kinds.get(k, 0) + v
    return {"requests": int(len(lat)), "errors": int(errors), "error_kinds": kinds, **_stats(lat),
            "req_per_s": round(len(lat) / wall, 1), "wall_s": round(wall, 2),
            "server_mean_ms": None if server_ms is None else round(server_ms, 3),
            "server_cpu_pct": round(100 * cpu_server_used / wall, 1),
            "client_cpu_pct": round(100 * cpu_client_used / wall, 1),
            "capped_by_max_requests": bool(any(w.done >= max_requests for w in workers))}


_SERVER: Optional[ServeProcess] = None


def server_latency(url: str, token: str, path: str) -> tuple[float, float]:
    """``(seconds, count)`` so far of the server's own latency histogram for ``path`` (from ``/metrics``: the
    service's middleware times a request from the ASGI app's first sight of it to its response)."""
    import httpx

    total = count = 0.0
    try:
        text = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30).text
    except httpx.HTTPError:
        return float("nan"), float("nan")
    for line in text.splitlines():
        if f'route="{path}"' not in line:
            continue
        if line.startswith("socialgraph_request_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith("socialgraph_request_seconds_count"):
            count = float(line.rsplit(" ", 1)[1])
    return total, count


def _server_cpu() -> float:
    return _SERVER.cpu_seconds() if _SERVER is not None else float("nan")


def _stats(ms: np.ndarray) -> dict:
    if not len(ms):
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "mean_ms": None, "max_ms": None}
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"p50_ms": round(float(p50), 3), "p90_ms": round(float(p90), 3), "p99_ms": round(float(p99), 3),
            "mean_ms": round(float(ms.mean()), 3), "max_ms": round(float(ms.max()), 3)}


def http_runs(url: str, server: ServeProcess, bodies: dict, args) -> list[dict]:
    from tqdm import tqdm

    global _SERVER
    _SERVER = server
    out = []
    levels = sorted(set(args.clients))
    for endpoint in ENDPOINTS:
        path = PATHS[endpoint]
        if args.warmup:
            warm = load_run(url, server.token, path, bodies[endpoint], min(10, max(levels)), 3600,
                            max(1, args.warmup // min(10, max(levels))), args.seed + 999)
            print(f"{endpoint}: warm-up {warm['requests']} requests, {warm['errors']} errors, "
                  f"p50 {warm['p50_ms']} ms", file=sys.stderr)
            if warm["errors"]:
                raise RuntimeError(f"{endpoint}: {warm['errors']} of {warm['requests']} warm-up requests failed "
                                   f"({warm['error_kinds']}); server log:\n{server.log_tail()}")
        for clients in levels:
            with tqdm(desc=f"{endpoint:<11} x{clients:>3} clients", unit="req", leave=True) as bar:
                r = load_run(url, server.token, path, bodies[endpoint], clients, args.seconds, args.max_requests,
                             args.seed + clients, progress=bar.update)
                bar.set_postfix(p50=f"{r['p50_ms']:.1f}ms", p99=f"{r['p99_ms']:.1f}ms", rps=r["req_per_s"],
                                errors=r["errors"])
            out.append({"endpoint": endpoint, "path": path, "clients": clients, **r})
            time.sleep(0.5)
    return out


# ---------------------------------------------------------------------------------------------- in-process
def in_process(bundle: Path, bodies: dict, args) -> tuple[list[dict], dict]:
    import torch
    from tqdm import tqdm

    from socialgraph.data.adjacency import friends_of_friends
    from socialgraph.predictor import Predictor
    from socialgraph.predictor.candidates import ann_candidates

    torch.set_num_threads(1)
    t = time.time()
    p = Predictor.load(bundle)
    p.suggestion_pipeline().serialised_index()  # warm as the service does
    load_s = time.time() - t
    calls = {
        "score": lambda a: p.score(*a),
        "score_pairs": lambda a: p.score_pairs(a),
        "suggest": lambda a: p.suggest(a, K),
    }
    inputs = {"score": bodies["score"], "score_pairs": bodies["score_batch"], "suggest": bodies["suggest"]}
    rows = []
    for name, fn in calls.items():
        pool = [a for a, _ in inputs[name]]
        for a in pool[:50]:
            fn(a)  # warm-up
        lat = []
        t0 = time.perf_counter()
        for i in tqdm(range(args.inproc_calls), desc=f"in-process {name}", unit="call"):
            a = pool[(i + 50) % len(pool)]
            s = time.perf_counter()
            fn(a)
            lat.append(time.perf_counter() - s)
            if s - t0 > args.seconds:
                break
        wall = time.perf_counter() - t0
        ms = np.asarray(lat) * 1000
        rows.append({"call": f"Predictor.{name}" + ("(100 pairs)" if name == "score_pairs" else
                                                    f"(k={K})" if name == "suggest" else ""),
                     "calls": len(lat), **_stats(ms), "calls_per_s": round(len(lat) / wall, 1)})

    # Where a suggestion's time goes: the stages of SuggestionPipeline.run, then the reasons Predictor.suggest adds.
    pipe = p.suggestion_pipeline()
    users = [a for a, _ in bodies["suggest"]][:min(500, args.inproc_calls)]
    stage = {"fof": [], "ann": [], "pipeline_run": [], "suggest_total": []}
    for u in users:
        r = p.rows([u])
        s = time.perf_counter()
        friends_of_friends(pipe.seen, r, pipe.config.fof, pipe.config.fof_method)
        s1 = time.perf_counter()
        ann_candidates(pipe.index, pipe.unit, r, pipe.config.ann)
        s2 = time.perf_counter()
        pipe.run(r, k=K)
        s3 = time.perf_counter()
        p.suggest(u, K)
        s4 = time.perf_counter()
        stage["fof"].append(s1 - s)
        stage["ann"].append(s2 - s1)
        stage["pipeline_run"].append(s3 - s2)
        stage["suggest_total"].append(s4 - s3)
    mean = {k: float(np.mean(v) * 1000) for k, v in stage.items()}
    p50 = {k: float(np.median(v) * 1000) for k, v in stage.items()}
    breakdown = {
        "users": len(users), "candidate_config": {k: getattr(pipe.config, k) for k in ("fof", "fof_method", "ann")},
        "index": type(pipe.index).__name__ if pipe.index is not None else None, "load_seconds": round(load_s, 1),
        "mean_ms": {"friends_of_friends": round(mean["fof"], 3), "ann_search": round(mean["ann"], 3),
                    "filter_score_rank_count (run - candidates)":
                        round(mean["pipeline_run"] - mean["fof"] - mean["ann"], 3),
                    "reasons (suggest - run)": round(mean["suggest_total"] - mean["pipeline_run"], 3),
                    "suggest_total": round(mean["suggest_total"], 3)},
        "p50_ms": {k: round(v, 3) for k, v in p50.items()},
        "torch_threads": torch.get_num_threads()}
    return rows, breakdown


# ---------------------------------------------------------------------------------------------- report
def aim(http: list[dict]) -> dict:
    row = next((r for r in http if r["endpoint"] == "suggest" and r["clients"] == AIM_CLIENTS), None)
    text = f"suggest p99 under {AIM_MS:.0f} ms at {AIM_CLIENTS} concurrent clients"
    if row is None:
        return {"aim": text, "status": "not measured", "met": None}
    met = row["errors"] == 0 and row["p99_ms"] is not None and row["p99_ms"] < AIM_MS
    return {"aim": text, "p99_ms": row["p99_ms"], "errors": row["errors"], "met": met,
            "status": "met" if met else "NOT met"}


def write_results(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    (out / "serve.md").write_text(markdown(results))
    plot(results["http"], out / "serve_latency.png")
    print(markdown(results))
    print(f"wrote {out / 'serve.json'}, {out / 'serve.md'}, {out / 'serve_latency.png'}", file=sys.stderr)


def markdown(res: dict) -> str:
    m, b = res["machine"], res["bundle"]
    lines = ["# HTTP service load benchmark (`benchmarks/bench_serve.py`)", "",
             f"Command: `{res['command']}`", "",
             f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, torch {m['torch']}, "
             f"uvicorn {m['uvicorn']}, httpx {m['httpx']}. {m['note']}.", "",
             f"Bundle: {b.get('source')}" + (f", {b['dataset']} ({b['users']:,} users, {b['friend_pairs']:,} friend "
                                             f"pairs), {b['epochs']} epochs, tfidf text, trained in "
                                             f"{b['train_seconds']} s on 1 thread" if "dataset" in b else "") + ".",
             "",
             f"Server: `{res['server']['command']}` (ready after {res['server']['startup_seconds']} s). Clients: "
             "closed-loop threads in the benchmark process, one `httpx.Client` (keep-alive connection) each, "
             f"pre-encoded bodies; each run lasts `--seconds` or `--max-requests` per client. /score/batch carries "
             f"{BATCH} random pairs, /suggest asks k={K}. Latency = `client.post` (send to whole body read). Server-side "
             "mean: the service's own `/metrics` latency histogram over the run (from the ASGI app's first sight of "
             "a request to its response: thread-pool wait and handler, not the socket and HTTP parsing). CPU %: "
             f"CPU seconds / wall seconds (100 = one core of the {m['cores']}).", "",
             "| endpoint | clients | requests | p50 ms | p99 ms | mean ms | req/s | errors | server-side mean ms | "
             "server CPU % | client CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["http"]:
        lines.append(f"| `POST {r['path']}` | {r['clients']} | {r['requests']:,} | {_f(r['p50_ms'])} | "
                     f"{_f(r['p99_ms'])} | {_f(r['mean_ms'])} | {r['req_per_s']:,.1f} | {r['errors']} | "
                     f"{_f(r['server_mean_ms'])} | {r['server_cpu_pct']:.0f} | {r['client_cpu_pct']:.0f} |")
    lines += ["", "In-process, same kind of inputs, one thread (`torch.set_num_threads(1)`), calls back to back:", "",
              "| call | calls | p50 ms | p99 ms | mean ms | calls/s |", "|---|---:|---:|---:|---:|---:|"]
    for r in res["in_process"]:
        lines.append(f"| `{r['call']}` | {r['calls']:,} | {_f(r['p50_ms'])} | {_f(r['p99_ms'])} | "
                     f"{_f(r['mean_ms'])} | {r['calls_per_s']:,.1f} |")
    bd = res["suggest_breakdown"]
    lines += ["", f"Where an in-process `suggest` (k={K}) spends its time, mean over {bd['users']} users "
              f"(candidates {bd['candidate_config']}, index {bd['index']}):", "",
              "| stage | mean ms |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in bd["mean_ms"].items()]
    a = res["aim"]
    lines += ["", f"**Aim: {a['aim']}: {a['status']}**" + (f" (p99 {a['p99_ms']:.1f} ms, {a['errors']} errors)."
                                                         if a.get("p99_ms") is not None else "."), ""]
    return "\n".join(lines)


def _f(x) -> str:
    return "-" if x is None else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def plot(http: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ENDPOINTS), figsize=(4.2 * len(ENDPOINTS), 3.8), sharey=True)
    for ax, endpoint in zip(np.atleast_1d(axes), ENDPOINTS):
        rows = sorted((r for r in http if r["endpoint"] == endpoint), key=lambda r: r["clients"])
        x = [r["clients"] for r in rows]
        ax.plot(x, [r["p50_ms"] for r in rows], "o-", label="p50")
        ax.plot(x, [r["p99_ms"] for r in rows], "s--", label="p99")
        if endpoint == "suggest":
            ax.axhline(AIM_MS, color="grey", lw=0.8, ls=":", label=f"aim: p99 < {AIM_MS:.0f} ms")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(x, [str(v) for v in x])
        ax.set_title(f"POST {PATHS[endpoint]}")
        ax.set_xlabel("concurrent clients")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("latency (ms, log)")
    fig.suptitle("socialgraph serve on loopback, --threads 1, clients on the same 2 cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
