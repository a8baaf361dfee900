"""Semantic IDs: item embeddings (item text fused with collaborative embeddings) -> residual k-means.

Each item gets `levels` codes from residual quantisation plus one last code that numbers the items
sharing the same prefix, so every item's ID is unique.

`ContentEncoder` keeps what was fitted (the TF-IDF vocabulary and idf, the SVD projection, the k-means
centres, the catalogue's normalised text and collaborative embeddings), so that an item that arrives after
training gets a semantic ID from its text alone: its collaborative half is the mean of those of its nearest
catalogue items by text (it has no interactions yet). The export writes it for the service
(tokenizer.json / tokenizer.bin), and `encode` here is the reference the service must reproduce.
"""
from __future__ import annotations

import re
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


TOKEN_PATTERN = r"(?u)\b\w+\b"


def text_embeddings(texts: list[str], dim: int, seed: int) -> tuple[np.ndarray, TfidfVectorizer, TruncatedSVD] | None:
    """TF-IDF then truncated SVD (with the fitted vectoriser and projection); None when the catalogue has no usable text."""
    if sum(bool(t.strip()) for t in texts) < 2:
        return None
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=50_000, token_pattern=TOKEN_PATTERN)
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError:  # empty vocabulary
        return None
    dim = min(dim, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if dim < 1:
        return None
    svd = TruncatedSVD(dim, random_state=seed)
    return svd.fit_transform(matrix), tfidf, svd


def fuse(text: np.ndarray | None, collaborative: np.ndarray | None, cfg: TokenizerConfig) -> np.ndarray:
    parts = []
    if text is not None:
        parts.append(cfg.text_weight * _normalise(text))
    if collaborative is not None:
        parts.append(cfg.cm_weight * _normalise(collaborative))
    if not parts:
        raise ValueError("semantic IDs need item text or collaborative embeddings; got neither")
    return np.concatenate(parts, axis=1).astype(np.float64)


def residual_kmeans(x: np.ndarray, levels: int, codebook_size: int, iters: int, seed: int) -> tuple[np.ndarray, list[int], list[np.ndarray]]:
    """Codes [n, levels], the codebook size of each level (smaller than asked for tiny catalogues) and the centres."""
    codes, sizes, centres = np.zeros((x.shape[0], levels), dtype=np.int64), [], []
    residual = x.copy()
    for level in range(levels):
        k = min(codebook_size, len(np.unique(residual.round(10), axis=0)))
        km = KMeans(n_clusters=k, n_init=1, max_iter=iters, random_state=seed + level).fit(residual)
        codes[:, level] = km.labels_
        sizes.append(k)
        centres.append(km.cluster_centers_)
        residual = residual - km.cluster_centers_[km.labels_]
    return codes, sizes, centres


def add_uniqueness_level(codes: np.ndarray) -> np.ndarray:
    """Append a code that numbers items sharing a prefix (0, 1, ...), in item order."""
    seen: dict[tuple, int] = defaultdict(int)
    last = np.zeros(len(codes), dtype=np.int64)
    for i, prefix in enumerate(map(tuple, codes)):
        last[i] = seen[prefix]
        seen[prefix] += 1
    return np.concatenate([codes, last[:, None]], axis=1)


NEIGHBOURS = 10  # catalogue items whose collaborative embeddings a new item borrows


@dataclass
class ContentEncoder:
    """What the tokenizer fitted, in float32 as the service gets it; encode(text) is the reference."""
    vocabulary: list[str]          # terms, in column order
    idf: np.ndarray                # [V]
    components: np.ndarray         # [text_dim, V]: the SVD projection
    text: np.ndarray               # [n, text_dim]: the catalogue's normalised text embeddings
    collaborative: np.ndarray      # [n, cm_dim]: the catalogue's normalised collaborative embeddings (or [n, 0])
    centres: list[np.ndarray]      # per level [k_l, text_dim + cm_dim]
    text_weight: float
    cm_weight: float

    def arrays(self) -> dict[str, np.ndarray]:
        return {"idf": self.idf, "components": self.components, "text": self.text, "collaborative": self.collaborative,
                **{f"centres{l}": c for l, c in enumerate(self.centres)}}

    def tfidf(self, text: str) -> np.ndarray:
        """sklearn's TfidfVectorizer.transform for one text: lowercase, tokens of \\w, sublinear tf, idf, l2."""
        index = {term: i for i, term in enumerate(self.vocabulary)}
        counts: dict[int, int] = {}
        for token in re.findall(TOKEN_PATTERN, text.lower()):
            if token in index:
                counts[index[token]] = counts.get(index[token], 0) + 1
        vector = np.zeros(len(self.vocabulary))
        for i, c in counts.items():
            vector[i] = (1.0 + np.log(c)) * self.idf[i]
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def embed(self, text: str) -> tuple[np.ndarray, list[int]]:
        """The fused embedding of a new item and the catalogue items its collaborative half comes from."""
        t = self.components.astype(np.float64) @ self.tfidf(text)
        t = t / max(np.linalg.norm(t), 1e-12)
        similarity = self.text.astype(np.float64) @ t
        neighbours = np.argsort(-similarity, kind="stable")[:NEIGHBOURS].tolist()
        parts = [self.text_weight * t]
        if self.collaborative.shape[1] > 0:
            c = self.collaborative[neighbours].astype(np.float64).mean(0)
            parts.append(self.cm_weight * c / max(np.linalg.norm(c), 1e-12))
        return np.concatenate(parts), neighbours

    def encode(self, text: str) -> list[int]:
        """The first `levels` codes of a new item's semantic ID (the last, unique, code depends on the catalogue)."""
        x, _ = self.embed(text)
        codes = []
        for centres in self.centres:
            c = centres.astype(np.float64)
            code = int(np.argmin(((c - x) ** 2).sum(1)))
            codes.append(code)
            x = x - c[code]
        return codes


@dataclass
class SemanticIds:
    codes: np.ndarray            # [n_items, levels + 1]
    codebook_sizes: list[int]    # per level; the last is the largest number of items sharing a prefix
    encoder: ContentEncoder | None = None  # None when the catalogue has no text: new items cannot be encoded

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
            "content_encoder": self.encoder is not None,
        }


