"""The CM's training batches: shuffled (random windows, the default) or by_length (windows of similar length)."""
import random

import pytest
import torch

from gflowgr.cm import CMConfig, SASRec, train_epoch


@pytest.mark.parametrize("by_length", [False, True])
def test_batches_are_shuffled_or_grouped_by_length(by_length):
    torch.manual_seed(0)
    model = SASRec(30, CMConfig(d_model=8, n_layers=1, n_heads=1, max_len=10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = random.Random(1)
    chunks = [[rng.randrange(30) for _ in range(length)] for length in [2, 3, 5, 8, 11] * 40]
    before = sorted(map(tuple, chunks))
    loss = train_epoch(model, optimizer, chunks, 10, random.Random(2), by_length=by_length)
    assert loss > 0 and sorted(map(tuple, chunks)) == before  # every window trained on once
    spreads = [len({len(c) for c in chunks[at:at + 10]}) for at in range(0, len(chunks), 10)]
    if by_length:  # sorted within windows of 50 batches: every batch has one length
        assert max(spreads) == 1, spreads
    else:  # drawn at random: batches mix lengths
        assert sum(spreads) / len(spreads) > 3, spreads
