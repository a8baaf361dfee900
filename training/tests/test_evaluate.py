"""The CM's sampler: k distinct items from its tempered softmax, exactly (Gumbel-top-k)."""
import numpy as np
import pytest
import torch

from gflowgr.evaluate import sample_cm
from test_decoding import chi_square

SCORES = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])


class FixedCM:
    """A fake CM at the scores seam: the same next-item scores for every history."""

    def eval(self):
        return self

    def scores(self, histories):
        return SCORES.expand(len(histories), -1).clone()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_cm_samples_distinct_items_from_its_tempered_softmax(temperature):
    n, k = 20_000, 3
    cases = [("u", [0], 1)] * n
    items = sample_cm(FixedCM(), cases, k, 4096, temperature, torch.Generator().manual_seed(20261130))
    assert items.shape == (n, k) and all(len(set(row)) == k for row in items.tolist())
    q = torch.softmax(SCORES / temperature, 0).numpy()
    statistic, critical = chi_square(np.bincount(items[:, 0], minlength=len(q)), q * n)
    assert statistic < critical, f"first ranks: {statistic:.1f} >= {critical:.1f}"
    # the second rank given the first: Plackett-Luce, q_j / (1 - q_i)
    pairs = np.zeros(len(q) ** 2)
    np.add.at(pairs, items[:, 0] * len(q) + items[:, 1], 1)
    expected = np.array([0 if i == j else q[i] * q[j] / (1 - q[i]) * n for i in range(len(q)) for j in range(len(q))])
    statistic, critical = chi_square(pairs, expected)
    assert statistic < critical, f"pairs: {statistic:.1f} >= {critical:.1f}"


def test_cm_sampling_is_seeded():
    cases = [("u", [0], 1)] * 50
    draw = lambda seed: sample_cm(FixedCM(), cases, 3, 16, 1.0, torch.Generator().manual_seed(seed))
    assert (draw(7) == draw(7)).all() and not (draw(7) == draw(8)).all()
