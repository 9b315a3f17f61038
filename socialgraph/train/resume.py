"""Resumable training state: what a run needs to go on after a kill exactly as if it had never stopped.

A run given a state folder writes ``state.pt`` there at the end of every epoch and, within an epoch, after the first
step ``train.checkpoint_seconds`` past the last write (0: after every step). It holds the model's, the losses', the
optimiser's and the learning-rate schedule's state, the early-stopping best and count, the metrics history, where
the run is (:class:`EpochCursor`: the epoch, its order of targets, the next step, the loss summed so far), the
run's numpy generator (targets, negatives, samples) and torch's global one (dropout, modality dropout). Everything
else a run holds (split, encoded inputs, validation negatives, positions, folds)
:func:`~socialgraph.train.setup.prepare` rebuilds from the seed, so a resumed run's every later draw, step and
validation pass is the uninterrupted run's: the same seed gives the same weights (on a CPU, bit for bit).

Each write goes to a temporary file that is flushed and renamed over ``state.pt``, so a kill at any moment leaves
the previous state whole. ``progress.json`` beside it says which epoch and step the state is at.

A state is tied to its run by :func:`run_fingerprint` (the configuration and the friendships it trains and
validates on): resuming with other settings or other data is refused with the keys that differ.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from socialgraph import storage
from socialgraph.bundle.config import Config
from socialgraph.config import to_dict
from socialgraph.train.early_stopping import EarlyStopping
from socialgraph.train.links import LinkData
from socialgraph.train.setup import TrainingSetup

STATE = "state.pt"
PROGRESS = "progress.json"
FORMAT = 1
# Settings that change how a run is carried out, not what it computes.
_NEUTRAL = {("train", "threads"), ("train", "checkpoint_seconds")}


@dataclass
class EpochCursor:
    """Where a run is within epoch ``epoch`` (0-based): the permutation of training pairs and the order of steps
    it drew (``None``: not drawn yet, the epoch has not begun), the next ``step`` (an index into ``order``) and the
    sum of the losses of the steps before it."""

    epoch: int
    perm: Optional[np.ndarray] = None
    order: Optional[np.ndarray] = None
    step: int = 0
    total: float = 0.0


def run_fingerprint(config: Config, links: LinkData, num_users: int) -> dict:
    """What ties a state to its run: the configuration (less the settings that do not change results) and a digest
    of the training and validation friendships and the user count."""
    cfg = to_dict(config)
    for section, key in _NEUTRAL:
        cfg.get(section, {}).pop(key, None)
    h = hashlib.sha256(str(num_users).encode())
    for pairs in (links.train, links.val):
        h.update(np.ascontiguousarray(pairs, dtype=np.int64).tobytes())
    return {"config": cfg, "data": h.hexdigest()}


def _differences(saved: dict, now: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(saved) | set(now))
    out = []
    for k in keys:
        a, b = saved.get(k), now.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k} ({a!r} then, {b!r} now)")
    return out


def _generator_state(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def save_state(folder: Path, setup: TrainingSetup, stopping: EarlyStopping, history: list[dict],
               cursor: EpochCursor, elapsed: float, fingerprint: dict) -> None:
    """Write the run's state at ``cursor`` atomically to ``folder/state.pt`` (``elapsed``: training seconds so
    far), then ``progress.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {
        "format": FORMAT, "fingerprint": json.dumps(fingerprint, sort_keys=True),
        "model": setup.model.state_dict(), "losses": setup.step.mtl.state_dict(),
        "optimizer": setup.optimizer.state_dict(), "scheduler": setup.scheduler.state_dict(),
        "stopping": {"best": stopping.best, "bad": stopping.bad, "record": json.dumps(stopping.best_record),
                     "state": stopping.best_state},
        "history": json.dumps(history),
        "cursor": {"epoch": cursor.epoch, "step": cursor.step, "total": cursor.total,
                   "perm": None if cursor.perm is None else torch.from_numpy(np.asarray(cursor.perm)),
                   "order": None if cursor.order is None else torch.from_numpy(np.asarray(cursor.order))},
        "elapsed": elapsed,
        "rng": _generator_state(setup.rng), "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if setup.device.type == "cuda" else None,
    }
    tmp = folder / f".{STATE}.tmp-{os.getpid()}"
    try:
        torch.save(state, tmp)
        storage.fsync_file(tmp)
        os.replace(tmp, folder / STATE)
        storage.fsync_dir(folder)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    progress = {"epoch": cursor.epoch, "step": cursor.step, "epochs": setup.fitted.config.train.epochs,
                "steps": setup.steps, "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    ptmp = folder / f".{PROGRESS}.tmp-{os.getpid()}"
    ptmp.write_text(json.dumps(progress) + "\n")
    os.replace(ptmp, folder / PROGRESS)


def has_state(folder: Path) -> bool:
    """Whether ``folder`` holds a run's state."""
    return (Path(folder) / STATE).is_file()


def read_progress(folder: Path) -> dict:
    """``progress.json`` of a state folder (``{}`` when absent or unreadable)."""
    try:
        return json.loads((Path(folder) / PROGRESS).read_text())
    except (OSError, ValueError):
        return {}


@dataclass
class ResumePoint:
    """A loaded state, to be put back into a freshly prepared run by :meth:`restore`."""

    state: dict
    path: Path

    def restore(self, setup: TrainingSetup, stopping: EarlyStopping) -> tuple[list[dict], EpochCursor, float]:
        """Load the state into ``setup`` and ``stopping``; ``(history, cursor, elapsed seconds)``."""
        s = self.state
        setup.model.load_state_dict(s["model"])
        setup.step.mtl.load_state_dict(s["losses"])
        setup.optimizer.load_state_dict(s["optimizer"])
        setup.scheduler.load_state_dict(s["scheduler"])
        st = s["stopping"]
        stopping.best, stopping.bad = float(st["best"]), int(st["bad"])
        stopping.best_record, stopping.best_state = json.loads(st["record"]), st["state"]
        setup.rng.bit_generator.state = json.loads(s["rng"])
        torch.set_rng_state(s["torch"])
        if s["cuda"] is not None and setup.device.type == "cuda":
            torch.cuda.set_rng_state_all(s["cuda"])
        c = s["cursor"]
        cursor = EpochCursor(int(c["epoch"]), None if c["perm"] is None else c["perm"].numpy(),
                             None if c["order"] is None else c["order"].numpy(), int(c["step"]), float(c["total"]))
        return json.loads(s["history"]), cursor, float(s["elapsed"])


def load_state(folder: Path, fingerprint: dict) -> ResumePoint:
    """The state in ``folder``, checked against this run's ``fingerprint``.

    Raises:
        ValueError: there is no state, it is unreadable or of another format, or it belongs to a run with other
            settings (named) or other friendships.
    """
    path = Path(folder) / STATE
    if not path.is_file():
        raise ValueError(f"{folder}: no training state to resume ({STATE} is missing); run without --resume")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same answer
        raise ValueError(f"{path}: cannot read the training state ({err}); delete {folder} and run without "
                         f"--resume") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a training state of this version of socialgraph; delete {folder} and run "
                         f"without --resume")
    saved = json.loads(state["fingerprint"])
    diff = _differences(saved["config"], fingerprint["config"])
    if diff:
        raise ValueError(f"{folder}: the interrupted run had other settings: {'; '.join(diff)}. Resume with the "
                         f"same settings, or delete {folder} to start again")
    if saved["data"] != fingerprint["data"]:
        raise ValueError(f"{folder}: the interrupted run trained on other friendships (or another split); resume "
                         f"with the same data, or delete {folder} to start again")
    return ResumePoint(state, path)


__all__ = ["EpochCursor", "ResumePoint", "has_state", "load_state", "read_progress", "run_fingerprint",
           "save_state"]
