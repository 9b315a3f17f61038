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
when one is given. :func:`~socialgraph.train.finalise.finalise` calibrates, refits and evaluates.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional, Union

import torch
from tqdm.auto import tqdm

from socialgraph.bundle.config import Config
from socialgraph.bundle.fitted import FittedModel
from socialgraph.data.graph import SocialGraph
from socialgraph.train.early_stopping import EarlyStopping
from socialgraph.train.finalise import finalise
from socialgraph.train.links import LinkData
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
    """

    def __init__(self, config: Optional[Config] = None, progress: bool = True, log_path: Optional[Path] = None,
                 checkpoint_dir: Optional[Path] = None, device: Union[str, torch.device, None] = None) -> None:
        self.config = config or Config()
        self.device = device
        self.progress = progress
        self.log_path = Path(log_path) if log_path else None
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.history: list[dict] = []

    def fit(self, graph: SocialGraph, links: Optional[LinkData] = None) -> FittedModel:
        """Train on ``graph``. Without ``links``, all friend pairs train except a ``val_fraction`` slice.

        The run sets torch's thread count (``train.threads``) and deterministic algorithms, and restores both when
        it ends (:func:`~socialgraph.train.runtime.torch_settings`). The device (``device``, else ``train.device``)
        is resolved before anything else: a CUDA device that is not there fails at once
        (:func:`~socialgraph.train.runtime.resolve_device`)."""
        device = resolve_device(self.config.train.device if self.device is None else self.device)
        with torch_settings(self.config.train.threads):
            setup = prepare(self.config, graph, links, progress=self.progress, device=device)
            start = time.time()
            stopping = self._run_epochs(setup, graph.name, start)
            epochs = len(self.history) and self.history[-1]["epoch"]
            return finalise(setup, stopping, epochs, self.config.train.select, start)

    # ------------------------------------------------------------------ epochs
    def _run_epochs(self, setup: TrainingSetup, name: str, start: float) -> EarlyStopping:
        """Train until ``train.epochs`` or early stopping; validate every ``train.eval_every`` epochs and after the
        last one (without anything to validate on, the last weights are kept)."""
        t = self.config.train
        stopping = EarlyStopping(t.patience)
        bar = tqdm(range(t.epochs), desc=f"train {name}", disable=not self.progress, unit="epoch")
        for epoch in bar:
            loss = self._epoch(setup)
            record = {"epoch": epoch + 1, "loss": loss}
            if not setup.link_val and not setup.eng_val:
                self._log({**record, "seconds": round(time.time() - start, 2)})
                bar.set_postfix(loss=f"{loss:.3f}")
            elif (epoch + 1) % t.eval_every == 0 or epoch + 1 == t.epochs:
                result = validation_pass(setup, t.select)
                record.update(result.record)
                record["seconds"] = round(time.time() - start, 2)
                bar.set_postfix(loss=f"{loss:.3f}", **result.postfix)
                self._log(record)
                if stopping.update(result.criterion, setup.model, record):
                    self._checkpoint(stopping.best_state)
                elif stopping.exhausted:
                    break
        return stopping

    @staticmethod
    def _epoch(setup: TrainingSetup) -> float:
        """One pass over the training friendships (or engagements); the mean step loss."""
        setup.model.train()
        rng, folds, batch = setup.rng, setup.folds, setup.batch
        perm = rng.permutation(len(setup.links.train)) if folds is None else folds.perm
        total = 0.0
        for s in (range(setup.steps) if folds is None else rng.permutation(setup.steps)):
            idx = perm[s * batch:(s + 1) * batch]
            users = setup.users if folds is None else \
                replace(setup.users, positions=folds.positions[s % len(folds.positions)])
            with autocast(setup.device, setup.precision):
                loss = training_step(setup.step, users, idx, rng)
            setup.optimizer.zero_grad()
            loss.backward()
            setup.optimizer.step()
            total += loss.item()
        setup.scheduler.step()
        return total / setup.steps

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


__all__ = ["Trainer"]
