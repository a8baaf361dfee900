import numpy as np

from gflowgr.tokenizer import TokenizerConfig, add_uniqueness_level, build_semantic_ids

TEXTS = [f"brand{i % 7} lipstick shade{i % 11} {'matte' if i % 2 else 'gloss'} colour{i % 5}" for i in range(300)]


def test_ids_are_unique_and_deterministic():
    rng = np.random.default_rng(0)
    collab = rng.normal(size=(300, 8))
    cfg = TokenizerConfig(levels=2, codebook_size=8, kmeans_iters=30)
    a = build_semantic_ids(TEXTS, collab, cfg, seed=3)
    b = build_semantic_ids(TEXTS, collab, cfg, seed=3)
    assert np.array_equal(a.codes, b.codes)
    assert len({tuple(c) for c in a.codes}) == 300
    report = a.report()
    assert report["unique"] and report["levels"] == 3 and report["codebook_sizes"][:2] == [8, 8]
    assert report["codebook_sizes"][2] == report["max_items_per_prefix"] == a.codes[:, 2].max() + 1
    assert 0 < report["collision_rate"] <= 1


def test_catalogue_without_text_uses_collaborative_embeddings_only():
    collab = np.random.default_rng(1).normal(size=(50, 4))
    ids = build_semantic_ids([""] * 50, collab, TokenizerConfig(levels=2, codebook_size=4), seed=0)
    assert len({tuple(c) for c in ids.codes}) == 50


def test_uniqueness_level_numbers_items_sharing_a_prefix():
    codes = np.array([[0, 1], [0, 1], [2, 3], [0, 1]])
    assert add_uniqueness_level(codes)[:, -1].tolist() == [0, 1, 0, 2]


def test_the_content_encoder_reproduces_sklearn_and_encodes_new_text():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from gflowgr.tokenizer import TOKEN_PATTERN
    rng = np.random.default_rng(0)
    collab = rng.normal(size=(300, 8))
    ids = build_semantic_ids(TEXTS, collab, TokenizerConfig(levels=2, codebook_size=8, text_dim=6), seed=3)
    encoder = ids.encoder
    reference = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=50_000, token_pattern=TOKEN_PATTERN).fit(TEXTS)
    for text in [TEXTS[5], "Brand3 LIPSTICK lipstick gloss unknownword", ""]:
        assert np.allclose(encoder.tfidf(text), reference.transform([text]).toarray()[0], atol=1e-6)
    codes = encoder.encode("brand2 lipstick matte colour1")
    assert len(codes) == 2 and all(0 <= c < 8 for c in codes)
    x, neighbours = encoder.embed(TEXTS[10])
    assert neighbours[0] == 10 or np.allclose(encoder.text[neighbours[0]], encoder.text[10]), "an item is its own nearest neighbour by text"
    assert x.shape == (encoder.text.shape[1] + 8,)
    assert build_semantic_ids([""] * 50, collab[:50], TokenizerConfig(levels=2, codebook_size=4), seed=0).encoder is None


def test_a_retrofitted_encoder_gives_catalogue_items_their_exported_prefix_back():
    from gflowgr.data import Item
    from gflowgr.retrofit import FAR, agreement, retrofit
    words = [["red", "lipstick", "matte"], ["green", "tea", "toner"], ["blue", "nail", "polish"]]
    items = [Item(f"I{i}", title=" ".join(words[i % 3] + [f"shade{i % 5}"]), brand=f"b{i % 2}") for i in range(30)]
    # exported codes: level 1 by product kind, level 2 by brand; the codebooks have codes nobody carries
    codes = np.array([[i % 3, i % 2] for i in range(30)])
    encoder = retrofit(items, codes, [5, 4], text_dim=8, seed=1)
    assert agreement(encoder, items, codes) == [1.0, 1.0]
    assert (encoder.centres[0][3:] == np.float32(FAR)).all() and encoder.collaborative.shape == (30, 0)
    assert encoder.encode("matte red lipstick b1")[0] == 0 and encoder.encode("nail polish")[0] == 2
