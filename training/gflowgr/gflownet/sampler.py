"""Which N-1 extra trajectories (items) to train on besides the positive.

- curriculum (default): from the CM's top `pool_size` candidates, easy (low CM score) items early in
  fine-tuning and hard (high score) items late: a window slides down the ranking as progress goes 0 -> 1.
- uniform: items uniformly at random from the catalogue.
- on_policy: items drawn from the current policy by ancestral sampling through the trie (the policy's
  own distribution, which is what its beam explores, at a fraction of the cost of a beam search).
Positives are never re-drawn as extra items.
"""
from __future__ import annotations

import torch

from ..model import BOS, Policy
from ..trie import TrieTensors, masked_log_softmax

STRATEGIES = ("curriculum", "uniform", "on_policy")


def curriculum(cm_scores: torch.Tensor, positives: torch.Tensor, count: int, progress: float, pool_size: int,
               generator: torch.Generator) -> torch.Tensor:
    scores = cm_scores.scatter(1, positives[:, None], float("-inf"))
    pool = scores.topk(min(pool_size, scores.shape[1] - 1), dim=1).indices      # hardest first
    window = max(count, pool.shape[1] // 4)
    start = round((1.0 - progress) * (pool.shape[1] - window))                # easy end first
    pick = start + torch.rand(pool.shape[0], window, generator=generator).argsort(1)[:, :count]
    return torch.gather(pool, 1, pick)


def uniform(n_items: int, positives: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    items = torch.randint(0, n_items - 1, (positives.shape[0], count), generator=generator, device=positives.device)
    return items + (items >= positives[:, None]).long()  # skip the positive


@torch.no_grad()
def on_policy(policy: Policy, trie: TrieTensors, cross_kv, memory_bias, positives: torch.Tensor, count: int,
              generator: torch.Generator) -> torch.Tensor:
    B = positives.shape[0]
    device = positives.device
    node = torch.zeros(B, count, dtype=torch.long, device=device)
    token = torch.full((B, count), BOS, dtype=torch.long, device=device)
    samples = torch.arange(count, device=device).repeat(B, 1)  # each sample extends itself
    past = None  # no positions yet
    parent = torch.zeros_like(samples)
    for level in range(policy.cfg.levels):
        logits, past = policy.decode_step(token, parent, past, cross_kv, memory_bias, torch.tensor(level))
        probs = masked_log_softmax(logits, trie.valid_children(node)).exp()
        code = torch.multinomial(probs.view(B * count, -1), 1, generator=generator).view(B, count)
        node = trie.child_table[node, code]
        token, parent = code + policy.cfg.level_offsets[level], samples
    items = trie.leaf_item[node]
    # a draw of the positive is replaced by a uniform item, so every extra trajectory is a non-observed item
    replacement = uniform(int(trie.leaves_below[0]), positives, count, generator)
    return torch.where(items == positives[:, None], replacement, items)
