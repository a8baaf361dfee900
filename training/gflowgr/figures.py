"""The model card's pictures, drawn from what the stages recorded in the run directory.

- training_curves.png: validation NDCG@10 and training loss over steps, SFT then each fine-tuning run.
- accuracy_coverage.png: test NDCG@10 against coverage@10 for every model, runs that differ only in the reward
  exponent joined.
- popularity.png: where recommended items fall in the catalogue's popularity ranking, SASRec/SFT/GFlowGR.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def training_curves(histories: dict[str, dict], sft_steps: int, out: Path) -> None:
    """histories: label -> fit() history; every run but 'sft' starts where SFT stopped."""
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4))
    for label, h in histories.items():
        offset = 0 if label == "sft" else sft_steps
        steps = [s + offset for s in h["steps"]]
        style = {"linewidth": 2.5, "color": "black"} if label == "sft" else {"linewidth": 1.2}
        acc.plot(steps, h["valid_ndcg@10"], marker="o", markersize=3, label=label, **style)
        loss.plot(steps, h["train_loss"], marker="o", markersize=3, label=label, **style)
    acc.set(xlabel="training step", ylabel="validation NDCG@10", title="Validation accuracy")
    loss.set(xlabel="training step", ylabel="mean training loss since last evaluation", title="Training loss", yscale="log")
    acc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def accuracy_coverage(points: dict[str, dict], series: dict[str, list[tuple[str, float]]], labelled: set[str],
                      out: Path) -> None:
    """points: label -> test metrics. series: name -> [(label, reward exponent)], runs that differ only in the
    exponent, joined in its order. Only `labelled` points are named; the others are grey."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for label, m in points.items():
        named = label in labelled
        ax.scatter(m["coverage@10"], m["ndcg@10"], s=30 if named else 12, color=None if named else "0.7", zorder=3)
        if named:
            ax.annotate(label, (m["coverage@10"], m["ndcg@10"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
    for name, runs in series.items():
        runs = sorted(runs, key=lambda x: x[1])
        xs, ys = [points[label]["coverage@10"] for label, _ in runs], [points[label]["ndcg@10"] for label, _ in runs]
        line, = ax.plot(xs, ys, linewidth=1, label=f"{name}: beta " + " / ".join(f"{b:g}" for _, b in runs))
        for (label, beta), x, y in zip(runs, xs, ys):
            ax.annotate(f"{beta:g}", (x, y), fontsize=6, color=line.get_color(), xytext=(-10, -9), textcoords="offset points")
    if series:
        ax.legend(fontsize=6, loc="lower right")
    ax.set(xlabel="coverage@10 (share of the catalogue recommended to anyone)", ylabel="test NDCG@10",
           title="Accuracy against exposure across the reward scale (test, standard protocol)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def popularity(rankings: dict[str, np.ndarray], item_popularity: np.ndarray, out: Path, bins: int = 10) -> None:
    """Share of the top-10 recommendations in each decile of items ordered from most to least popular."""
    order = np.argsort(-item_popularity, kind="stable")
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * bins // len(order)
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(rankings), 1)
    for i, (label, ranked) in enumerate(rankings.items()):
        shown = ranked[ranked >= 0]
        share = np.bincount(decile[shown], minlength=bins) / max(len(shown), 1)
        ax.bar(np.arange(bins) + i * width, share, width, label=label)
    ax.set_xticks(np.arange(bins) + 0.4 - width / 2, [f"{10 * d}-{10 * d + 10}%" for d in range(bins)], fontsize=7)
    ax.set(xlabel="item popularity decile (0-10% = most interacted-with in training)",
           ylabel="share of top-10 recommendations", title="Who gets exposed (test users)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def frontier(curves: dict[str, list[dict]], out: Path) -> None:
    """curves: model -> points (beam, then rising temperature) with mean and std of the metrics over seeds. Test
    NDCG@10 against coverage@10 and against long-tail share, one line per model, each point marked with its
    temperature (B = beam search, or the CM's exact top 10)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, x, xlabel in ((axes[0], "coverage@10", "coverage@10 (share of the catalogue recommended to anyone)"),
                          (axes[1], "long_tail_share", "long-tail share (top-10 slots held by the 80% least popular items)")):
        for label, points in curves.items():
            xs, ys = [p[x] for p in points], [p["ndcg@10"] for p in points]
            line = ax.errorbar(xs, ys, xerr=[p[f"{x}_std"] for p in points], yerr=[p["ndcg@10_std"] for p in points],
                               marker="o", markersize=4, linewidth=1.2, capsize=2, label=label)
            for p, px, py in zip(points, xs, ys):
                ax.annotate("B" if p["temperature"] is None else f"{p['temperature']:g}", (px, py), fontsize=6,
                            color=line[0].get_color(), xytext=(3, 3), textcoords="offset points")
        ax.set(xlabel=xlabel)
        ax.grid(alpha=0.3)
    axes[0].set(ylabel="test NDCG@10", title="Accuracy against coverage")
    axes[1].set(title="Accuracy against long-tail exposure")
    axes[0].legend(fontsize=8)
    fig.suptitle("Beam search or top 10 (B), then sampling at temperature T; mean ± std over seeds", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
