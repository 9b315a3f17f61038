"""Early stopping on a validation criterion (higher is better), keeping the best weights seen.

Each validation pass reports its criterion to :meth:`EarlyStopping.update`. A criterion strictly above the best so
far becomes the best: the model's state is copied and the pass's record kept, and the count of passes without
improvement starts again from zero. Otherwise that count grows; :attr:`EarlyStopping.exhausted` says when it has
reached ``patience`` (``None``: never stop, only keep the best). :meth:`EarlyStopping.restore` loads the best
state back into the model once training ends. A ``NaN`` criterion never improves.
"""
from __future__ import annotations

import copy
import math
from typing import Optional

from torch import nn


class EarlyStopping:
    """Best criterion, best state and record, and passes without improvement of one training run.

    Args:
        patience: validation passes in a row without a better criterion after which :attr:`exhausted` is true
            (at least 1); ``None``: never.
    """

    def __init__(self, patience: Optional[int] = None) -> None:
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be at least 1 (or None), got {patience!r}")
        self.patience = patience
        self.best: float = -math.inf
        self.best_state: Optional[dict] = None
        self.best_record: dict = {}
        self.bad = 0

    def update(self, criterion: float, model: nn.Module, record: Optional[dict] = None) -> bool:
        """Report one validation pass of ``model``; ``True`` when ``criterion`` beat the best (its state, a deep
        copy of ``model.state_dict()``, and ``record`` are then kept)."""
        if criterion > self.best:
            self.best, self.bad, self.best_record = criterion, 0, {} if record is None else record
            self.best_state = copy.deepcopy(model.state_dict())
            return True
        self.bad += 1
        return False

    @property
    def exhausted(self) -> bool:
        """Whether ``patience`` passes in a row have not improved on the best."""
        return self.patience is not None and self.bad >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best state into ``model`` (nothing when no pass was reported)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


__all__ = ["EarlyStopping"]
