"""Trajectory balance: L_TB(tau) = (log Z(U) + sum_l log P_F(t_l | U, t_<l) - log R(item))^2.

P_B = 1 because every state of the trie has exactly one parent.
"""
import torch


def trajectory_balance_loss(log_z: torch.Tensor, log_pf: torch.Tensor, log_reward: torch.Tensor) -> torch.Tensor:
    """log_z [B], log_pf [B,N,L] per step, log_reward [B,N] -> mean over the B*N trajectories."""
    return (log_z[:, None] + log_pf.sum(-1) - log_reward).pow(2).mean()
