"""The CM's sampler: k distinct items from its tempered softmax, exactly (Gumbel-top-k)."""
import pytest
import torch

from gflowgr.evaluate import sample_cm
from test_decoding import assert_plackett_luce

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
    assert_plackett_luce(items, torch.softmax(SCORES / temperature, 0).numpy())


def test_cm_sampling_is_seeded():
    cases = [("u", [0], 1)] * 50
    draw = lambda seed: sample_cm(FixedCM(), cases, 3, 16, 1.0, torch.Generator().manual_seed(seed))
    assert (draw(7) == draw(7)).all() and not (draw(7) == draw(8)).all()
