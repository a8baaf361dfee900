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
