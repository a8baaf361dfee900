"""Scoring of the policy (through the reference decoder) and of the CM on validation and test.

Two protocols: the standard one (the whole catalogue can be recommended, as in the papers) and the
history-masked one (items the user has already seen are excluded, as the service does with
excludeSeen; legal here because no user repeats an item).
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from .cm import SASRec
from .decoding import beam_search
from .metrics import ranking_metrics
from .model import Policy, history_batch
from .rundir import PROGRESS_INTERVAL
from .trie import TrieTensors
from .userhash import user_bucket

Case = tuple[str, list[int], int]  # user, history (oldest first), target


def user_tokens(users: list[str | None], policy: Policy) -> torch.Tensor:
    cfg = policy.cfg
    return torch.tensor([cfg.user_offset + user_bucket(u, cfg.user_buckets) for u in users], dtype=torch.long)


@torch.no_grad()
def rank_policy(policy: Policy, trie: TrieTensors, item_tokens: torch.Tensor, cases: list[Case], beam: int, k: int,
                batch_size: int, exclude_history: bool, progress: bool = False) -> np.ndarray:
    policy.eval()
    device = item_tokens.device
    out = []
    starts = range(0, len(cases), batch_size)
    for start in tqdm(starts, desc="decode", disable=not progress, leave=False, mininterval=PROGRESS_INTERVAL):
        batch = cases[start:start + batch_size]
        hist = history_batch([h for _, h, _ in batch], item_tokens.cpu(), policy.cfg.max_history).to(device)
        items, _ = beam_search(policy, trie, hist, user_tokens([u for u, _, _ in batch], policy).to(device), beam, k,
                               excluded=[h for _, h, _ in batch] if exclude_history else None)
        out.append(items.cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


@torch.no_grad()
def rank_cm(cm: SASRec, cases: list[Case], k: int, batch_size: int, exclude_history: bool) -> np.ndarray:
    cm.eval()
    out = []
    for start in range(0, len(cases), batch_size):
        batch = cases[start:start + batch_size]
        scores = cm.scores([h for _, h, _ in batch])
        if exclude_history:
            for row, (_, h, _) in enumerate(batch):
                scores[row, h] = float("-inf")
        out.append(scores.topk(k, dim=1).indices.cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def sample_cm(cm: SASRec, cases: list[Case], k: int, batch_size: int, temperature: float,
              generator: torch.Generator) -> np.ndarray:
    """k distinct items per case drawn from the CM's softmax at `temperature`, without replacement: the top k of
    the tempered scores plus Gumbel noise, which draws exactly as sequential sampling without replacement does
    (Gumbel-top-k; Kool, van Hoof and Welling, ICML 2019). The whole catalogue, as the standard protocol ranks."""
    cm.eval()
    out = []
    for start in range(0, len(cases), batch_size):
        scores = cm.scores([h for _, h, _ in cases[start:start + batch_size]]).cpu()
        uniform = torch.rand(scores.shape, generator=generator).clamp_(min=torch.finfo(scores.dtype).tiny)
        out.append((scores / temperature - torch.log(-torch.log(uniform))).topk(k, dim=1).indices.numpy())
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


def score(ranked: np.ndarray, cases: list[Case], popularity: np.ndarray) -> dict:
    return ranking_metrics(ranked, np.array([t for _, _, t in cases]), popularity)
