"""One trainer for full-batch and neighbour-sampled training of every head at once.

Each step takes a batch of training friend pairs as link targets and removes them from the step's message-passing
graph (and from the structural features), so a positive never sees its own edge; negatives are uniform non-edges
of the whole training graph (a share ``hard_negative_ratio`` among friends-of-friends). When the link scorer reads
spectral positions, the steps' targets are fixed folds and each step reads positions computed without its fold.
The engagement, preference and reconstruction losses ride on the same forward pass. Validation Hits@20/50/100
(against shared uniform non-edges) drives early stopping; on a graph without friendships, held-out engagements do
(RMSE of ratings, Recall@20 of items). The best weights are kept, and written atomically to ``checkpoint_dir`` when
one is given.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from socialgraph.data.graph import SocialGraph
from socialgraph.data.negatives import uniform_negatives
from socialgraph.data.protocol import evaluate_link_scores
from socialgraph.data.splits import split_engagements
from socialgraph.model.graph_encoder import FRIEND
from socialgraph.model.heads.preference import PreferenceHead
from socialgraph.model.heads.reconstruction import adjacency_loss
from socialgraph.model.losses import MultiTaskLoss
from socialgraph.model.pairwise import adjacency_from_edges, pair_structure
from socialgraph.model.social_model import ModelShape, NodeInputs, SocialModel
from socialgraph.model.spectral import held_out_positions, spectral_positions
from socialgraph.train.autoencoder import autoencoder_positions, held_out_autoencoder_positions
from socialgraph.bundle.config import Config
from socialgraph.train.runtime import torch_settings
from socialgraph.bundle.fitted import FittedModel, build_edge_index
from socialgraph.bundle.inputs import encode_graph
from socialgraph.train.sampling import sample_subgraph, training_negatives
from socialgraph.train.targets import find_preference_source, preference_targets

# Folds of the training friendships when the scorer reads spectral positions: one eigenproblem per fold, on the
# graph without it (graphs with fewer steps an epoch get one fold a step).
SPECTRAL_FOLDS = 10


@dataclass
class LinkData:
    """Friend pairs (undirected, canonical) for training, validation and (optionally) test."""

    train: np.ndarray
    val: np.ndarray
    test: Optional[np.ndarray] = None
    test_negatives: Optional[np.ndarray] = None


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    """Trains a :class:`SocialModel` on a :class:`SocialGraph`.

    Args:
        config: the run's configuration.
        progress: show a progress bar.
        log_path: append one JSON line of metrics per evaluation to this file (``metrics.jsonl``).
        checkpoint_dir: write the best weights there (atomically) whenever validation improves.
    """

    def __init__(self, config: Optional[Config] = None, progress: bool = True, log_path: Optional[Path] = None,
                 checkpoint_dir: Optional[Path] = None) -> None:
        self.config = config or Config()
        self.progress = progress
        self.log_path = Path(log_path) if log_path else None
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.history: list[dict] = []

    # ------------------------------------------------------------------ public
    def fit(self, graph: SocialGraph, links: Optional[LinkData] = None) -> FittedModel:
        """Train on ``graph``. Without ``links``, all friend pairs train except a ``val_fraction`` slice.

        The run sets torch's thread count (``train.threads``) and deterministic algorithms, and restores both when
        it ends (:func:`~socialgraph.train.runtime.torch_settings`)."""
        with torch_settings(self.config.train.threads):
            return self._fit(graph, links)

    def _fit(self, graph: SocialGraph, links: Optional[LinkData]) -> FittedModel:
        cfg = self.config
        seed_everything(cfg.train.seed)
        rng = np.random.default_rng(cfg.train.seed)
        links = links or self._internal_split(graph, rng)
        n = graph.num_users
        has_links = len(links.train) > 0
        kind = self._engagement_kind(graph)
        # Held-out engagements: for early stopping when there are no friendships, and for the rating head's
        # term weights (see EngagementHead.fit_weights).
        eng = self._engagement_split(graph, validate=not has_links or kind == "explicit")
        if not has_links and eng is None:
            raise ValueError(f"{graph.name!r}: nothing to learn from: no friend pairs and no engagements")
        encoded = encode_graph(graph, cfg.encoders, None, None if eng is None else eng.train)
        # As many validation negatives as the benchmark protocol uses, so validation Hits@K means what test Hits@K
        # means (fewer negatives inflate Hits@K and make early stopping pick noise).
        num_val_neg = min(10_000, max(1, n * (n - 1) // 2 - len(links.train) - len(links.val)) // 2)
        val_neg = uniform_negatives(n, num_val_neg,
                                    np.r_[links.train, links.val, links.test if links.test is not None
                                          else np.zeros((0, 2), np.int64)], seed=cfg.train.seed + 1)
        # Users' positions for the link scorer: spectral positions, then graph-autoencoder states.
        spectral, ae = None, None
        if cfg.model.link_spectral:
            spectral = spectral_positions(adjacency_from_edges(links.train, n), cfg.model.link_spectral,
                                          seed=cfg.train.seed)
        if cfg.model.link_autoencoder:  # zeros without friendships: nothing to factorise, but the width is fixed
            ae = autoencoder_positions(links.train, n, cfg.model.link_autoencoder, val=links.val, val_neg=val_neg,
                                       rms=1 / math.sqrt(n), epochs=cfg.train.autoencoder_epochs, seed=cfg.train.seed,
                                       progress=self.progress) if has_links \
                else np.zeros((n, cfg.model.link_autoencoder), dtype=np.float32)
        if spectral is not None or ae is not None:
            positions = np.concatenate([p for p in (spectral, ae) if p is not None], axis=1)
            encoded = replace(encoded, users=replace(encoded.users, positions=torch.from_numpy(positions)))
        pref = self._preference(graph, eng)
        shape = ModelShape(num_users=n, user_dims={m: int(v.shape[1]) for m, v in encoded.users.x.items()},
                           num_items=graph.num_items,
                           item_dims={} if encoded.items is None else
                           {m: int(v.shape[1]) for m, v in encoded.items.x.items()},
                           num_categories=0 if pref is None else len(pref[0].names))
        model = SocialModel(cfg.model, shape)
        mtl = MultiTaskLoss(cfg.loss)
        opt = torch.optim.Adam(list(model.parameters()) + list(mtl.parameters()), lr=cfg.train.lr,
                               weight_decay=cfg.train.weight_decay)
        if kind == "explicit" and model.engagement is not None and eng is not None and len(eng.train):
            e = graph.engagements[eng.train]
            model.engagement.set_baseline(e[:, 0], e[:, 1], graph.engagement_value[eng.train])
        fitted = FittedModel(cfg, model, graph, encoded, links.train,
                             None if eng is None else eng.train, kind,
                             None if pref is None else pref[0].source, [] if pref is None else pref[0].names)
        users = self._hide_preference_column(encoded.users, pref)
        known = sp.csr_matrix(adjacency_from_edges(np.r_[links.train, links.val], n))
        train_adj = adjacency_from_edges(links.train, n) if cfg.train.structure_graph == "full" else None
        sampled = cfg.train.mode == "sampled" or (cfg.train.mode == "auto" and
                                                  2 * len(links.train) > cfg.train.full_batch_max_edges)
        if has_links:
            # At least 10 steps an epoch: a step's targets leave its message-passing graph, and removing more than a
            # tenth of the friendships makes training degrees and common-neighbour counts lower than at test time.
            batch = int(min(cfg.train.batch_size, max(256, math.ceil(len(links.train) / 10))))
            steps = math.ceil(len(links.train) / batch)
        else:  # engagement-only data (e.g. MovieLens): steps cover the training engagements
            batch, steps = 0, math.ceil(len(eng.train) / cfg.train.engagement_batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.train.epochs),
                                                           eta_min=cfg.train.lr * 0.1)
        best, best_state, best_record, bad = -math.inf, None, {}, 0
        link_val = has_links and len(links.val) > 0
        eng_val = not has_links and eng is not None and len(eng.val) > 0 and model.engagement is not None
        # With positions the steps' targets are fixed folds, each step reading positions computed without its own
        # fold (see held_out_positions, held_out_autoencoder_positions); otherwise every epoch deals the friendships
        # out afresh.
        fold_perm, fold_positions = None, None
        if (spectral is not None or ae is not None) and has_links:
            fold_perm = rng.permutation(len(links.train))
            folds = np.empty(len(links.train), dtype=np.int64)
            folds[fold_perm] = (np.arange(len(links.train)) // batch) % min(steps, SPECTRAL_FOLDS)
            parts = []
            if spectral is not None:
                parts.append(held_out_positions(links.train, n, folds, spectral, seed=cfg.train.seed))
            if ae is not None:
                parts.append(held_out_autoencoder_positions(links.train, n, folds, ae, val=links.val,
                                                            val_neg=val_neg, epochs=cfg.train.autoencoder_epochs,
                                                            seed=cfg.train.seed, progress=self.progress))
            fold_positions = torch.from_numpy(np.concatenate(parts, axis=2))
        bar = tqdm(range(cfg.train.epochs), desc=f"train {graph.name}", disable=not self.progress, unit="epoch")
        start = time.time()
        for epoch in bar:
            model.train()
            perm = rng.permutation(len(links.train)) if fold_perm is None else fold_perm
            total = 0.0
            for s in (range(steps) if fold_perm is None else rng.permutation(steps)):
                idx = perm[s * batch:(s + 1) * batch]
                step_users = users if fold_positions is None else \
                    replace(users, positions=fold_positions[s % len(fold_positions)])
                loss = self._step(model, mtl, graph, step_users, encoded.items, links.train, idx, known, train_adj,
                                  eng, pref, kind, sampled, rng)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            sched.step()
            validate = (epoch + 1) % cfg.train.eval_every == 0 or epoch + 1 == cfg.train.epochs
            if not link_val and not eng_val:  # nothing to validate on: keep the last weights
                self._log({"epoch": epoch + 1, "loss": total / steps, "seconds": round(time.time() - start, 2)})
                bar.set_postfix(loss=f"{total / steps:.3f}")
            elif validate:
                fitted.model, fitted.mp_edges = model, links.train
                fitted.invalidate()
                record = {"epoch": epoch + 1, "loss": total / steps}
                if link_val:
                    val = evaluate_link_scores(fitted.link_logits(links.val), fitted.link_logits(val_neg))
                    hits = (val["hits@20"] + val["hits@50"] + val["hits@100"]) / 3
                    criterion = {"hits": hits, "auc": val["auc"], "mrr": val["mrr"]}[cfg.train.select]
                    record.update({"val_hits@50": val["hits@50"], "val_hits@20_50_100": hits,
                                   "val_auc": val["auc"], "val_mrr": val["mrr"]})
                    bar.set_postfix(loss=f"{total / steps:.3f}", val_h50=f"{val['hits@50']:.3f}")
                else:  # engagement-only data: stop on held-out engagements (RMSE of ratings, Recall@20 of items)
                    val = engagement_metrics(fitted, eng.train, eng.val)
                    criterion = -val["rmse"] if kind == "explicit" else val["recall@20"]
                    record.update({f"val_{k}": v for k, v in val.items() if k in ("rmse", "mae", "recall@20")})
                    bar.set_postfix(loss=f"{total / steps:.3f}", **{k: f"{v:.3f}" for k, v in val.items()
                                                                   if k in ("rmse", "recall@20")})
                record["seconds"] = round(time.time() - start, 2)
                self._log(record)
                if criterion > best:
                    best, bad, best_record = criterion, 0, record
                    best_state = copy.deepcopy(model.state_dict())
                    self._checkpoint(best_state)
                else:
                    bad += 1
                    if bad >= cfg.train.patience:
                        break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        # Platt scaling on validation pairs (whose edges the messages have not seen yet), so the predictor's
        # probabilities mean what they say; stored with the metrics, hence in the bundle's meta.json.
        fitted.mp_edges = links.train
        fitted.invalidate()
        # The validation friendships were hidden among every pair not known to be friends; weighting the sampled
        # negatives up to that pool makes the probabilities mean what they say for arbitrary pairs.
        from socialgraph.bundle.calibration import platt_calibration

        unknown = n * (n - 1) // 2 - len(links.train) - len(links.val)
        calibration = platt_calibration(fitted.link_logits(links.val), fitted.link_logits(val_neg), unknown) \
            if link_val else None
        # At prediction time messages pass over every known friendship, validation ones included.
        fitted.mp_edges = np.r_[links.train, links.val]
        fitted.invalidate()
        if kind == "explicit" and model.engagement is not None and len(eng.val):
            z = fitted.embeddings()
            val = graph.engagements[eng.val]
            model.engagement.fit_weights(z["user"], z["item"], torch.from_numpy(val[:, 0]),
                                         torch.from_numpy(val[:, 1]),
                                         torch.from_numpy(graph.engagement_value[eng.val].astype(np.float32)))
        fitted.metrics = {"train_seconds": round(time.time() - start, 2),
                          "epochs": len(self.history) and self.history[-1]["epoch"],
                          "best_val_hits@20_50_100": best_record.get("val_hits@20_50_100") if link_val else None,
                          "select": cfg.train.select if link_val else None, "calibration": calibration}
        if best_state is not None and eng_val:
            fitted.metrics["best_val_engagement"] = {"rmse": -best} if kind == "explicit" else {"recall@20": best}
        if (links.test is not None and links.test_negatives is not None) or not has_links:
            fitted.metrics["test"] = evaluate(fitted, links, eng, pref)
        return fitted

    # ------------------------------------------------------------------ one step
    def _step(self, model: SocialModel, mtl: MultiTaskLoss, graph: SocialGraph, users: NodeInputs,
              items: Optional[NodeInputs], train: np.ndarray, idx: np.ndarray, known: sp.csr_matrix,
              train_adj: Optional[sp.csr_matrix], eng, pref, kind: Optional[str], sampled: bool,
              rng: np.random.Generator) -> torch.Tensor:
        cfg = self.config
        n = graph.num_users
        keep = np.ones(len(train), dtype=bool)
        keep[idx] = False
        target = train[idx]
        mp = adjacency_from_edges(train[keep], n)
        neg = training_negatives(known, mp, len(target), cfg.train.hard_negative_ratio, rng)
        pairs = np.r_[target, neg]
        if not len(pairs):
            structure = None
        elif train_adj is not None:  # the whole training graph, each positive without its own edge
            structure = pair_structure(train_adj, pairs, leave_out=np.arange(len(pairs)) < len(target),
                                       completion=model.config.link_completion)
        else:
            structure = pair_structure(mp, pairs, completion=model.config.link_completion)
        eng_target = None
        eng_mp = None if eng is None else eng.train
        if eng is not None and mtl.active("engagement"):
            pick = rng.choice(len(eng.train), size=min(cfg.train.engagement_batch_size, len(eng.train)),
                              replace=False)
            eng_target = eng.train[pick]
            mask = np.ones(len(eng.train), dtype=bool)
            mask[pick] = False
            eng_mp = eng.train[mask]
        losses: dict[str, torch.Tensor] = {}
        if sampled and structure is not None:
            z, local, nodes = self._sampled_states(model, graph, users, items, train[keep], pairs, structure, rng)
            zu = z["user"]
            pair_t = torch.from_numpy(local(pairs))
            structure.common = _remap_columns(structure.common, local, len(zu))
            if structure.one_sided is not None:
                row, w, other = structure.one_sided.numpy()
                structure.one_sided = torch.from_numpy(np.stack([row, local(w), local(other)]))
            step_users = users.rows(torch.from_numpy(nodes))
        else:
            z = model(users, build_edge_index(train[keep], graph, eng_mp if model.hetero else None), items)
            zu = z["user"]
            pair_t = torch.from_numpy(pairs)
            local = None
            step_users = users
        if structure is not None:
            logits = model.score_links(zu, pair_t, structure, step_users)
            y = torch.cat([torch.ones(len(target)), torch.zeros(len(neg))])
            losses["link"] = F.binary_cross_entropy_with_logits(logits, y)
        if structure is not None and mtl.active("adjacency_reconstruction"):
            losses["adjacency_reconstruction"] = adjacency_loss(zu, pair_t[:len(target)], pair_t[len(target):])
        if local is None:
            if model.reconstruction is not None and mtl.active("feature_reconstruction"):
                losses["feature_reconstruction"] = model.reconstruction.loss(zu, users.x, users.mask)
            if pref is not None and model.preference is not None and mtl.active("preference"):
                tgt = pref[0].matrix
                rows = np.flatnonzero(np.diff(tgt.indptr) > 0)
                rows = np.setdiff1d(rows, pref[2]) if pref[2] is not None else rows
                t = torch.from_numpy(tgt[rows].toarray())
                losses["preference"] = PreferenceHead.loss(model.preference(zu[torch.from_numpy(rows)]), t)
            if eng_target is not None and "item" in z:
                losses["engagement"] = self._engagement_loss(model, z, graph, eng_target, kind, rng)
        return mtl(losses)

    def _engagement_loss(self, model: SocialModel, z: dict, graph: SocialGraph, rows: np.ndarray, kind: str,
                         rng: np.random.Generator) -> torch.Tensor:
        e = graph.engagements[rows]
        u, i = torch.from_numpy(e[:, 0]), torch.from_numpy(e[:, 1])
        value = None if graph.engagement_value is None else torch.from_numpy(
            graph.engagement_value[rows].astype(np.float32))
        pred = model.engagement(z["user"], z["item"], u, i)
        if kind == "explicit":
            return F.mse_loss(pred, value)
        neg_items = torch.from_numpy(rng.integers(0, graph.num_items, len(rows)))
        neg = model.engagement(z["user"], z["item"], u, neg_items)
        w = torch.ones(len(rows)) if value is None else 1 + torch.log1p(value.clamp_min(0))
        return (w * F.softplus(-pred)).sum() / w.sum() + F.softplus(neg).mean()

    def _sampled_states(self, model: SocialModel, graph: SocialGraph, users: NodeInputs,
                        items: Optional[NodeInputs], mp_edges: np.ndarray, pairs: np.ndarray, structure,
                        rng: np.random.Generator):
        """User states for the nodes a batch needs (pair ends, their common and one-sided neighbours), computed on a
        neighbour-sampled subgraph of the message-passing graph. Items keep their input states in this mode."""
        mp = adjacency_from_edges(mp_edges, graph.num_users)
        one_sided = structure.one_sided[1].numpy() if structure.one_sided is not None else np.zeros(0, np.int64)
        seeds = np.unique(np.r_[pairs.ravel(), structure.common.indices()[1].numpy(), one_sided])
        nodes, ei = sample_subgraph(mp, seeds, list(self.config.train.num_neighbors)[:model.config.layers], rng)
        rows = torch.from_numpy(nodes)
        h = model.input_states(users.rows(rows), None, user_rows=rows)
        # Items stay out of sampled subgraphs; a heterogeneous encoder skips edge types it is not given.
        z = model.encoder({"user": h["user"]}, {FRIEND: ei})
        order = np.argsort(nodes)

        def local(g: np.ndarray) -> np.ndarray:
            return order[np.searchsorted(nodes[order], g)]
        return z, local, nodes

    # ------------------------------------------------------------------ setup helpers
    def _internal_split(self, graph: SocialGraph, rng: np.random.Generator) -> LinkData:
        pairs = graph.undirected_pairs()
        perm = rng.permutation(len(pairs))
        nv = max(1, int(round(self.config.train.val_fraction * len(pairs)))) if len(pairs) > 20 else 0
        return LinkData(train=pairs[perm[nv:]], val=pairs[perm[:nv]])

    def _engagement_split(self, graph: SocialGraph, validate: bool):
        """Per user, 10 % of the engagements held out for test, and ``val_fraction`` more for validation when
        ``validate``. The test rows do not depend on ``validate``."""
        if not graph.num_engagements:
            return None
        return split_engagements(graph, "per_user", val=self.config.train.val_fraction if validate else 0.0,
                                 test=0.10, seed=self.config.train.seed)

    def _engagement_kind(self, graph: SocialGraph) -> Optional[str]:
        if not graph.num_engagements:
            return None
        kind = self.config.train.engagement_kind
        if kind != "auto":
            return kind
        v = graph.engagement_value
        # Ratings are small integers on a fixed scale; counts are heavy-tailed.
        if v is not None and np.nanmax(v) <= 10 and np.allclose(v, np.round(v)):
            return "explicit"
        return "implicit"

    def _preference(self, graph: SocialGraph, eng):
        source = find_preference_source(graph)
        if source is None or not self.config.loss.preference:
            return None
        if source.startswith("items:"):
            return preference_targets(graph, source, None if eng is None else eng.train), None, None
        # Targets from a user column: hold out users, and hide the column from their inputs.
        t = preference_targets(graph, source)
        has = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
        rng = np.random.default_rng(self.config.train.seed + 7)
        held = np.sort(rng.choice(has, size=max(1, len(has) // 10), replace=False)) if len(has) > 10 else None
        return t, source, held

    @staticmethod
    def _hide_preference_column(users: NodeInputs, pref) -> NodeInputs:
        if pref is None or pref[2] is None:
            return users
        modality = f"multihot:{pref[1].split(':', 1)[1]}"
        if modality not in users.mask:
            return users
        mask = dict(users.mask)
        m = mask[modality].clone()
        m[torch.from_numpy(pref[2])] = False
        mask[modality] = m
        return NodeInputs(users.num, users.x, mask, users.known, users.positions)

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
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
        tmp.replace(self.checkpoint_dir / "checkpoint.safetensors")


def _remap_columns(common: torch.Tensor, local, num: int) -> torch.Tensor:
    idx = common.indices()
    cols = torch.from_numpy(local(idx[1].numpy()))
    return torch.sparse_coo_tensor(torch.stack([idx[0], cols]), common.values(), (common.shape[0], num)).coalesce()


@torch.no_grad()
def _held_out_preference_scores(fitted: FittedModel, pref) -> np.ndarray:
    """Category distributions of the held-out users with their own category column hidden from their inputs, as in
    training (scoring them with it visible would read the answer)."""
    inputs = Trainer._hide_preference_column(fitted.encoded.users, pref)
    z = fitted.model(inputs, fitted.edge_index(), fitted.encoded.items)["user"]
    return torch.softmax(fitted.model.preference(z[torch.from_numpy(pref[2])]), dim=1).numpy()


def evaluate(fitted: FittedModel, links: LinkData, eng=None, pref=None) -> dict:
    """Test metrics of every head the model has: link (Hits@K, MRR, AUC, AP), engagement (Recall@20 and NDCG@20
    for implicit feedback, RMSE and MAE for ratings, on held-out engagements) and preference (NDCG@10 on held-out
    engagements' categories, or held-out users' own categories with that column hidden from their inputs)."""
    from socialgraph.eval.metrics import ndcg_at_k, top_k_items

    out = {}
    if links.test is not None and len(links.test) and len(links.train):
        out["link"] = evaluate_link_scores(fitted.link_logits(links.test), fitted.link_logits(links.test_negatives))
    g = fitted.graph
    if eng is not None and len(eng.test) and fitted.model.engagement is not None:
        out["engagement"] = engagement_metrics(fitted, eng.train, eng.test)
    if pref is not None and fitted.model.preference is not None:
        targets, _, held_users = pref
        scores = None
        if held_users is not None:
            users, relevant = held_users, targets.matrix[held_users]
            scores = _held_out_preference_scores(fitted, pref)
        elif eng is not None and len(eng.test):
            t = preference_targets(g, targets.source, eng.test, names=targets.names)
            users = np.flatnonzero(np.diff(t.matrix.indptr) > 0)
            relevant = t.matrix[users]
        else:
            users = np.zeros(0, np.int64)
        if len(users):
            ranked = top_k_items(fitted.preference_scores(users) if scores is None else scores, 10)
            out["preference"] = {"ndcg@10": ndcg_at_k(ranked, relevant, 10), "users": int(len(users)),
                                 "source": targets.source}
    return out


def engagement_metrics(fitted: FittedModel, train: np.ndarray, held: np.ndarray) -> dict:
    """Engagement metrics on the held-out engagement rows ``held``: RMSE and MAE of ratings (predictions clipped
    to the rating range of the ``train`` rows), or Recall@20 and NDCG@20 of the items ranked for each user with
    that user's ``train`` items left out."""
    from socialgraph.eval.metrics import mae, ndcg_at_k, recall_at_k, rmse, top_k_items

    g = fitted.graph
    rows = g.engagements[held]
    if fitted.engagement_kind == "explicit":
        z = fitted.embeddings()
        with torch.no_grad():
            pred = fitted.model.engagement(z["user"], z["item"], torch.from_numpy(rows[:, 0]),
                                           torch.from_numpy(rows[:, 1])).numpy()
        seen = g.engagement_value[train]  # the rating scale as training shows it, never the held-out values
        pred = np.clip(pred, seen.min(), seen.max())
        truth = g.engagement_value[held]
        return {"rmse": rmse(pred, truth), "mae": mae(pred, truth), "n": int(len(rows))}
    users = np.unique(rows[:, 0])
    seen = g.with_engagements(train).engagement_matrix()[users]
    relevant = g.with_engagements(held).engagement_matrix()[users]
    recs = []
    for i in range(0, len(users), 2048):
        scores = fitted.engagement_scores(users[i:i + 2048])
        recs.append(top_k_items(scores, 20, exclude=seen[i:i + 2048]))
    ranked = np.concatenate(recs)
    return {"recall@20": recall_at_k(ranked, relevant, 20), "ndcg@20": ndcg_at_k(ranked, relevant, 20),
            "users": int(len(users))}
