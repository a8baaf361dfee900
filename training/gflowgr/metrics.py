"""Accuracy and exposure metrics of ranked lists (leave-one-out: one target per user)."""
from __future__ import annotations

import numpy as np


def gini(counts: np.ndarray) -> float:
    x = np.sort(counts.astype(np.float64))
    if x.sum() == 0:
        return 0.0
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def ranking_metrics(ranked: np.ndarray, targets: np.ndarray, popularity: np.ndarray, cutoffs=(5, 10)) -> dict:
    """ranked [U,k] item indices (-1 = no item), targets [U], popularity = training counts per item."""
    n_items = len(popularity)
    out: dict[str, float] = {"users": int(len(targets))}
    hits = ranked == targets[:, None]
    rank = np.where(hits.any(1), hits.argmax(1), np.iinfo(np.int64).max)
    for c in cutoffs:
        out[f"recall@{c}"] = float((rank < c).mean())
        out[f"ndcg@{c}"] = float(np.where(rank < c, 1.0 / np.log2(np.minimum(rank, n_items) + 2.0), 0.0).mean())
    top = ranked[:, :max(cutoffs)]
    valid = (top >= 0) & (top < n_items)
    shown = top[valid]
    exposure = np.bincount(shown, minlength=n_items)
    tail = np.zeros(n_items, dtype=bool)
    tail[np.argsort(popularity, kind="stable")[: int(round(0.8 * n_items))]] = True  # the 80% least popular
    c = max(cutoffs)
    out[f"coverage@{c}"] = float((exposure > 0).sum() / n_items)
    out["long_tail_share"] = float(tail[shown].mean()) if shown.size else 0.0
    out["gini"] = gini(exposure)
    out["invalid_rate"] = float(1.0 - valid.mean()) if top.size else 0.0
    return out
