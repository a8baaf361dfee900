"""Reference decoder: batched beam search constrained by the item trie (what serving must reproduce).

At every level the policy's logits are turned into log P_F over the trie's valid children of each
beam's node (normalised over the catalogue's structure, so a score is the item's log-probability under
the policy whatever is excluded); candidates whose subtree holds no allowed item are dead and dropped;
the best `beam` of all beams x children survive. Leaves map to items.
"""
from __future__ import annotations

import torch

from .model import BOS, Policy
from .trie import TrieTensors, masked_log_softmax


@torch.no_grad()
def beam_search(policy: Policy, trie: TrieTensors, history_tokens: torch.Tensor, user_token: torch.Tensor,
                beam: int, k: int, excluded: list[list[int]] | None = None, trace: list | None = None):
    """-> items [B,k] (-1 where fewer than k items are reachable), scores [B,k] (log-probabilities).

    `trace`, when given, receives the encoder outputs and every decoder step's inputs and logits (export parity)."""
    B = history_tokens.shape[0]
    device = history_tokens.device
    cross_kv, memory_bias = policy.encode(history_tokens, user_token)
    if trace is not None:
        trace.append({"cross_kv": cross_kv, "memory_bias": memory_bias})
    alive = trie.alive_counts(excluded) if excluded is not None else None
    node = torch.zeros(B, 1, dtype=torch.long, device=device)
    score = torch.zeros(B, 1, device=device)
    token = torch.full((B, 1), BOS, dtype=torch.long, device=device)
    parent = torch.zeros(B, 1, dtype=torch.long, device=device)
    past = policy.empty_cache(B, device)
    offsets = torch.tensor(policy.cfg.level_offsets, device=device)
    for level in range(policy.cfg.levels):
        level_t = torch.tensor(level, device=device)
        logits, past = policy.decode_step(token, parent, past, cross_kv, memory_bias, level_t)   # [B,W,V]
        if trace is not None:
            trace.append({"token": token, "parent": parent, "level": level, "logits": logits})
        children = trie.child_table[node]                              # [B,W,V]
        log_pf = masked_log_softmax(logits, children >= 0)
        live = (children >= 0) & (score[..., None] > float("-inf"))
        if alive is not None:
            live &= torch.gather(alive, 1, children.clamp(min=0).view(B, -1)).view(children.shape) > 0
        candidates = torch.where(live, score[..., None] + log_pf, torch.full_like(log_pf, float("-inf")))
        W, V = candidates.shape[1], candidates.shape[2]
        score, top = candidates.view(B, -1).topk(min(beam, W * V), dim=1)
        parent, code = top // V, top % V
        node = torch.gather(children.view(B, -1), 1, top)
        token = code + offsets[level]
    dead = score == float("-inf")
    items = torch.where(dead, torch.full_like(node, -1), trie.leaf_item[node.clamp(min=0)])
    items, score = items[:, :k], score[:, :k]
    if items.shape[1] < k:
        pad = k - items.shape[1]
        items = torch.cat([items, torch.full((B, pad), -1, dtype=items.dtype, device=device)], 1)
        score = torch.cat([score, torch.full((B, pad), float("-inf"), device=device)], 1)
    return items, score
