"""Reward R = r_a + r_y + r_sim, raised to an exponent (the reward scale): log R = beta * log(...).

- r_a:   interaction signal: `positive` for the observed next item, `sampled` (0) for the others.
- r_y:   the CM's opinion of the item for this context, in (0, 1]. With `cm_temperature` 0: the sigmoid of its
         score standardised over the catalogue (nearly 1 for every item of the CM's top 50, so it cannot rank
         them). With a temperature T > 0: exp((score - best score) / T), the CM's probability of the item
         relative to its favourite, which keeps the CM's preferences among its top candidates.
- r_sim: number of leading semantic-ID codes the item shares with the positive (0..L).
All terms are >= 0 and r_y > 0, so R > 0; `floor` keeps log R finite when r_y is switched off.
"""
from dataclasses import dataclass

import torch


@dataclass
class RewardConfig:
    positive: float = 10.0   # r_a of the observed item (the paper's value)
    sampled: float = 0.0     # r_a of a sampled item
    cm_weight: float = 1.0   # 0 disables r_y
    sim_weight: float = 1.0  # 0 disables r_sim
    exponent: float = 1.0    # beta: TB targets P(item) proportional to R^beta
    cm_temperature: float = 0.0  # 0: r_y = sigmoid(standardised score); T > 0: r_y = exp((score - best) / T)
    floor: float = 1e-3


def cm_term(cm_scores: torch.Tensor, items: torch.Tensor, cfg: RewardConfig) -> torch.Tensor:
    """cm_scores [B, n_items] over the catalogue, items [B,N] -> r_y [B,N] in (0, 1]."""
    if cfg.cm_temperature > 0:
        return torch.exp((cm_scores.gather(1, items) - cm_scores.max(1, keepdim=True).values) / cfg.cm_temperature)
    z = (cm_scores - cm_scores.mean(1, keepdim=True)) / cm_scores.std(1, keepdim=True).clamp(min=1e-6)
    return torch.sigmoid(z.gather(1, items))


def log_reward(is_positive: torch.Tensor, r_y: torch.Tensor, shared_prefix: torch.Tensor, cfg: RewardConfig) -> torch.Tensor:
    r_a = torch.where(is_positive, torch.tensor(cfg.positive), torch.tensor(cfg.sampled))
    r = r_a + cfg.cm_weight * r_y + cfg.sim_weight * shared_prefix.float() + cfg.floor
    return cfg.exponent * torch.log(r)


def shared_prefix_length(codes: torch.Tensor, positive_codes: torch.Tensor) -> torch.Tensor:
    """codes [B,N,L], positive_codes [B,L] -> number of leading codes equal to the positive's [B,N]."""
    return (codes == positive_codes[:, None]).long().cumprod(-1).sum(-1)
