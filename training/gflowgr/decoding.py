"""Reference decoders, constrained by the item trie (what serving must reproduce): batched beam search, and
sampling without replacement by stochastic beam search (`stochastic_beam_search`).

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
    past = None  # no positions yet
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


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, accurate on both sides of -log 2."""
    return torch.where(x > -0.6931471805599453, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def conditional_gumbel(parent: torch.Tensor, perturbed: torch.Tensor, maximum: torch.Tensor) -> torch.Tensor:
    """-log(exp(-parent) - exp(-maximum) + exp(-perturbed)), stably (Kool et al. 2019, appendix B)."""
    v = parent - perturbed + _log1mexp(perturbed - maximum)
    return parent - v.clamp(min=0) - torch.log1p(torch.exp(-v.abs()))


@torch.no_grad()
def stochastic_beam_search(policy: Policy, trie: TrieTensors, history_tokens: torch.Tensor, user_token: torch.Tensor,
                           k: int, temperature: float = 1.0, generator: torch.Generator | None = None,
                           excluded: list[list[int]] | None = None):
    """Draws k distinct items per request without replacement: stochastic beam search with the Gumbel-top-k
    trick (W. Kool, H. van Hoof, M. Welling, ICML 2019), the same sampler the service runs.

    The distribution is P_F with every level's logits divided by `temperature`, restricted to the children
    that have an allowed item below: q(item) = prod_l softmax_alive(logits_l / T)[code_l]. Each child's
    Gumbel-perturbed log q is drawn conditioned on its siblings' maximum being its parent's, so the beam of
    width k that keeps the largest perturbed values ends with an exact sample, in sampling order.

    -> items [B,k] (-1 where fewer items are allowed), scores [B,k] (log P over the trie, as beam_search),
       probabilities [B,k] (q), propensities [B,k] (q_r / (1 - sum_{j<r} q_j), Plackett-Luce).
    """
    B = history_tokens.shape[0]
    device = history_tokens.device
    cross_kv, memory_bias = policy.encode(history_tokens, user_token)
    alive = trie.alive_counts(excluded) if excluded is not None else None
    node = torch.zeros(B, 1, dtype=torch.long, device=device)
    score = torch.zeros(B, 1, device=device)
    logq = torch.zeros(B, 1, device=device)
    key = torch.zeros(B, 1, device=device)
    token = torch.full((B, 1), BOS, dtype=torch.long, device=device)
    parent = torch.zeros(B, 1, dtype=torch.long, device=device)
    past = None  # no positions yet
    offsets = torch.tensor(policy.cfg.level_offsets, device=device)
    neg_inf = float("-inf")
    for level in range(policy.cfg.levels):
        logits, past = policy.decode_step(token, parent, past, cross_kv, memory_bias, torch.tensor(level, device=device))
        children = trie.child_table[node]                                                    # [B,W,V]
        valid = children >= 0
        live = valid & (key[..., None] > neg_inf)
        if alive is not None:
            live &= torch.gather(alive, 1, children.clamp(min=0).view(B, -1)).view(children.shape) > 0
        child_score = score[..., None] + masked_log_softmax(logits, valid)
        child_logq = logq[..., None] + masked_log_softmax(logits / temperature, live)
        u = torch.rand(child_logq.shape, generator=generator, device=device).clamp(min=1e-12, max=1 - 1e-12)
        perturbed = torch.where(live, child_logq - torch.log(-torch.log(u)), torch.full_like(child_logq, neg_inf))
        maximum = perturbed.max(dim=-1, keepdim=True).values
        child_key = torch.where(live, conditional_gumbel(key[..., None], perturbed, maximum), torch.full_like(perturbed, neg_inf))
        W, V = child_key.shape[1], child_key.shape[2]
        key, top = child_key.view(B, -1).topk(min(k, W * V), dim=1)
        parent, code = top // V, top % V
        node = torch.gather(children.view(B, -1), 1, top)
        score = torch.gather(child_score.view(B, -1), 1, top)
        logq = torch.gather(child_logq.view(B, -1), 1, top)
        token = code + offsets[level]
    dead = key == neg_inf
    items = torch.where(dead, torch.full_like(node, -1), trie.leaf_item[node.clamp(min=0)])
    q = torch.where(dead, torch.zeros_like(logq), logq.exp())
    taken = torch.cumsum(q, dim=1) - q
    propensity = torch.where(dead, torch.zeros_like(q), (q / (1 - taken).clamp(min=1e-30)).clamp(max=1))
    return items, score, q, propensity
