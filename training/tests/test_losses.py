import torch

from gflowgr.gflownet.db import detailed_balance_loss
from gflowgr.gflownet.reward import RewardConfig, log_reward, shared_prefix_length
from gflowgr.gflownet.tb import trajectory_balance_loss


def test_tb_is_zero_at_balance_and_positive_elsewhere():
    log_pf = torch.log(torch.tensor([[[0.5, 0.2], [0.25, 0.4]]]))  # [B=1, N=2, L=2]
    log_r = torch.log(torch.tensor([[0.1, 0.1]])) + 2.0
    log_z = (log_r - log_pf.sum(-1))[:, 0]  # both trajectories balanced with this Z
    assert trajectory_balance_loss(log_z, log_pf, log_r).item() < 1e-12
    assert trajectory_balance_loss(log_z + 0.3, log_pf, log_r).item() > 0.05


def test_tb_gradient_on_log_z_points_towards_balance():
    log_pf, log_r = torch.tensor([[[-1.0, -1.0]]]), torch.tensor([[0.0]])  # balance at log Z = 2
    for start, sign in ((0.0, -1), (5.0, 1)):
        log_z = torch.tensor([start], requires_grad=True)
        trajectory_balance_loss(log_z, log_pf, log_r).backward()
        assert torch.sign(log_z.grad).item() == sign  # gradient descent moves log Z towards 2


def test_db_is_zero_when_flows_are_consistent():
    log_pf = torch.log(torch.tensor([[[0.5, 0.25, 0.8]]]))
    log_r = torch.tensor([[1.0]])
    # F(s_l) = R / prod of the remaining P_F, so each transition balances exactly
    log_flow = torch.stack([log_r[..., 0] - log_pf[..., l:].sum(-1) for l in range(3)], dim=-1)
    assert detailed_balance_loss(log_flow, log_pf, log_r).item() < 1e-12
    assert detailed_balance_loss(log_flow + torch.tensor([0.0, 0.5, 0.0]), log_pf, log_r).item() > 0.1


def test_db_equals_tb_on_a_one_step_trie():
    torch.manual_seed(0)
    log_pf, log_r, log_z = torch.randn(4, 3, 1), torch.randn(4, 3), torch.randn(4)
    db = detailed_balance_loss(log_z[:, None, None].expand(4, 3, 1), log_pf, log_r)
    assert torch.allclose(db, trajectory_balance_loss(log_z, log_pf, log_r))


def test_reward_is_positive_and_orders_its_terms():
    codes = torch.tensor([[[1, 2, 3], [1, 2, 9], [5, 2, 3]]])
    shared = shared_prefix_length(codes, torch.tensor([[1, 2, 3]]))
    assert shared.tolist() == [[3, 2, 0]]
    is_pos = torch.tensor([[True, False, False]])
    cfg = RewardConfig(cm_weight=0.0, sim_weight=0.0, sampled=0.0)
    log_r = log_reward(is_pos, torch.zeros(1, 3), shared, cfg)
    assert torch.isfinite(log_r).all() and log_r[0, 0] > log_r[0, 1]  # R > 0 even with every optional term off
    full = log_reward(is_pos, torch.tensor([[0.0, 2.0, -2.0]]), shared, RewardConfig(exponent=2.0))
    assert full[0, 0] > full[0, 1] > full[0, 2]
    assert torch.allclose(full, 2.0 * log_reward(is_pos, torch.tensor([[0.0, 2.0, -2.0]]), shared, RewardConfig()))
