import torch

from gflowgr.gflownet.db import detailed_balance_loss
from gflowgr.gflownet.reward import RewardConfig, cm_term, log_reward, shared_prefix_length
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
    log_r = log_reward(is_pos, torch.full((1, 3), 0.5), shared, cfg)
    assert torch.isfinite(log_r).all() and log_r[0, 0] > log_r[0, 1]  # R > 0 even with every optional term off
    r_y = torch.sigmoid(torch.tensor([[0.0, 2.0, -2.0]]))
    full = log_reward(is_pos, r_y, shared, RewardConfig(exponent=2.0))
    assert full[0, 0] > full[0, 1] > full[0, 2]
    assert torch.allclose(full, 2.0 * log_reward(is_pos, r_y, shared, RewardConfig()))


def test_cm_term_keeps_the_cms_order_among_its_top_items_only_with_a_temperature():
    scores = torch.cat([torch.tensor([[9.0, 8.0, 7.0]]), torch.randn(1, 500)], dim=1)  # three clear favourites
    items = torch.tensor([[0, 1, 2]])
    sigmoid = cm_term(scores, items, RewardConfig())
    assert (sigmoid > 0.99).all()  # saturated: the three look alike
    relative = cm_term(scores, items, RewardConfig(cm_temperature=1.0))
    assert torch.allclose(relative, torch.exp(torch.tensor([[0.0, -1.0, -2.0]])))


def test_log_z_starts_at_the_first_batchs_balance_point():
    from gflowgr.model import Policy, PolicyConfig
    from gflowgr.train import GFlowGRLoss

    torch.manual_seed(0)
    policy = Policy(PolicyConfig(codebook_sizes=[4, 4], user_buckets=3, d_model=16, n_heads=2, d_ff=32))
    memory, valid = torch.randn(5, 3, 16), torch.ones(5, 3, dtype=torch.bool)
    log_pf, log_r = -torch.rand(5, 3, 2) * 6, torch.rand(5, 3) * 3
    loss = GFlowGRLoss(None, "tb", 1.0, 3, "uniform", 10, RewardConfig(), torch.Generator())
    before = trajectory_balance_loss(policy.log_z(memory, valid), log_pf, log_r)
    loss.start_heads(policy, log_pf, log_r)
    log_z = policy.log_z(memory, valid)
    assert abs(log_z.mean() - (log_r - log_pf.sum(-1)).mean()) < 0.5  # the head's own spread stays
    assert trajectory_balance_loss(log_z, log_pf, log_r) < before / 4


def test_tb_with_the_trajectories_log_z_is_their_variance_and_keeps_the_mean():
    torch.manual_seed(1)
    log_pf = torch.randn(4, 3, 2, requires_grad=True)
    log_r = torch.randn(4, 3)
    a = log_pf.sum(-1) - log_r
    loss = trajectory_balance_loss((log_r - log_pf.sum(-1)).mean(1), log_pf, log_r)
    assert torch.allclose(loss, a.var(1, unbiased=False).mean())
    loss.backward()
    assert torch.allclose(log_pf.grad.sum(-1).sum(1), torch.zeros(4), atol=1e-6)  # no net push up or down per context
