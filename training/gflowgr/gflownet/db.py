"""Detailed balance: L_DB(tau) = sum_l (log F(s_l) + log P_F(t_{l+1}|s_l) - log F(s_{l+1}))^2, F(s_L) = R."""
import torch


def detailed_balance_loss(log_flow: torch.Tensor, log_pf: torch.Tensor, log_reward: torch.Tensor) -> torch.Tensor:
    """log_flow [B,N,L] for states s_0..s_{L-1}, log_pf [B,N,L], log_reward [B,N] -> mean over trajectories."""
    next_flow = torch.cat([log_flow[..., 1:], log_reward[..., None]], dim=-1)
    return (log_flow + log_pf - next_flow).pow(2).sum(-1).mean()
