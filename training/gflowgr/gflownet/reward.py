"""Reward R = r_a + r_y + r_sim, raised to an exponent (the reward scale): log R = beta * log(...).

- r_a:   interaction signal: `positive` for the observed next item, `sampled` (0) for the others.
- r_y:   sigmoid of the CM's score standardised over the whole catalogue for this context, in (0, 1).
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
    floor: float = 1e-3


def log_reward(is_positive: torch.Tensor, cm_z: torch.Tensor, shared_prefix: torch.Tensor, cfg: RewardConfig) -> torch.Tensor:
    r_a = torch.where(is_positive, torch.tensor(cfg.positive), torch.tensor(cfg.sampled))
    r = r_a + cfg.cm_weight * torch.sigmoid(cm_z) + cfg.sim_weight * shared_prefix.float() + cfg.floor
    return cfg.exponent * torch.log(r)


def shared_prefix_length(codes: torch.Tensor, positive_codes: torch.Tensor) -> torch.Tensor:
    """codes [B,N,L], positive_codes [B,L] -> number of leading codes equal to the positive's [B,N]."""
    return (codes == positive_codes[:, None]).long().cumprod(-1).sum(-1)
