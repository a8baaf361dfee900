"""Transformer blocks shared by SASRec and the policy.

Attention goes through scaled_dot_product_attention with an explicit additive bias. Callers build
masks in which every query can see at least one key (itself, or the user token), because a row whose
keys are all masked gives NaN (the MultiheadAttention fast path did that in eval mode).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NEG_INF = -1e9  # finite, so that exported graphs never produce NaN from -inf - -inf


class Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:  # [B,T,D] -> [B,H,T,hd]
        return x.view(x.shape[0], x.shape[1], self.n_heads, self.head_dim).transpose(1, 2)

    def keys_values(self, source: torch.Tensor) -> torch.Tensor:
        """[B,T,D] -> [2,B,H,T,hd]; precomputed once per request for cross-attention."""
        k, v = self.kv(source).chunk(2, dim=-1)
        return torch.stack([self.split_heads(k), self.split_heads(v)])

    def attend(self, x: torch.Tensor, kv: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x [B,S,D], kv [2,B,H,T,hd], bias broadcastable to [B,H,S,T] (0 or NEG_INF)."""
        q = self.split_heads(self.q(x))
        y = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=bias)  # no attention dropout: it is costly on CPU
        return self.out(y.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1))

    def forward(self, x: torch.Tensor, source: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.attend(x, self.keys_values(source), bias)


class FeedForward(nn.Sequential):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model), nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    """Pre-LN self-attention + feed-forward."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.drop(self.attn(h, h, bias))
        return x + self.ff(self.ln2(x))


class DecoderBlock(nn.Module):
    """Pre-LN causal self-attention, cross-attention onto precomputed keys/values, feed-forward."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.self_attn = Attention(d_model, n_heads, dropout)
        self.cross_attn = Attention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, causal_bias: torch.Tensor, cross_kv: torch.Tensor,
                memory_bias: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.drop(self.self_attn(h, h, causal_bias))
        x = x + self.drop(self.cross_attn.attend(self.ln2(x), cross_kv, memory_bias))
        return x + self.ff(self.ln3(x))


def causal_bias(length: int, device=None) -> torch.Tensor:
    mask = torch.ones(length, length, dtype=torch.bool, device=device).tril()
    return torch.zeros(length, length, device=device).masked_fill(~mask, NEG_INF)


def memory_bias(valid: torch.Tensor) -> torch.Tensor:
    """valid [B,T] bool -> additive key bias [B,T] (0 or NEG_INF)."""
    return torch.zeros(valid.shape, device=valid.device).masked_fill(~valid, NEG_INF)


def padding_bias(valid: torch.Tensor) -> torch.Tensor:
    """valid [B,T] bool -> additive key bias [B,1,1,T], broadcast over heads and queries."""
    return memory_bias(valid)[:, None, None, :]
