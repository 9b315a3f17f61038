"""Training on real graphs: it learns, it repeats, bundles round-trip and refuse tampering, the CLI works.

Each graph-dependent test runs on a SEAL graph where the data root has it, and everywhere on a small real core of a
shipped MUSAE graph (``NAME-coreN`` in tests/shipped.py: N users reached breadth-first, their attributes kept)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from shipped import graph as load_graph, pick
from socialgraph.cli.main import app
from socialgraph.config import from_dict
from socialgraph.data import load
from socialgraph.data.protocol import benchmark_split
from socialgraph.eval.baselines import heuristic_baselines
from socialgraph.bundle.format import BundleError, load_bundle, save_bundle
from socialgraph.bundle.config import Config
from socialgraph.train.engagements import engagement_split
from socialgraph.train.evaluation import evaluate
from socialgraph.train.links import LinkData
from socialgraph.train.targets import preference_task
from socialgraph.train.trainer import Trainer

# The default configuration, which early stopping ends after 26 to 28 epochs on USAir. Its test Hits@50 on the seed
# 0 split, training seeds 0 / 1 / 2: 0.576 / 0.561 / 0.576 against resource allocation's 0.514 (212 test
# friendships, one pair is 0.5 points). The shorter run this test used before (24 epochs at lr 0.005) sat on the
# edge: 0.486 / 0.476 / 0.599 on a fresh install in the ninth session, where an earlier install had passed.
# On the 600-page core of MUSAE Facebook (11,661 friendships), the defaults trained on benchmark_split(seed=0) with
# training seeds 0 / 1 reach test Hits@50 0.353 / 0.363 against resource allocation's 0.248, in 36-51 s each.
DEFAULT: dict = {}
# Since the defaults moved to GAT layers and 0.005 over 40 epochs (issue 24; faster, and as good on Last.fm,
# twitch-engb and musae-facebook), USAir's 332 airports fall short of that: training seeds 0 / 1 / 2 / 3 give test
# Hits@50 0.462 / 0.590 / 0.481 / 0.557 against resource allocation's 0.514, where GATv2 layers with 0.002 over
# 100 epochs give 0.566 / 0.566 (GAT with 0.002: 0.505 / 0.566). A tiny graph's steps hold 256 targets, and the
# larger rate is too noisy for them. The heuristic test keeps that configuration, which states what it checks:
# that the model can beat every heuristic on a real graph.
USAIR: dict = {"model": {"conv": "gatv2"}, "train": {"lr": 0.002, "epochs": 100}}
SMALL = [pick("seal-celegans", "twitch-engb-core400")]


def _fit(name: str, overrides: dict, **kwargs):
    graph = load_graph(name)
    split = benchmark_split(graph, seed=0)
    trainer = Trainer(from_dict(Config, overrides), progress=False, **kwargs)
    fitted = trainer.fit(graph, LinkData(split.train, split.val, split.test, split.negatives))
    return graph, split, trainer, fitted


@pytest.fixture(scope="module", params=[pick("seal-usair", "musae-facebook-core600")])
def usair(request, tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("ckpt")
    log = ckpt / "metrics.jsonl"
    graph, split, trainer, fitted = _fit(request.param, USAIR, log_path=log, checkpoint_dir=ckpt)
    return graph, split, trainer, fitted, ckpt


def test_training_beats_the_best_heuristic(usair):
    graph, split, _, fitted, _ = usair
    heur = heuristic_baselines(split, ["cn", "aa", "ra"])
    test = fitted.metrics["test"]["link"]
    assert test["hits@50"] > max(h["hits@50"] for h in heur.values())
    assert test["auc"] > max(h["auc"] for h in heur.values())


@pytest.mark.parametrize("name", SMALL)
def test_graph_autoencoder_states_join_the_positions_and_are_saved(name, tmp_path):
    graph, split, _, fitted = _fit(name, {"model": {"link_autoencoder": 8},
                                                     "train": {"epochs": 4, "autoencoder_epochs": 30}})
    positions = fitted.encoded.users.positions
    assert positions.shape == (graph.num_users, 32 + 8)
    assert fitted.model.link.position[0].in_features == 40
    pairs = np.r_[split.test, split.negatives]
    loaded = load_bundle(save_bundle(fitted, tmp_path / "bundle"))
    np.testing.assert_array_equal(loaded.link_logits(pairs), fitted.link_logits(pairs))
    # The scorer reads the autoencoder's columns: changing them changes the scores.
    fitted.encoded.users.positions[:, 32:] = 0
    fitted.invalidate()
    assert not np.allclose(loaded.link_logits(pairs), fitted.link_logits(pairs))


@pytest.mark.parametrize("name", SMALL)
def test_the_kept_weights_are_the_best_by_the_selected_criterion(name):
    from socialgraph.data.negatives import uniform_negatives
    from socialgraph.eval.link import evaluate_link_scores

    train = {"epochs": 14, "eval_every": 1, "patience": 100}
    kept = {}
    for select, key in (("hits", "val_hits@20_50_100"), ("auc", "val_auc")):
        _, split, trainer, fitted = _fit(name, {"train": {**train, "select": select}})
        history = trainer.history
        assert fitted.metrics["select"] == select
        fitted.mp_edges = split.train  # validation is measured on the training graph, as the trainer does
        fitted.invalidate()
        n = fitted.graph.num_users  # the trainer's validation negatives, drawn as it draws them
        neg = uniform_negatives(n, min(10_000, (n * (n - 1) // 2 - len(split.train) - len(split.val)) // 2),
                                np.r_[split.train, split.val, split.test], seed=1)
        val = evaluate_link_scores(fitted.link_logits(split.val), fitted.link_logits(neg))
        got = {"val_hits@20_50_100": (val["hits@20"] + val["hits@50"] + val["hits@100"]) / 3, "val_auc": val["auc"]}
        assert got[key] == pytest.approx(max(e[key] for e in history))
        kept[select] = int(np.argmax([e[key] for e in history]))
    assert kept["hits"] != kept["auc"]  # the two criteria keep different epochs here, so the test tells them apart
    with pytest.raises(ValueError, match="train.select must be one of"):
        from_dict(Config, {"train": {"select": "loss"}})


def test_metrics_log_and_checkpoint_are_written(usair):
    _, _, trainer, _, ckpt = usair
    lines = [json.loads(x) for x in (ckpt / "metrics.jsonl").read_text().splitlines()]
    assert lines == trainer.history and lines[0]["epoch"] == 2 and "val_hits@50" in lines[0]
    assert (ckpt / "checkpoint.safetensors").is_file()
    assert not list(ckpt.glob("*.tmp"))


@pytest.mark.parametrize("name, threads", [(SMALL[0], 1), ("musae-facebook-core600", 2)])
def test_same_seed_same_metrics(name, threads):
    """Also on two threads, where sparse sums used to add in another order each run (the demo's numbers moved
    between runs); the caller's thread count and deterministic setting are restored afterwards."""
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    a = _fit(name, {"train": {"epochs": 4, "eval_every": 2, "threads": threads}})[3].metrics
    b = _fit(name, {"train": {"epochs": 4, "eval_every": 2, "threads": threads}})[3].metrics
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
    assert a["test"] == b["test"] and a["best_val_hits@20_50_100"] == b["best_val_hits@20_50_100"]


