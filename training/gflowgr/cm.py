"""SASRec, the collaborative model (CM): a causal transformer over item ids with full-softmax cross-entropy.

It is a baseline row in the results, supplies collaborative item embeddings to the tokenizer, the
candidate pool of the trajectory sampler and the r_y term of the reward.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import NEG_INF, EncoderBlock


@dataclass
class CMConfig:
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 2
    dropout: float = 0.2
    max_len: int = 50
    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3        # evaluations without validation improvement before stopping
    eval_every: int = 2      # epochs
    # shuffled: batches drawn at random, padded to their longest window. by_length: windows of similar length
    # batched together (less padding, about 2x faster on short sequences, but each step sees one length only;
    # on Beauty test R@10 .0746 against .0787 shuffled). The MovieLens models' CMs were trained by_length.
    batches: str = "shuffled"


def pad_left(histories: list[list[int]], max_len: int, pad: int) -> torch.Tensor:
    out = torch.full((len(histories), max_len), pad, dtype=torch.long)
    for row, h in enumerate(histories):
        h = h[-max_len:]
        if h:
            out[row, max_len - len(h):] = torch.tensor(h)
    return out


class SASRec(nn.Module):
    def __init__(self, n_items: int, cfg: CMConfig):
        super().__init__()
        self.n_items, self.cfg = n_items, cfg
        self.item_emb = nn.Embedding(n_items + 1, cfg.d_model, padding_idx=n_items)
        nn.init.normal_(self.item_emb.weight[:-1], std=cfg.d_model ** -0.5)  # tied output: logits start near 0
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        self.blocks = nn.ModuleList(EncoderBlock(cfg.d_model, cfg.n_heads, 4 * cfg.d_model, cfg.dropout) for _ in range(cfg.n_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """seq [B,T] left-padded with n_items -> hidden [B,T,D]."""
        T = seq.shape[1]  # <= max_len; positions count back from the most recent item
        valid = seq != self.n_items
        allowed = torch.ones(T, T, dtype=torch.bool, device=seq.device).tril()[None] & valid[:, None, :]
        allowed |= torch.eye(T, dtype=torch.bool, device=seq.device)[None]  # a row never has every key masked
        bias = torch.zeros(allowed.shape, device=seq.device).masked_fill(~allowed, NEG_INF)[:, None]
        x = self.drop(self.item_emb(seq) * self.cfg.d_model ** 0.5 + self.pos_emb.weight[-T:])
        for block in self.blocks:
            x = block(x, bias)
        return self.ln(x)

    def scores(self, histories: list[list[int]]) -> torch.Tensor:
        """Next-item scores over the whole catalogue, [B, n_items]."""
        device = self.item_emb.weight.device
        h = self(pad_left(histories, self.cfg.max_len, self.n_items).to(device))[:, -1]
        return h @ self.item_emb.weight[:-1].T

    def item_embeddings(self) -> torch.Tensor:
        return self.item_emb.weight[:-1].detach()


def training_chunks(train: dict[str, list[int]], max_len: int) -> list[list[int]]:
    """Each user's training sequence cut, from the end, into windows of max_len + 1 items."""
    chunks = []
    for seq in train.values():
        for end in range(len(seq), 1, -max_len):
            chunks.append(seq[max(0, end - max_len - 1):end])
    return chunks


def train_epoch(model: SASRec, optimizer, chunks: list[list[int]], batch_size: int, rng: random.Random,
                by_length: bool = False) -> float:
    """One epoch of full-softmax cross-entropy at every position; batches at random, or by length (CMConfig.batches)."""
    model.train()
    device = model.item_emb.weight.device
    rng.shuffle(chunks)
    if by_length:  # sort within windows: batches of similar length, little padding
        window = batch_size * 50
        chunks[:] = [c for at in range(0, len(chunks), window) for c in sorted(chunks[at:at + window], key=len)]
        order = list(range(0, len(chunks), batch_size))
        rng.shuffle(order)
        chunks[:] = [c for at in order for c in chunks[at:at + batch_size]]
    total, count = 0.0, 0
    for start in range(0, len(chunks), batch_size):
        chunk = chunks[start:start + batch_size]
        batch = pad_left(chunk, max(map(len, chunk)), model.n_items).to(device)  # padded to the longest, not max_len
        inputs, targets = batch[:, :-1], batch[:, 1:]
        mask = (targets != model.n_items) & (inputs != model.n_items)
        logits = model(inputs)[mask] @ model.item_emb.weight[:-1].T  # full softmax, on real positions only
        loss = F.cross_entropy(logits, targets[mask])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * int(mask.sum())
        count += int(mask.sum())
    return total / max(count, 1)
