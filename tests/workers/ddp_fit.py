"""Run under ``torchrun``: every rank trains the same small run and saves what it ended with.

Usage: torchrun --standalone --nproc_per_node N tests/workers/ddp_fit.py DATA_FOLDER OUT_FOLDER EPOCHS
Writes OUT_FOLDER/rank{R}.pt (the model's weights) and OUT_FOLDER/rank{R}.json (the history and the metrics).
"""
import json
import os
import sys
from pathlib import Path

import torch

from socialgraph.bundle.config import Config
from socialgraph.data import load
from socialgraph.train.trainer import Trainer


def small_config(epochs: int) -> Config:
    cfg = Config()
    cfg.model.dim, cfg.encoders.text = 16, "tfidf"
    if len(sys.argv) > 4 and sys.argv[4] == "nodropout":
        cfg.model.dropout, cfg.model.modality_dropout = 0.0, 0.0
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads, cfg.train.device = epochs, 1, 1, "cpu"
    return cfg


def main(data: str, out: str, epochs: str, *_) -> None:
    trainer = Trainer(small_config(int(epochs)), progress=False)
    fitted = trainer.fit(load(data))
    rank = int(os.environ.get("RANK", "0"))  # the trainer has left the process group by now
    Path(out).mkdir(parents=True, exist_ok=True)
    torch.save(fitted.model.state_dict(), Path(out) / f"rank{rank}.pt")
    metrics = {k: v for k, v in fitted.metrics.items() if k != "train_seconds"}
    (Path(out) / f"rank{rank}.json").write_text(json.dumps({"history": trainer.history, "metrics": metrics},
                                                           default=float))


if __name__ == "__main__":
    main(*sys.argv[1:])