def content_encoder(tfidf: TfidfVectorizer, svd: TruncatedSVD, text: np.ndarray, collaborative: np.ndarray | None,
                    centres: list[np.ndarray], text_weight: float, cm_weight: float) -> ContentEncoder:
    """The fitted parts as the service reads them (float32); text and collaborative are normalised rows, the
    latter None for none."""
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return ContentEncoder(
        vocabulary=[t for t, _ in sorted(tfidf.vocabulary_.items(), key=lambda kv: kv[1])],
        idf=f32(tfidf.idf_), components=f32(svd.components_), text=f32(text),
        collaborative=f32(collaborative) if collaborative is not None else np.zeros((len(text), 0), np.float32),
        centres=[f32(c) for c in centres], text_weight=text_weight, cm_weight=cm_weight)


def build_semantic_ids(texts: list[str], collaborative: np.ndarray | None, cfg: TokenizerConfig, seed: int) -> SemanticIds:
    fitted = text_embeddings(texts, cfg.text_dim, seed)
    x = fuse(fitted[0] if fitted else None, collaborative, cfg)
    codes, sizes, centres = residual_kmeans(x, cfg.levels, cfg.codebook_size, cfg.kmeans_iters, seed)
    codes = add_uniqueness_level(codes)
    encoder = None
    if fitted is not None:
        embeddings, tfidf, svd = fitted
        encoder = content_encoder(tfidf, svd, _normalise(embeddings), _normalise(collaborative) if collaborative is not None else None,
                                  centres, cfg.text_weight, cfg.cm_weight)
    return SemanticIds(codes, sizes + [int(codes[:, -1].max()) + 1], encoder)
