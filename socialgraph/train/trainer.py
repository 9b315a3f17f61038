"""One trainer for full-batch and neighbour-sampled training of every head at once.

A run has three stages. :func:`~socialgraph.train.setup.prepare` splits, encodes, draws validation negatives,
computes positions and builds the model. The epochs then run training steps
(:func:`~socialgraph.train.step.training_step`): each takes a batch of training friend pairs as link targets and
removes them from the step's message-passing graph (and from the structural features), so a positive never sees
its own edge; negatives are uniform non-edges of the whole training graph (a share ``hard_negative_ratio`` among
friends-of-friends). When the link scorer reads positions, the steps' targets are fixed folds and each step reads
positions computed without its fold. The engagement, preference and reconstruction losses ride on the same forward
pass. Validation Hits@20/50/100 (against shared uniform non-edges) drives early stopping
(:class:`~socialgraph.train.early_stopping.EarlyStopping`); on a graph without friendships, held-out engagements
do (RMSE of ratings, Recall@20 of items). The best weights are kept, and written atomically to ``checkpoint_dir``
when one is given. With a ``state_dir``, the whole run's state is written there as it goes, and a killed run
resumes from it to the same result (:mod:`socialgraph.train.resume`). :func:`~socialgraph.train.finalise.finalise`
calibrates, refits and evaluates.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from socialgraph.bundle.config import Config
from socialgraph.bundle.fitted import FittedModel
from socialgraph.data.graph import SocialGraph
from socialgraph.train.distributed import Ranks, data_parallel, local_device, process_group
from socialgraph.train.early_stopping import EarlyStopping
from socialgraph.train.finalise import finalise
from socialgraph.train.links import LinkData
from socialgraph.train.resume import EpochCursor, load_state, run_fingerprint, save_state
from socialgraph.train.runtime import autocast, resolve_device, torch_settings
from socialgraph.train.setup import TrainingSetup, prepare
from socialgraph.train.step import training_step
from socialgraph.train.validation import validation_pass


class Trainer:
    """Trains a :class:`~socialgraph.model.social_model.SocialModel` on a :class:`SocialGraph`.

    Args:
        config: the run's configuration (default: ``Config()``).
        progress: show a progress bar.
        log_path: append one JSON line of metrics per evaluation to this file (``metrics.jsonl``).
        checkpoint_dir: write the best weights there (atomically) whenever validation improves.
        device: where to train, overriding ``train.device`` (a setting such as ``"cuda:1"`` or a ``torch.device``);
            ``None``: ``train.device``.
        state_dir: keep the run's resumable state there (:mod:`socialgraph.train.resume`), so that
            ``fit(..., resume=True)`` can continue it after a kill (a single-process run's).

    In a ``torch.distributed`` process group (started by ``torchrun``, or Ray Train's workers), every rank runs
    ``fit`` and scores its shard of each step, DDP averages the gradients (:mod:`socialgraph.train.distributed`),
    and only rank 0 shows progress and writes ``log_path``, ``checkpoint_dir`` and ``state_dir``.
    """

    def __init__(self, config: Optional[Config] = None, progress: bool = True, log_path: Optional[Path] = None,
                 checkpoint_dir: Optional[Path] = None, device: Union[str, torch.device, None] = None,
                 state_dir: Optional[Path] = None) -> None:
        self.config = config or Config()
        self.device = device
        self.progress = progress
        self.log_path = Path(log_path) if log_path else None
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.state_dir = Path(state_dir) if state_dir else None
        self.history: list[dict] = []

    def fit(self, graph: SocialGraph, links: Optional[LinkData] = None, resume: bool = False) -> FittedModel:
        """Train on ``graph``. Without ``links``, all friend pairs train except a ``val_fraction`` slice.

        The run sets torch's thread count (``train.threads``) and deterministic algorithms, and restores both when
        it ends (:func:`~socialgraph.train.runtime.torch_settings`). The device (``device``, else ``train.device``)
        is resolved before anything else: a CUDA device that is not there fails at once
        (:func:`~socialgraph.train.runtime.resolve_device`).

        ``resume``: continue the run whose state is in ``state_dir`` (same configuration and data, else
        ``ValueError`` naming what differs); it ends with the weights and metrics of the uninterrupted run.
        """
        if resume and self.state_dir is None:
            raise ValueError("resume=True needs the state_dir the interrupted run kept its state in")
        device = resolve_device(self.config.train.device if self.device is None else self.device)
        with process_group(device) as ranks, torch_settings(self.config.train.threads):
            if resume and ranks.distributed:
                raise ValueError("resume continues a single-process run; a data-parallel run starts again")
            device = local_device(device, ranks)
            if not ranks.main:
                self.progress, self.log_path, self.checkpoint_dir, self.state_dir = False, None, None, None
            setup = prepare(self.config, graph, links, progress=self.progress, device=device)
            fingerprint = run_fingerprint(self.config, setup.links, graph.num_users)
            point = load_state(self.state_dir, fingerprint) if resume else None
            run = _Run(setup, EarlyStopping(self.config.train.patience), fingerprint, time.time())
            if ranks.distributed:
                setup.step.ranks = ranks
                setup.step.sample_rng = np.random.default_rng([self.config.train.seed, ranks.rank])
                run.parallel = data_parallel(setup.model, setup.step.mtl, device)
            if point is not None:
                self.history, cursor, elapsed = point.restore(setup, run.stopping)
                run.start -= elapsed
            else:
                self.history, cursor = [], EpochCursor(0)
            self._run_epochs(run, graph.name, cursor)
            epochs = len(self.history) and self.history[-1]["epoch"]
            return finalise(setup, run.stopping, epochs, self.config.train.select, run.start)

    # ------------------------------------------------------------------ epochs
    def _run_epochs(self, run: "_Run", name: str, cursor: EpochCursor) -> None:
        """Train from ``cursor`` until ``train.epochs`` or early stopping; validate every ``train.eval_every``
        epochs and after the last one (without anything to validate on, the last weights are kept)."""
        t, setup, stopping = self.config.train, run.setup, run.stopping
        if stopping.exhausted:  # the state was written after the pass that ended the run
            return
        bar = tqdm(range(cursor.epoch, t.epochs), desc=f"train {name}", disable=not self.progress, unit="epoch",
                   initial=cursor.epoch, total=t.epochs)
        for epoch in bar:
            started = time.perf_counter()
            loss = self._epoch(run, cursor)
            record = {"epoch": epoch + 1, "loss": loss, "steps": setup.steps,
                      "step_seconds": round(time.perf_counter() - started, 3)}
            cursor = EpochCursor(epoch + 1)
            if not setup.link_val and not setup.eng_val:
                self._log({**record, "seconds": round(time.time() - run.start, 2)})
                bar.set_postfix(loss=f"{loss:.3f}")
            elif (epoch + 1) % t.eval_every == 0 or epoch + 1 == t.epochs:
                result = validation_pass(setup, t.select)
                record.update(result.record)
                record["seconds"] = round(time.time() - run.start, 2)
                bar.set_postfix(loss=f"{loss:.3f}", **result.postfix)
                self._log(record)
                if stopping.update(result.criterion, setup.model, record):
                    self._checkpoint(stopping.best_state)
                elif stopping.exhausted:
                    self._save_state(run, cursor)
                    break
            self._save_state(run, cursor)

    def _epoch(self, run: "_Run", cursor: EpochCursor) -> float:
        """One pass over the training friendships (or engagements) from ``cursor`` on; the mean step loss. The
        epoch's draws (pair permutation, step order) are made once, at its first step. An epoch of more than a
        few steps shows its own bar (steps a second, time left)."""
        setup = run.setup
        bar = tqdm(total=setup.steps, initial=cursor.step, desc=f"epoch {cursor.epoch + 1}", unit="step",
                   leave=False, disable=not self.progress or setup.steps < 20)
        setup.model.train()
        rng, folds, batch = setup.rng, setup.folds, setup.batch
        if cursor.order is None:
            cursor.perm = rng.permutation(len(setup.links.train)) if folds is None else None
            cursor.order = np.arange(setup.steps) if folds is None else rng.permutation(setup.steps)
        perm = cursor.perm if folds is None else folds.perm
        while cursor.step < setup.steps:
            s = int(cursor.order[cursor.step])
            idx = perm[s * batch:(s + 1) * batch]
            users = setup.users if folds is None else \
                replace(setup.users, positions=folds.positions[s % len(folds.positions)])
            with autocast(setup.device, setup.precision):
                if run.parallel is None:
                    loss = training_step(setup.step, users, idx, rng)
                else:
                    loss = run.parallel(lambda: training_step(setup.step, users, idx, rng))
            setup.optimizer.zero_grad()
            loss.backward()
            setup.optimizer.step()
            cursor.total += _mean_over_ranks(loss.detach(), setup.step.ranks)
            cursor.step += 1
            bar.update()
            if cursor.step < setup.steps and time.monotonic() - run.saved >= self.config.train.checkpoint_seconds:
                self._save_state(run, cursor)
        bar.close()
        setup.scheduler.step()
        return cursor.total / setup.steps

    # ------------------------------------------------------------------ outputs
    def _log(self, record: dict) -> None:
        self.history.append(record)
        if self.log_path is not None:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")

    def _checkpoint(self, state: dict) -> None:
        if self.checkpoint_dir is None:
            return
        from safetensors.torch import save_file

        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_dir / "checkpoint.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp))
        tmp.replace(self.checkpoint_dir / "checkpoint.safetensors")

    def _save_state(self, run: "_Run", cursor: EpochCursor) -> None:
        if self.state_dir is None:
            return
        save_state(self.state_dir, run.setup, run.stopping, self.history, cursor, time.time() - run.start,
                   run.fingerprint)
        run.saved = time.monotonic()


@dataclass
class _Run:
    """The moving parts of one run: its setup, its early stopping, what ties its state to it, when it started
    (moved back by the seconds an interrupted run had trained) and when its state was last written."""

    setup: TrainingSetup
    stopping: EarlyStopping
    fingerprint: dict
    start: float
    saved: float = field(default_factory=time.monotonic)
    parallel: Optional[torch.nn.Module] = None  # DDP over the step, in a data-parallel run


def _mean_over_ranks(loss: torch.Tensor, ranks: Ranks) -> float:
    """The step's loss over all ranks (each rank's is its shard's, weighted to the step's mean)."""
    if ranks.distributed:
        loss = loss.clone()
        torch.distributed.all_reduce(loss)
        loss /= ranks.world
    return loss.item()


__all__ = ["Trainer"]
