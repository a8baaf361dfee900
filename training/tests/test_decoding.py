import numpy as np
import pytest
import torch

from gflowgr.decoding import beam_search
from gflowgr.evaluate import user_tokens
from gflowgr.model import Policy, PolicyConfig, build_item_tokens, history_batch
from gflowgr.train import trajectory_log_pf
from gflowgr.trie import Trie, masked_log_softmax

CODES = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 2, 0], [1, 2, 1], [1, 0, 0], [2, 1, 0], [2, 2, 0], [2, 2, 1], [0, 2, 0]])
SIZES = [3, 3, 2]


def small_policy(seed: int, dropout: float, head_scale: float = 1.0):
    """A tiny policy over CODES with its trie, trie tensors and item tokens."""
    torch.manual_seed(seed)
    cfg = PolicyConfig(codebook_sizes=SIZES, user_buckets=5, max_history=4, d_model=16, n_heads=2,
                       n_encoder_layers=1, n_decoder_layers=1, d_ff=32, dropout=dropout)
    policy = Policy(cfg).eval()
    with torch.no_grad():
        policy.head_weight.mul_(head_scale)
    trie = Trie(CODES, SIZES)
    return policy, trie, trie.tensors(), build_item_tokens(CODES, cfg)


@pytest.fixture(scope="module")
def setup():
    return small_policy(0, 0.1, head_scale=8)  # spread the logits so that rankings are not near-ties


def exhaustive(policy, tensors, item_tokens, history, user):
    """log P(item) for every item by teacher forcing every trajectory."""
    hist = history_batch([history], item_tokens, policy.cfg.max_history)
    kv, bias = policy.encode(hist, user_tokens([user], policy))
    n = len(CODES)
    with torch.no_grad():
        log_pf, _ = trajectory_log_pf(policy, tensors, torch.as_tensor(CODES), item_tokens, torch.arange(n),
                                      torch.zeros(n, dtype=torch.long), kv, bias)
    return log_pf.sum(-1)


def test_trie_structure_and_masks(setup):
    _, trie, tensors, _ = setup
    assert trie.leaves_below[0] == len(CODES)
    assert tensors.valid_children(torch.tensor(0)).tolist() == [True, True, True]
    node_0 = trie.child_table[0, 0]
    assert tensors.valid_children(torch.tensor(node_0)).tolist() == [True, True, True]
    node_1 = trie.child_table[0, 1]
    assert tensors.valid_children(torch.tensor(node_1)).tolist() == [True, False, True]
    masks = tensors.item_masks(torch.tensor([5]))  # item (1,0,0): path root -> 1 -> 1.0
    assert masks[0, 1].tolist() == [True, False, True] and masks[0, 2].tolist() == [True, False, False]
    logp = masked_log_softmax(torch.zeros(3), torch.tensor([True, False, True]))
    assert logp[1] == float("-inf") and torch.isclose(logp[0], torch.tensor(np.log(0.5), dtype=logp.dtype))
    csr = trie.csr()
    assert csr["child_count"][0] == 3 and len(csr["child_code"]) == trie.n_nodes - 1


def test_two_items_with_one_id_are_rejected():
    with pytest.raises(ValueError, match="share a semantic ID"):
        Trie(np.array([[0, 1], [0, 1]]), [1, 2])


@pytest.mark.parametrize("history, user", [([1, 3, 4], "u1"), ([], None), ([9, 8, 7, 6, 5, 2], "u2")])
def test_wide_beam_returns_the_exact_top_k(setup, history, user):
    policy, _, tensors, item_tokens = setup
    exact = exhaustive(policy, tensors, item_tokens, history, user)
    assert torch.allclose(exact.exp().sum(), torch.tensor(1.0), atol=1e-5)  # a distribution over real items only
    hist = history_batch([history], item_tokens, policy.cfg.max_history)
    items, scores = beam_search(policy, tensors, hist, user_tokens([user], policy), beam=len(CODES), k=5)
    top = exact.topk(5)
    assert items[0].tolist() == top.indices.tolist()
    assert torch.allclose(scores[0], top.values, atol=1e-5)


def test_exclusions_are_masks_during_decoding(setup):
    policy, _, tensors, item_tokens = setup
    history = [1, 3]
    exact = exhaustive(policy, tensors, item_tokens, history, "u")
    excluded = sorted(set(exact.topk(3).indices.tolist()) | {5, 7})
    hist = history_batch([history], item_tokens, policy.cfg.max_history)
    items, scores = beam_search(policy, tensors, hist, user_tokens(["u"], policy), beam=len(CODES), k=len(CODES),
                                excluded=[excluded])
    allowed = [i for i in exact.argsort(descending=True).tolist() if i not in excluded]
    assert items[0].tolist() == allowed + [-1] * len(excluded)  # dead beams are dropped, never filled
    assert torch.allclose(scores[0, :len(allowed)], exact[allowed], atol=1e-5)  # scores stay the policy's log P