def test_bundle_round_trip_gives_identical_scores(usair, tmp_path):
    _, split, trainer, fitted, _ = usair
    path = save_bundle(fitted, tmp_path / "bundle", history=trainer.history)
    loaded = load_bundle(path)
    pairs = np.r_[split.test, split.negatives[:500]]
    np.testing.assert_array_equal(fitted.link_logits(pairs), loaded.link_logits(pairs))
    np.testing.assert_array_equal(loaded.graph.user_ids, fitted.graph.user_ids)
    assert loaded.metrics["test"] == json.loads(json.dumps(fitted.metrics["test"]))


def test_tampered_or_incomplete_bundle_is_refused(usair, tmp_path):
    fitted = usair[3]
    path = save_bundle(fitted, tmp_path / "bundle")
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.safetensors does not match its checksum"):
        load_bundle(path)
    path2 = save_bundle(fitted, tmp_path / "bundle2")
    (path2 / "inputs.safetensors").unlink()
    with pytest.raises(BundleError, match="inputs.safetensors is missing"):
        load_bundle(path2)
    manifest = json.loads((path2 / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path2 / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="version 99"):
        load_bundle(path2)


def test_bundle_is_written_atomically(usair, tmp_path, monkeypatch):
    import socialgraph.bundle.format as bundle

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle, "write_folder", broken)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(usair[3], tmp_path / "bundle")
    assert list(tmp_path.iterdir()) == []


