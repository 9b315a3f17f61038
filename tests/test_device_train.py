"""Training on a device (``train.device``, ``Trainer(device=...)``) and in bfloat16 (``train.precision``).

On a CPU every way of asking for the CPU trains exactly the default run; bf16 trains on a CPU too; a CUDA device
that is not there, or a device setting torch would not read, fails at once with a message naming the setting."""
from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from socialgraph.bundle.config import Config, ConfigError, TrainConfig
from socialgraph.bundle.format import load_bundle, save_bundle
from socialgraph.cli.main import app
from socialgraph.config import from_dict
from socialgraph.data.protocol import benchmark_split
from socialgraph.synth import generate
from socialgraph.train.links import LinkData
from socialgraph.train.runtime import resolve_device
from socialgraph.train.trainer import Trainer

SMALL = {"model": {"dim": 16}, "train": {"epochs": 2, "threads": 1}}


def _config(**train) -> Config:
    return from_dict(Config, {"model": SMALL["model"], "train": {**SMALL["train"], **train}})


@pytest.fixture(scope="module")
def graph_split():
    graph = generate(users=300, mean_degree=8, seed=0)
    s = benchmark_split(graph, seed=0)
    return graph, LinkData(s.train, s.val, s.test, s.negatives)


def _fit(graph_split, config: Config, device=None):
    graph, links = graph_split
    trainer = Trainer(config, progress=False, device=device)
    return trainer, trainer.fit(graph, links)


def _comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "train_seconds"}


@pytest.fixture(scope="module")
def default_run(graph_split):
    return _fit(graph_split, _config())


def _on(fitted, device: torch.device) -> None:
    tensors = dict(fitted.model.named_parameters())
    tensors.update(fitted.model.named_buffers())
    assert tensors
    wrong = {k: str(v.device) for k, v in tensors.items() if v.device != device}
    assert not wrong, wrong


@pytest.mark.parametrize("how", ["config", "argument"])
def test_cpu_device_trains_exactly_the_default_run(graph_split, default_run, how):
    trainer0, fitted0 = default_run
    if how == "config":
        trainer, fitted = _fit(graph_split, _config(device="cpu"))
    else:  # a torch.device given to the trainer overrides train.device ("auto")
        trainer, fitted = _fit(graph_split, _config(), device=torch.device("cpu"))
    assert _comparable(fitted.metrics) == _comparable(fitted0.metrics)
    assert "link" in fitted.metrics["test"]
    assert [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in trainer.history] == \
        [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in trainer0.history]
    s0, s1 = fitted0.model.state_dict(), fitted.model.state_dict()
    assert s0.keys() == s1.keys() and all(torch.equal(s0[k], s1[k]) for k in s0)
    _on(fitted, resolve_device("cpu"))
    _on(fitted0, resolve_device("auto"))


def test_bundle_of_a_device_run_loads_and_scores_on_cpu(graph_split, default_run, tmp_path):
    _, fitted = default_run
    pairs = graph_split[1].test[:50]
    save_bundle(fitted, tmp_path / "bundle")
    loaded = load_bundle(tmp_path / "bundle")
    _on(loaded, torch.device("cpu"))
    assert loaded.encoded.users.positions.device == torch.device("cpu")
    assert (loaded.link_logits(pairs) == fitted.link_logits(pairs)).all()
    users = [0, 5, 7]
    if fitted.model.engagement is not None:
        assert (loaded.engagement_scores(users) == fitted.engagement_scores(users)).all()


def test_bf16_trains_on_cpu_close_to_fp32(graph_split, default_run):
    _, fp32 = default_run
    _, bf16 = _fit(graph_split, _config(precision="bf16"))
    _on(bf16, torch.device("cpu"))
    assert next(bf16.model.parameters()).dtype == torch.float32  # autocast: weights stay fp32
    auc32, auc16 = fp32.metrics["test"]["link"]["auc"], bf16.metrics["test"]["link"]["auc"]
    assert abs(auc16 - auc32) <= 0.05, (auc16, auc32)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a CUDA device")
def test_missing_cuda_fails_before_any_work(graph_split, monkeypatch):
    import socialgraph.train.trainer as trainer_module

    def no_work(*args, **kwargs):
        raise AssertionError("prepare ran before the device was checked")
    monkeypatch.setattr(trainer_module, "prepare", no_work)
    graph, links = graph_split
    for setting in ("cuda:0", "cuda"):
        with pytest.raises(ConfigError, match=r"train\.device.*no CUDA device is visible"):
            Trainer(_config(device=setting), progress=False).fit(graph, links)
    with pytest.raises(ConfigError, match="no CUDA device is visible"):
        Trainer(_config(), progress=False, device=torch.device("cuda", 0)).fit(graph, links)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "CUDA", "cuda:", "cpu:0 ", "mps"])
def test_bad_device_settings_are_refused_naming_the_setting(bad):
    with pytest.raises(ConfigError, match=r"train\.device must be 'auto', 'cpu', 'cuda' or 'cuda:N'.*got"):
        resolve_device(bad)
    with pytest.raises(ConfigError, match=r"train\.device"):
        TrainConfig(device=bad)
    with pytest.raises(ConfigError, match=r"train\.device"):
        from_dict(Config, {"train": {"device": bad}})


def test_bad_precision_and_non_string_device_are_refused():
    with pytest.raises(ConfigError, match=r"precision must be one of \('fp32', 'bf16'\)"):
        TrainConfig(precision="fp16")
    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device=0)


def test_cli_device_option(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["train", "--device", "gpu", "--print-config"])
    assert out.exit_code == 2
    assert "--device" in out.output and "train.device must be" in out.output
    out = runner.invoke(app, ["train", "--device", "cpu", "--print-config"])
    assert out.exit_code == 0 and "device: cpu" in out.output
    out = runner.invoke(app, ["train", "--set", "train.device=gpu", "--print-config"])
    assert out.exit_code == 2 and "train.device must be" in out.output
    if not torch.cuda.is_available():
        out = runner.invoke(app, ["train", "--device", "cuda:0", "--data", str(tmp_path / "none"),
                                  "--out", str(tmp_path / "bundle")])
        assert out.exit_code == 2 and "no CUDA device is visible" in out.output
        assert not (tmp_path / "bundle").exists()
