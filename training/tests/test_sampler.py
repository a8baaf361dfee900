import numpy as np
import torch

from gflowgr.gflownet import sampler
from gflowgr.model import Policy, PolicyConfig
from gflowgr.trie import Trie

from test_decoding import CODES, SIZES


def test_curriculum_moves_from_easy_to_hard_candidates_and_skips_the_positive():
    scores = torch.arange(100, dtype=torch.float).repeat(8, 1)  # item i has score i
    positives = torch.full((8,), 99)
    g = torch.Generator().manual_seed(0)
    early = sampler.curriculum(scores, positives, 2, progress=0.0, pool_size=40, generator=g)
    late = sampler.curriculum(scores, positives, 2, progress=1.0, pool_size=40, generator=g)
    assert (early != 99).all() and (late != 99).all()
    assert early.max() < 70 and late.min() >= 88  # the pool is items 59..98; easy = its low-score end
    assert early.float().mean() < late.float().mean()


def test_uniform_never_draws_the_positive():
    positives = torch.tensor([0, 5, 9])
    items = sampler.uniform(10, positives, 200, torch.Generator().manual_seed(1))
    assert ((items >= 0) & (items < 10)).all() and (items != positives[:, None]).all()
    assert len(torch.unique(items[1])) == 9


def test_on_policy_draws_real_items_other_than_the_positive():
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(codebook_sizes=SIZES, user_buckets=3, max_history=4, d_model=16, n_heads=2,
                                 n_encoder_layers=1, n_decoder_layers=1, d_ff=32)).eval()
    trie = Trie(CODES, SIZES).tensors()
    hist = torch.zeros(2, 1, 3, dtype=torch.long)
    kv, bias = policy.encode(hist, torch.tensor([policy.cfg.user_offset, policy.cfg.user_offset + 1]))
    positives = torch.tensor([0, 4])
    items = sampler.on_policy(policy, trie, kv, bias, positives, 50, torch.Generator().manual_seed(2))
    assert items.shape == (2, 50) and ((items >= 0) & (items < len(CODES))).all()
    assert (items != positives[:, None]).all() and len(np.unique(items.numpy())) > 3


def test_a_single_trajectory_samples_nothing_with_any_strategy():
    from gflowgr.gflownet.reward import RewardConfig
    from gflowgr.train import GFlowGRLoss

    policy = Policy(PolicyConfig(codebook_sizes=SIZES, user_buckets=3, max_history=4, d_model=16, n_heads=2,
                                 n_encoder_layers=1, n_decoder_layers=1, d_ff=32))
    trie = Trie(CODES, SIZES).tensors()
    kv, bias = policy.encode(torch.zeros(2, 1, 3, dtype=torch.long), torch.tensor([policy.cfg.user_offset] * 2))
    for strategy in sampler.STRATEGIES:
        loss = GFlowGRLoss(None, "sft", 1.0, 1, strategy, 10, RewardConfig(), torch.Generator())
        extra = loss.sample(policy, trie, torch.randn(2, len(CODES)), torch.tensor([0, 4]), kv, bias, 0.5)
        assert extra.shape == (2, 0)
