"""Reference decoders, constrained by the item trie (what serving must reproduce): batched beam search, and
sampling without replacement by stochastic beam search (`stochastic_beam_search`).

At every level the policy's logits are turned into log P_F over the trie's valid children of each
beam's node (normalised over the catalogue's structure, so a score is the item's log-probability under
the policy whatever is excluded); candidates whose subtree holds no allowed item are dead and dropped;
the best `beam` of all beams x children survive. Leaves map to items.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

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
       probabilities [B,k] (q, float64), propensities [B,k] (Plackett-Luce: q_r over the mass not yet drawn; see
       _log_mass_left).
    """
    B = history_tokens.shape[0]
    device = history_tokens.device
    cross_kv, memory_bias = policy.encode(history_tokens, user_token)
    alive = trie.alive_counts(excluded) if excluded is not None else None
    node = torch.zeros(B, 1, dtype=torch.long, device=device)
    score = torch.zeros(B, 1, device=device)
    logq = torch.zeros(B, 1, dtype=torch.float64, device=device)  # float64: propensities divide tiny masses
    key = torch.zeros(B, 1, device=device)
    token = torch.full((B, 1), BOS, dtype=torch.long, device=device)
    parent = torch.zeros(B, 1, dtype=torch.long, device=device)
    past = None  # no positions yet
    offsets = torch.tensor(policy.cfg.level_offsets, device=device)
    neg_inf = float("-inf")
    expansions = []  # per level: the children's log q [B,W,V] (-inf where not alive), and the top's slots and codes
    for level in range(policy.cfg.levels):
        logits, past = policy.decode_step(token, parent, past, cross_kv, memory_bias, torch.tensor(level, device=device))
        children = trie.child_table[node]                                                    # [B,W,V]
        valid = children >= 0
        live = valid & (key[..., None] > neg_inf)
        if alive is not None:
            live &= torch.gather(alive, 1, children.clamp(min=0).view(B, -1)).view(children.shape) > 0
        child_score = score[..., None] + masked_log_softmax(logits, valid)
        child_logq = logq[..., None] + masked_log_softmax(logits.double() / temperature, live)
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
        expansions.append((torch.where(live, child_logq, neg_inf), parent, code))
    dead = key == neg_inf
    items = torch.where(dead, torch.full_like(node, -1), trie.leaf_item[node.clamp(min=0)])
    q = torch.where(dead, torch.zeros_like(logq), logq.exp())
    propensity = torch.where(dead, torch.zeros_like(q), (logq - _log_mass_left(expansions)).exp().clamp(max=1))
    return items, score, q, propensity


def _log_mass_left(expansions) -> torch.Tensor:
    """log of the q not yet drawn before each rank [B,k]: the denominator of the Plackett-Luce propensity.

    Not 1 - sum_{j<r} q_j, which is 0 once a q_j rounds to 1 (a dominant item at a low temperature). Instead, the
    sum over every node on a drawn path of its alive children off the drawn paths: the subtrees not drawn from,
    which partition what is left. Positive terms only, in log space, so exact however small it is.
    expansions[l]: level l's children log q [B,W,V] and the slots [B,K] and codes [B,K] of the top it kept."""
    B, K = expansions[-1][1].shape
    pick = torch.arange(K, device=expansions[-1][1].device).expand(B, K)  # per final rank, its index in each level's top
    terms = []
    for child_logq, parent, code in reversed(expansions):
        W, V = child_logq.shape[1:]
        slot, c = parent.gather(1, pick), code.gather(1, pick)
        # what the ranks above each rank drew here: the expanded slots and their children
        child, expanded = F.one_hot(slot * V + c, W * V), F.one_hot(slot, W)
        drawn_child = (child.cumsum(1) - child) > 0                                              # [B,K,W*V]
        drawn_slot = (expanded.cumsum(1) - expanded) > 0                                         # [B,K,W]
        off_path = drawn_slot.repeat_interleave(V, dim=-1) & ~drawn_child
        terms.append(torch.where(off_path, child_logq.reshape(B, 1, W * V), float("-inf")).logsumexp(-1))
        pick = slot
    left = torch.stack(terms, -1).logsumexp(-1)
    left[:, 0] = 0  # the first draw has all of q
    return left