def test_every_head_is_trained_and_evaluated_on_lastfm():
    name = pick("lastfm-hetrec-2k", "synth-user-tags")
    graph, split, _, fitted = _fit(name, {"train": {"epochs": 6, "eval_every": 2}})
    test = fitted.metrics["test"]
    assert set(test) == {"link", "engagement", "preference"}
    assert 0 < test["engagement"]["recall@20"] <= 1 and test["engagement"]["users"] > 1000
    # Held-out users' tags, scored with their own tags hidden: on Last.fm a random ranking of the 200 tags gives
    # NDCG@10 0.07, tag popularity 0.35, the fully trained model 0.40 (`socialgraph benchmark preference`); six
    # epochs learn less.
    column = "tags" if name == "lastfm-hetrec-2k" else "interests"
    assert test["preference"]["source"] == f"users:{column}" and test["preference"]["ndcg@10"] > 0.1
    # Held-out users are scored with their own tags hidden: swapping their tag inputs changes nothing.
    seed = Config().train.seed
    eng = engagement_split(graph, 0.0, seed)
    pref = preference_task(graph, eng.train, seed)
    held = torch.from_numpy(pref.held_users)
    tags = fitted.encoded.users.x[f"multihot:{column}"]
    tags[held] = tags[torch.randperm(len(tags))[:len(held)]]
    fitted.invalidate()
    again = evaluate(fitted, LinkData(split.train, split.val), eng, pref)["preference"]
    assert again["users"] == len(held) and again["ndcg@10"] == test["preference"]["ndcg@10"]


@pytest.mark.parametrize("name", SMALL)
def test_cli_train_score_evaluate(name, tmp_path):
    """The path of `lp_check.py`: a folder in, a bundle out, pairs scored by external id."""
    graph = load_graph(name)
    data = tmp_path / "data"
    data.mkdir()
    pairs = graph.undirected_pairs()
    pd.DataFrame({"src": graph.user_ids[pairs[:, 0]], "dst": graph.user_ids[pairs[:, 1]]}).to_csv(
        data / "friends.csv", index=False)
    runner = CliRunner()
    bundle = tmp_path / "bundle"
    r = runner.invoke(app, ["train", "--data", str(data), "--out", str(bundle), "--epochs", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (bundle / "manifest.json").is_file()
    pd.DataFrame({"src": graph.user_ids[[0, 1, 2]], "dst": graph.user_ids[[3, 4, 5]]}).to_csv(
        tmp_path / "pairs.csv", index=False)
    r = runner.invoke(app, ["score", "--model", str(bundle), "--pairs", str(tmp_path / "pairs.csv"),
                            "--out", str(tmp_path / "scores.csv")])
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert list(scores.columns) == ["src", "dst", "score"] and len(scores) == 3
    assert scores.score.between(0, 1).all()
    r = runner.invoke(app, ["evaluate", "--model", str(bundle), "--json"])
    assert r.exit_code == 0 and "best_val_hits@20_50_100" in json.loads(r.output)
    # Unknown ids in a pairs file: a clear error naming file and line, and no output file.
    pd.DataFrame({"src": [graph.user_ids[0], 10**9], "dst": graph.user_ids[[1, 2]]}).to_csv(
        tmp_path / "bad.csv", index=False)
    r = runner.invoke(app, ["score", "--model", str(bundle), "--pairs", str(tmp_path / "bad.csv"),
                            "--out", str(tmp_path / "bad_scores.csv")])
    assert r.exit_code != 0
    assert "line 3" in r.output and str(10**9) in r.output
    assert not (tmp_path / "bad_scores.csv").exists()


def test_print_config_round_trips(tmp_path):
    r = CliRunner().invoke(app, ["train", "--print-config"])
    assert r.exit_code == 0
    (tmp_path / "c.yaml").write_text(r.output.replace("epochs: 100", "epochs: 3"))
    r2 = CliRunner().invoke(app, ["train", "--print-config", "--config", str(tmp_path / "c.yaml")])
    assert "epochs: 3" in r2.output
    (tmp_path / "bad.yaml").write_text("train:\n  epoch: 3\n")
    r3 = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "b"), "--config",
                                  str(tmp_path / "bad.yaml")])
    assert r3.exit_code != 0 and "unknown key(s) ['epoch']" in r3.output
    (tmp_path / "bad_value.yaml").write_text("train:\n  structure_graph: dense\n")
    r4 = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "b"), "--config",
                                  str(tmp_path / "bad_value.yaml")])
    assert r4.exit_code != 0 and "train.structure_graph must be one of ('step', 'full')" in r4.output
    assert not (tmp_path / "b").exists()


