"""What every suite is given: seeds, quick or full, the model's configuration, progress bars."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Optional

from socialgraph.bench.linkrun import BaselineBudget
from socialgraph.bundle.config import Config


def quick_config() -> Config:
    """A deliberately tiny model and two epochs: proves a suite runs end to end, measures nothing."""
    c = Config()
    c.model.dim, c.model.layers, c.model.heads, c.model.link_hidden = 16, 1, 1, 32
    c.train.epochs, c.train.eval_every, c.train.patience = 2, 1, 2
    return c


@dataclass
class SuiteOptions:
    """Options of one suite run.

    Attributes:
        seeds: seeds of the splits (where the protocol draws one) and of every trained method.
        quick: small datasets and budgets for CI.
        config: the project's model configuration (default: :class:`Config` defaults, or :func:`quick_config`).
        max_epochs: cap on the model's epochs (``None``: the configuration's).
        baseline_epochs: cap on the graph-autoencoder baselines' epochs (``None``: their budget's, 300 or 10 quick),
            for graphs where a full budget takes hours on a CPU (ogbl-ddi: ~8 s an epoch).
        progress: show progress bars.
    """

    seeds: list[int] = field(default_factory=lambda: [0])
    quick: bool = False
    config: Optional[Config] = None
    max_epochs: Optional[int] = None
    baseline_epochs: Optional[int] = None
    progress: bool = True

    def _uncapped_config(self) -> Config:
        return copy.deepcopy(self.config) if self.config else (quick_config() if self.quick else Config())

    def model_config(self) -> Config:
        c = self._uncapped_config()
        if self.max_epochs is not None:
            c.train.epochs = min(c.train.epochs, self.max_epochs)
        return c

    def _uncapped_budget(self) -> BaselineBudget:
        return BaselineBudget.quick() if self.quick else BaselineBudget()

    def baseline_budget(self) -> BaselineBudget:
        b = self._uncapped_budget()
        if self.baseline_epochs is not None:
            b = replace(b, gae_epochs=min(b.gae_epochs, self.baseline_epochs))
        return b

    def budget_notes(self) -> list[str]:
        """What ``--max-epochs`` / ``--baseline-epochs`` cut short, said beside the numbers (quick runs measure
        nothing, so they say nothing)."""
        if self.quick:
            return []
        notes = []
        full, capped = self._uncapped_budget().gae_epochs, self.baseline_budget().gae_epochs
        if capped < full:
            notes.append(f"gcn-gae and sage-gae trained {capped} epochs (--baseline-epochs), not {full}.")
        full, capped = self._uncapped_config().train.epochs, self.model_config().train.epochs
        if capped < full:
            notes.append(f"the model trained at most {capped} epochs (--max-epochs), not {full}.")
        return notes