def test_batched_left_padding_does_not_change_results(setup):
    policy, _, tensors, item_tokens = setup
    histories, users = [[1, 2, 3, 4], [5], []], ["a", "b", None]
    hist = history_batch(histories, item_tokens, policy.cfg.max_history)
    batch_items, batch_scores = beam_search(policy, tensors, hist, user_tokens(users, policy), beam=4, k=3)
    for row, (h, u) in enumerate(zip(histories, users)):
        one_items, one_scores = beam_search(policy, tensors, history_batch([h], item_tokens, 4), user_tokens([u], policy), 4, 3)
        assert batch_items[row].tolist() == one_items[0].tolist()
        assert torch.allclose(batch_scores[row], one_scores[0], atol=1e-5)


def test_eval_mode_attention_has_no_nan_for_fully_padded_rows(setup):
    policy, _, _, item_tokens = setup
    hist = history_batch([[], [2]], item_tokens, policy.cfg.max_history)  # row 0: every history key is padding
    kv, bias = policy.encode(hist, user_tokens([None, "x"], policy))
    assert torch.isfinite(kv).all() and torch.isfinite(bias).all()


def test_cached_decode_steps_match_teacher_forcing(setup):
    policy, _, _, item_tokens = setup
    hist = history_batch([[1, 2], [3]], item_tokens, policy.cfg.max_history)
    kv, bias = policy.encode(hist, user_tokens(["a", None], policy))
    targets = item_tokens[torch.tensor([[4, 7, 0], [9, 9, 2]])]  # [B=2, W=3 beams, L]
    with torch.no_grad():
        expected, _ = policy.teacher_forced(targets.reshape(6, -1), torch.arange(2).repeat_interleave(3), kv, bias)
        token = torch.full((2, 3), 1)
        parent = torch.zeros(2, 3, dtype=torch.long)
        past = None
        for level in range(3):
            logits, past = policy.decode_step(token, parent, past, kv, bias, torch.tensor(level))
            assert torch.allclose(logits.reshape(6, -1), expected[:, level], atol=1e-5)
            token, parent = targets[:, :, level], torch.arange(3).repeat(2, 1)
    # reordering beams through `parent` carries their caches along
    with torch.no_grad():
        _, past = policy.decode_step(torch.full((1, 2), 1), torch.zeros(1, 2, dtype=torch.long), None, kv[:, :, :1], bias[:1], torch.tensor(0))
        _, past = policy.decode_step(targets[:1, :2, 0], torch.tensor([[0, 1]]), past, kv[:, :, :1], bias[:1], torch.tensor(1))
        swapped, _ = policy.decode_step(targets[:1, [1, 0], 1], torch.tensor([[1, 0]]), past, kv[:, :, :1], bias[:1], torch.tensor(2))
        assert torch.allclose(swapped[0], expected[[1, 0], 2], atol=1e-5)


# --- sampling: stochastic beam search (the reference of src/decoding/sampling.ts) ---

from scipy.stats import chi2  # noqa: E402

from gflowgr.decoding import conditional_gumbel, stochastic_beam_search  # noqa: E402


def exact_logq(policy, trie, history, user, temperature, excluded):
    """log q(item): the sum over levels of log softmax(logits / T) over the children with an allowed item below."""
    tensors = trie.tensors()
    item_tokens = build_item_tokens(CODES, policy.cfg)
    hist = history_batch([history], item_tokens, policy.cfg.max_history)
    kv, bias = policy.encode(hist, user_tokens([user], policy))
    alive = tensors.alive_counts([excluded])[0]
    logq = np.full(len(CODES), -np.inf)
    offsets = policy.cfg.level_offsets
    for item, row in enumerate(CODES.tolist()):
        if item in excluded:
            continue
        past, token, parent, node, total = None, torch.tensor([[1]]), torch.zeros(1, 1, dtype=torch.long), 0, 0.0
        for level, code in enumerate(row):
            logits, past = policy.decode_step(token, parent, past, kv, bias, torch.tensor(level))
            children = tensors.child_table[node]
            live = (children >= 0) & (alive[children.clamp(min=0)] > 0)
            total += masked_log_softmax(logits[0, 0].double() / temperature, live)[code].item()
            node = children[code].item()
            token, parent = torch.tensor([[code + offsets[level]]]), torch.zeros(1, 1, dtype=torch.long)
        logq[item] = total
    return logq


def exact_q(policy, trie, history, user, temperature, excluded):
    return np.exp(exact_logq(policy, trie, history, user, temperature, excluded))