def test_engagement_only_graph_learns_ratings():
    """MovieLens-100K (or its synthetic stand-in) has no friendships: the engagement and preference heads still
    train, and predicted ratings beat predicting the training mean on held-out ratings."""
    from socialgraph.data.splits import split_engagements

    graph = load_graph(pick("movielens-100k", "synth-no-friends"))
    # The pixel image backbone keeps poster encoding cheap; the pretrained one is tested with the encoders.
    config = from_dict(Config, {"train": {"epochs": 8}, "encoders": {"image_backbone": "pixels"}})
    trainer = Trainer(config, progress=False)
    fitted = trainer.fit(graph)
    test = fitted.metrics["test"]
    assert "link" not in test and test["preference"]["source"] == ("items:genres" if graph.name == "movielens-100k"
                                                                   else "items:tags")
    eng = split_engagements(graph, "per_user", val=0.0, test=0.10, seed=0)
    values = graph.engagement_value
    baseline = float(np.sqrt(np.mean((values[eng.test] - values[eng.train].mean()) ** 2)))
    assert test["engagement"]["n"] == len(eng.test)
    assert test["engagement"]["rmse"] < baseline - 0.05
    # Without friendships, held-out engagements (not the test ones) stop training and pick the kept weights.
    val_rmse = [h["val_rmse"] for h in trainer.history if "val_rmse" in h]
    assert len(val_rmse) == 4 and fitted.metrics["best_val_engagement"]["rmse"] == min(val_rmse)
    held = engagement_split(graph, trainer.config.train.val_fraction, trainer.config.train.seed)
    assert np.array_equal(held.test, eng.test) and len(np.intersect1d(held.val, eng.test)) == 0 and len(held.val)


def test_neighbour_sampler_without_pyg_lib():
    """The numpy sampler: seeds first, sampled edges are real edges among returned nodes, fanout respected."""
    from socialgraph.data.adjacency import adjacency_from_edges
    from socialgraph.train.sampling import sample_subgraph

    graph = load("twitch-engb")
    adj = adjacency_from_edges(graph.friends, graph.num_users)
    seeds = np.array([0, 107, 348, 414])
    nodes, ei = sample_subgraph(adj, seeds, [5, 3], np.random.default_rng(0))
    np.testing.assert_array_equal(nodes[:4], np.unique(seeds))
    src, dst = nodes[ei[0].numpy()], nodes[ei[1].numpy()]
    assert np.asarray(adj[src, dst]).ravel().all()  # every sampled edge exists in the graph
    first_hop = np.isin(dst, seeds)
    assert np.bincount(np.searchsorted(seeds, dst[first_hop])).max() <= 5
    assert len(nodes) < graph.num_users


