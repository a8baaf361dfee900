"""Semantic IDs: item embeddings (item text fused with collaborative embeddings) -> residual k-means.

Each item gets `levels` codes from residual quantisation plus one last code that numbers the items
sharing the same prefix, so every item's ID is unique.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer


@dataclass
class TokenizerConfig:
    levels: int = 3
    codebook_size: int = 256
    text_dim: int = 64
    text_weight: float = 1.0   # relative weight of the text part after L2 normalisation
    cm_weight: float = 1.0     # relative weight of the collaborative part
    kmeans_iters: int = 100


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def text_embeddings(texts: list[str], dim: int, seed: int) -> np.ndarray | None:
    """TF-IDF then truncated SVD; None when the catalogue has no usable text."""
    if sum(bool(t.strip()) for t in texts) < 2:
        return None
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=50_000, token_pattern=r"(?u)\b\w+\b")
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    dim = min(dim, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if dim < 1:
        return None
    return TruncatedSVD(dim, random_state=seed).fit_transform(matrix)


def fuse(text: np.ndarray | None, collaborative: np.ndarray | None, cfg: TokenizerConfig) -> np.ndarray:
    parts = []
    if text is not None:
        parts.append(cfg.text_weight * _normalise(text))
    if collaborative is not None:
        parts.append(cfg.cm_weight * _normalise(collaborative))
    if not parts:
        raise ValueError("semantic IDs need item text or collaborative embeddings; got neither")
    return np.concatenate(parts, axis=1).astype(np.float64)


def residual_kmeans(x: np.ndarray, levels: int, codebook_size: int, iters: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """Codes [n, levels] and the codebook size of each level (smaller than asked for tiny catalogues)."""
    codes, sizes = np.zeros((x.shape[0], levels), dtype=np.int64), []
    residual = x.copy()
    for level in range(levels):
        k = min(codebook_size, len(np.unique(residual.round(10), axis=0)))
        km = KMeans(n_clusters=k, n_init=1, max_iter=iters, random_state=seed + level).fit(residual)
        codes[:, level] = km.labels_
        sizes.append(k)
        residual = residual - km.cluster_centers_[km.labels_]
    return codes, sizes


def add_uniqueness_level(codes: np.ndarray) -> np.ndarray:
    """Append a code that numbers items sharing a prefix (0, 1, ...), in item order."""
    seen: dict[tuple, int] = defaultdict(int)
    last = np.zeros(len(codes), dtype=np.int64)
    for i, prefix in enumerate(map(tuple, codes)):
        last[i] = seen[prefix]
        seen[prefix] += 1
    return np.concatenate([codes, last[:, None]], axis=1)


@dataclass
class SemanticIds:
    codes: np.ndarray            # [n_items, levels + 1]
    codebook_sizes: list[int]    # per level; the last is the largest number of items sharing a prefix

    def report(self) -> dict:
        prefixes = Counter(map(tuple, self.codes[:, :-1]))
        shared = sum(c for c in prefixes.values() if c > 1)
        return {
            "levels": len(self.codebook_sizes),
            "codebook_sizes": self.codebook_sizes,
            "codes_used_per_level": [int(len(np.unique(self.codes[:, l]))) for l in range(self.codes.shape[1])],
            "collision_rate": shared / len(self.codes),
            "max_items_per_prefix": max(prefixes.values()),
            "unique": len(set(map(tuple, self.codes))) == len(self.codes),
        }


def build_semantic_ids(texts: list[str], collaborative: np.ndarray | None, cfg: TokenizerConfig, seed: int) -> SemanticIds:
    x = fuse(text_embeddings(texts, cfg.text_dim, seed), collaborative, cfg)
    codes, sizes = residual_kmeans(x, cfg.levels, cfg.codebook_size, cfg.kmeans_iters, seed)
    codes = add_uniqueness_level(codes)
    return SemanticIds(codes, sizes + [int(codes[:, -1].max()) + 1])