def exact_log_propensities(items: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """Plackett-Luce in log space: log q_r minus the log of the summed q of the items not drawn above it
    (positive terms only, so exact however close to 1 the first draws' q are)."""
    out = np.zeros(items.shape)
    for row, draw in enumerate(items.tolist()):
        for rank, item in enumerate(draw):
            left = np.delete(logq, draw[:rank])
            out[row, rank] = logq[item] - np.logaddexp.reduce(left[left > -np.inf])
    return out


def chi_square(observed, expected):
    """Pearson's statistic over bins (small expectations merged) and the 99.9% critical value."""
    bins, o, e = [], 0.0, 0.0
    for obs, exp in zip(observed, expected):
        o, e = o + obs, e + exp
        if e >= 10:
            bins.append((o, e))
            o, e = 0.0, 0.0
    if e > 0:
        bins[-1] = (bins[-1][0] + o, bins[-1][1] + e)
    statistic = sum((ob - ex) ** 2 / ex for ob, ex in bins)
    return statistic, chi2.ppf(0.999, len(bins) - 1)


def assert_plackett_luce(items: np.ndarray, q: np.ndarray) -> None:
    """Draws without replacement [n, >=2] follow item probabilities q: first ranks ~ q, and the second rank given
    the first ~ q_j / (1 - q_i) (Plackett-Luce), each by Pearson's chi-square at 99.9%."""
    n, m = len(items), len(q)
    statistic, critical = chi_square(np.bincount(items[:, 0], minlength=m), q * n)
    assert statistic < critical, f"first ranks: {statistic:.1f} >= {critical:.1f}"
    pairs = np.zeros(m ** 2)
    np.add.at(pairs, items[:, 0] * m + items[:, 1], 1)
    expected = np.array([0 if i == j else q[i] * q[j] / (1 - q[i]) * n for i in range(m) for j in range(m)])
    statistic, critical = chi_square(pairs, expected)
    assert statistic < critical, f"pairs: {statistic:.1f} >= {critical:.1f}"


@pytest.fixture(scope="module")
def spread():
    """A small policy whose item probabilities are spread out (no item near 1), for sampling statistics."""
    return small_policy(1, 0.0)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_stochastic_beam_search_samples_exactly(spread, temperature):
    policy, trie, tensors, item_tokens = spread
    history, user, excluded = [1, 3], "u1", [4]
    logq = exact_logq(policy, trie, history, user, temperature, excluded)
    q = np.exp(logq)
    assert abs(q.sum() - 1) < 1e-5 and q[4] == 0
    assert (q > 0.02).sum() >= 3, f"the test needs a spread distribution: {q.round(3)}"
    n = 20_000
    hist = history_batch([history] * n, item_tokens, policy.cfg.max_history)
    generator = torch.Generator().manual_seed(20261130)
    items, _, probs, props = stochastic_beam_search(policy, tensors, hist, user_tokens([user] * n, policy), k=3,
                                                    temperature=temperature, generator=generator, excluded=[excluded] * n)
    items = items.numpy()
    assert (items >= 0).all() and (items != 4).all()
    assert all(len(set(row)) == 3 for row in items.tolist())
    assert_plackett_luce(items, q)
    assert np.allclose(probs.numpy(), q[items], atol=1e-5)
    assert np.allclose(props.numpy()[:500], np.exp(exact_log_propensities(items[:500], logq)), atol=1e-5)


@pytest.mark.parametrize("temperature", [0.01, 0.02])
def test_stochastic_beam_search_propensities_are_exact_when_the_first_q_rounds_to_1(spread, temperature):
    """At the lowest temperatures 1 - q_1 rounds to 0 or keeps a few digits: later ranks' propensities must still be q_r over the mass
    left, not 1 (what the 1 - sum q_j formula gave)."""
    policy, trie, tensors, item_tokens = spread
    history, user, excluded = [1, 3], "u1", [4]
    logq = exact_logq(policy, trie, history, user, temperature, excluded)
    n, k = 20, len(CODES) - 1
    hist = history_batch([history] * n, item_tokens, policy.cfg.max_history)
    generator = torch.Generator().manual_seed(20261130)
    items, _, probs, props = stochastic_beam_search(policy, tensors, hist, user_tokens([user] * n, policy), k=k,
                                                    temperature=temperature, generator=generator, excluded=[excluded] * n)
    items = items.numpy()
    assert all(sorted(row) == [i for i in range(len(CODES)) if i != 4] for row in items.tolist())
    assert (1 - probs[:, 0] < 1e-6).any(), "the test needs a first draw whose 1 - q is below float32 resolution"
    expected = exact_log_propensities(items, logq)
    got = props.numpy()
    tiny = expected < -700
    assert (got[tiny] < 1e-300).all()
    # float32 logits divided by T 0.01: each log q is exact to about 1e-4
    assert np.allclose(np.log(got[~tiny]), expected[~tiny], atol=1e-3), np.abs(np.log(got[~tiny]) - expected[~tiny]).max()
    assert (got[:, -1] == 1).all()


def test_conditional_gumbel_keeps_the_maximum_at_the_parent():
    values = conditional_gumbel(torch.tensor(0.2), torch.tensor([-1.0, 0.5, 2.0]), torch.tensor(2.0))
    assert values[2].item() == pytest.approx(0.2) and values[0] < values[1] < values[2]