@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core400")])
@pytest.mark.parametrize("completion", [0, 8])
def test_sampled_mode_trains(completion, name, tmp_path):
    """Neighbour-sampled training beats common neighbours, also when the scorer pools one-sided neighbours (they
    must join the sampled subgraph and be renumbered with it)."""
    _, split, _, fitted = _fit(name, {"train": {"epochs": 8, "eval_every": 2, "mode": "sampled"},
                                              "model": {"link_completion": completion}})
    heur = heuristic_baselines(split, ["cn"])
    assert fitted.metrics["test"]["link"]["auc"] > heur["cn"]["auc"]
    # The Predictor and its suggestion pipeline list the same one-sided neighbours the model trained with.
    import socialgraph

    predictor = socialgraph.Predictor.load(save_bundle(fitted, tmp_path / "b"))
    pairs = np.r_[split.test[:50], split.negatives[:50]]
    want = fitted.link_logits(pairs)
    assert np.array_equal(predictor.link_logits(pairs), want)
    assert np.array_equal(predictor.suggestion_pipeline().scorer.logits(pairs), want)


def test_demo_refuses_an_unknown_text_encoder(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--text", "bert"])
    assert result.exit_code == 2 and "--text 'bert': text must be one of" in result.output
    assert not (tmp_path / "demo").exists()  # refused before anything is written


@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core300")])
@pytest.mark.parametrize("structure_graph", ["step", "full"])
def test_step_pair_features_never_see_the_targets(structure_graph, name, monkeypatch):
    """Every training step describes its positive pairs on a graph without their own edge: ``step`` computes all
    pair features on the step's message-passing graph (targets hidden), ``full`` on the whole training graph with
    each positive's own edge left out (and only that edge: the graph holds every other training friendship)."""
    from socialgraph.model import pairwise
    from socialgraph.train import step as step_module

    graph = load_graph(name)
    split = benchmark_split(graph, seed=0)
    train_keys = set(map(tuple, np.sort(split.train, 1).tolist()))
    calls = []
    real = pairwise.pair_structure

    def spy(adj, pairs, *, leave_out=None, completion=0):
        calls.append((adj, np.asarray(pairs).copy(), None if leave_out is None else np.asarray(leave_out).copy()))
        return real(adj, pairs, leave_out=leave_out, completion=completion)

    monkeypatch.setattr(step_module, "pair_structure", spy)
    config = from_dict(Config, {"train": {"epochs": 1, "structure_graph": structure_graph},
                                "model": {"dim": 16, "heads": 1}})
    Trainer(config, progress=False).fit(graph, LinkData(split.train, split.val))
    assert len(calls) >= 5  # one call a step
    for adj, pairs, leave_out in calls:
        positive = np.array([tuple(p) in train_keys for p in np.sort(pairs, 1).tolist()])
        assert positive.any() and (~positive).any()
        has_edge = np.asarray(adj[pairs[:, 0], pairs[:, 1]]).ravel() > 0
        if structure_graph == "step":
            assert leave_out is None and not has_edge.any()
        else:
            assert adj.nnz == 2 * len(split.train) and has_edge[positive].all()
            assert np.array_equal(leave_out, positive)


def test_half_star_ratings_are_ratings_and_counts_are_not():
    """FilmTrust rates in half stars from 0.5 to 4.0: ratings (squared error), as 1-5 stars are; play counts and
    weights that are not on a grid of halves within 0..10 are implicit feedback."""
    from dataclasses import replace

    from socialgraph.train.engagements import engagement_kind, is_rating_scale

    g = load_graph("synth-ratings")
    rng = np.random.default_rng(0)
    half_stars = rng.integers(1, 9, g.num_engagements) / 2.0  # 0.5 .. 4.0
    assert half_stars.min() == 0.5 and half_stars.max() == 4.0 and (half_stars % 1).any()
    kinds = {name: engagement_kind(replace(g, engagement_value=v.astype(np.float32))) for name, v in {
        "half stars": half_stars, "stars": rng.integers(1, 6, g.num_engagements).astype(float),
        "plays": rng.integers(1, 500, g.num_engagements).astype(float),
        "quarter steps": rng.integers(1, 17, g.num_engagements) / 4.0,
        "seconds": rng.random(g.num_engagements) * 9}.items()}
    assert kinds == {"half stars": "explicit", "stars": "explicit", "plays": "implicit",
                     "quarter steps": "implicit", "seconds": "implicit"}
    assert not is_rating_scale(np.array([-1.0, 2.0])) and not is_rating_scale(np.array([np.nan]))
    assert engagement_kind(replace(g, engagement_value=half_stars.astype(np.float32)), "implicit") == "implicit"


@pytest.mark.parametrize("name", [pick("seal-usair", "musae-facebook-core300")])
def test_a_full_graph_epoch_is_ten_passes_whatever_the_batch_size(name, monkeypatch):
    """A whole-graph step costs the same whatever its number of targets, so ``full`` mode takes a tenth of the
    training friendships a step however small ``train.batch_size`` is: an epoch is ten passes over the graph and
    costs in proportion to the friendships (with the batch as a cap, the passes grew with the graph too and an
    epoch's cost with its square). ``sampled`` steps cost in proportion to their targets and keep the cap."""
    from socialgraph.train import step as step_module

    graph = load_graph(name)
    split = benchmark_split(graph, seed=0)
    real = step_module.training_step

    for mode, expected in (("full", None), ("sampled", 64)):
        sizes = []

        def spy(ctx, users, idx, rng):
            sizes.append(len(idx))
            return real(ctx, users, idx, rng)

        monkeypatch.setattr("socialgraph.train.trainer.training_step", spy)
        config = from_dict(Config, {"train": {"epochs": 1, "batch_size": 64, "mode": mode},
                                    "model": {"dim": 16, "heads": 1}})
        Trainer(config, progress=False).fit(graph, LinkData(split.train, split.val))
        assert sum(sizes) == len(split.train)  # one epoch covers every training friendship once
        if mode == "full":  # a tenth, but no fewer than 256 targets (USAir: 1,800 friendships, 8 steps)
            batch = max(256, -(-len(split.train) // 10))
            assert max(sizes) == batch > 64 and len(sizes) == -(-len(split.train) // batch) <= 10
        else:
            assert max(sizes) == expected and len(sizes) == -(-len(split.train) // expected)


def test_a_full_graph_step_scores_batch_size_of_the_targets_it_hides(monkeypatch):
    """Scoring costs in proportion to the pairs while the whole-graph pass does not: a ``full`` step hides its
    whole tenth from message passing but its link loss scores ``batch_size`` of those targets (and as many negatives),
    drawn from the tenth; with a larger ``batch_size`` it scores them all."""
    from socialgraph.train import step as step_module

    graph = load_graph("musae-facebook-core600")
    split = benchmark_split(graph, seed=0)
    real = step_module._link_pairs
    for batch_size in (64, 100_000):
        seen = []

        def spy(ctx, idx, rng):
            p = real(ctx, idx, rng)
            seen.append((idx, p))
            return p

        monkeypatch.setattr(step_module, "_link_pairs", spy)
        config = from_dict(Config, {"train": {"epochs": 1, "batch_size": batch_size, "mode": "full"},
                                    "model": {"dim": 16, "heads": 1}})
        Trainer(config, progress=False).fit(graph, LinkData(split.train, split.val))
        tenth = -(-len(split.train) // 10)
        assert len(seen) == 10
        for idx, p in seen:
            hidden = split.train[~p.keep]
            assert len(idx) == len(hidden) and len(idx) in (tenth, len(split.train) - 9 * tenth)
            scored = min(batch_size, len(idx))
            # negatives: as many, less the few duplicates a dense 600-user graph's draws leave out
            assert p.num_targets == scored and 0.8 * scored <= len(p.pairs) - scored <= scored
            targets = {tuple(e) for e in p.pairs[:scored]}
            assert targets <= {tuple(e) for e in hidden}  # drawn from the pairs the step hid, none twice
            assert len(targets) == scored
