"""The policy: a TIGER-style encoder-decoder over semantic IDs, laid out for fast serving.

Encoder input: one position per history item (the sum of its code embeddings) after a user token.
Its output is already the cross-attention keys/values of every decoder layer, computed once per
request. Serving decodes one step at a time (`decode_step`): the beams of a request form one query
block over that request's keys/values (no copies of the memory per beam), a self-attention cache
holds the earlier positions, and the output projects only onto the codebook of the level being
generated. Training uses the same weights teacher-forced over whole target IDs (`teacher_forced`).

Token layout (recorded in the manifest): 0 pad, 1 bos, then each level's codes at its own offset,
then `user_buckets + 1` user tokens (the last one for anonymous requests).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .layers import DecoderBlock, EncoderBlock, causal_bias, memory_bias, padding_bias

PAD, BOS = 0, 1


@dataclass
class PolicyConfig:
    codebook_sizes: list[int] = field(default_factory=lambda: [256, 256, 256, 8])
    user_buckets: int = 2000
    max_history: int = 20
    d_model: int = 128
    n_heads: int = 4
    n_encoder_layers: int = 3
    n_decoder_layers: int = 3
    d_ff: int = 512
    dropout: float = 0.1

    @property
    def levels(self) -> int:
        return len(self.codebook_sizes)

    @property
    def level_offsets(self) -> list[int]:
        offsets, at = [], 2
        for size in self.codebook_sizes:
            offsets.append(at)
            at += size
        return offsets

    @property
    def user_offset(self) -> int:
        return 2 + sum(self.codebook_sizes)

    @property
    def vocab_size(self) -> int:
        return self.user_offset + self.user_buckets + 1

    def to_dict(self) -> dict:
        return asdict(self)


class Policy(nn.Module):
    def __init__(self, cfg: PolicyConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.token_emb = nn.Embedding(cfg.vocab_size, d, padding_idx=PAD)
        self.history_pos = nn.Embedding(cfg.max_history + 1, d)  # 0 = user token, 1.. = recency
        self.prefix_pos = nn.Embedding(cfg.levels, d)
        self.encoder = nn.ModuleList(EncoderBlock(d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_encoder_layers))
        self.encoder_ln = nn.LayerNorm(d)
        self.decoder = nn.ModuleList(DecoderBlock(d, cfg.n_heads, cfg.d_ff, cfg.dropout) for _ in range(cfg.n_decoder_layers))
        self.decoder_ln = nn.LayerNorm(d)
        width = max(cfg.codebook_sizes)
        self.head_weight = nn.Parameter(torch.randn(cfg.levels, width, d) * d ** -0.5)
        self.head_bias = nn.Parameter(torch.zeros(cfg.levels, width))
        self.drop = nn.Dropout(cfg.dropout)
        # GFlowNet heads: log Z(U) on the encoder output (TB), log F(s) on decoder states (DB)
        self.log_z_head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))
        self.log_flow_head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))

    # --- encoder -------------------------------------------------------------------------------
    def encode_memory(self, history_tokens: torch.Tensor, user_token: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """history_tokens [B,T,L] (left-padded with PAD), user_token [B] -> memory [B,T+1,D], valid [B,T+1]."""
        B, T, _ = history_tokens.shape
        valid_items = history_tokens[:, :, 0] != PAD
        items = self.token_emb(history_tokens).sum(dim=2)
        recency = torch.arange(T, 0, -1, device=history_tokens.device)  # most recent item is position 1
        user = self.token_emb(user_token) + self.history_pos.weight[0]
        x = torch.cat([user[:, None], items + self.history_pos(recency)[None]], dim=1)
        valid = torch.cat([torch.ones_like(valid_items[:, :1]), valid_items], dim=1)  # user token always valid
        x = self.drop(x)
        bias = padding_bias(valid)
        for block in self.encoder:
            x = block(x, bias)
        return self.encoder_ln(x), valid

    def cross_keys_values(self, memory: torch.Tensor) -> torch.Tensor:
        """[B,M,D] -> [layers, 2, B, H, M, hd]."""
        return torch.stack([block.cross_attn.keys_values(memory) for block in self.decoder])

    def encode(self, history_tokens: torch.Tensor, user_token: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What serving needs: cross-attention keys/values and the additive memory bias [B,M]."""
        memory, valid = self.encode_memory(history_tokens, user_token)
        return self.cross_keys_values(memory), memory_bias(valid)

    def encode_first_step(self, history_tokens: torch.Tensor, user_token: torch.Tensor):
        """The serving encoder graph: `encode` and the first decoder step (BOS, one beam per request) in one call,
        which saves the host a call per search. -> cross_kv, memory_bias, logits [B,1,width], present
        [layers,2,B,1,H,1,hd]."""
        cross_kv, memory_bias = self.encode(history_tokens, user_token)
        bos = torch.full_like(user_token[:, None], BOS)
        logits, present = self.decode_step(bos, torch.zeros_like(bos), None, cross_kv, memory_bias,
                                           torch.zeros((), dtype=torch.long, device=bos.device))
        return cross_kv, memory_bias, logits, present

    def log_z(self, memory: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        pooled = (memory * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
        return self.log_z_head(pooled).squeeze(-1)

    # --- decoder -------------------------------------------------------------------------------
    def decode_hidden(self, prefix: torch.Tensor, beam_index: torch.Tensor | None, cross_kv: torch.Tensor,
                      memory_bias: torch.Tensor) -> torch.Tensor:
        """prefix [N,S] (BOS then codes), beam_index [N] (None: row i is request i) -> hidden states [N,S,D]."""
        S = prefix.shape[1]
        x = self.drop(self.token_emb(prefix) + self.prefix_pos.weight[:S])
        kv = cross_kv if beam_index is None else cross_kv[:, :, beam_index]
        bias = (memory_bias if beam_index is None else memory_bias[beam_index])[:, None, None, :]
        causal = causal_bias(S, prefix.device)
        for layer, block in enumerate(self.decoder):
            x = block(x, causal, kv[layer], bias)
        return self.decoder_ln(x)

    def decode_step(self, token: torch.Tensor, parent: torch.Tensor, past: torch.Tensor | None, cross_kv: torch.Tensor,
                    memory_bias: torch.Tensor, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoding step for `width` beams per request, with a self-attention cache.

        token [B,W]: each beam's last token (BOS at level 0); parent [B,W]: the beam of the previous step it
        extends; past [layers,2,B,W',H,level,hd]: the previous step's `present` (None at level 0).
        Cross-attention runs per request over all its beams at once, so the memory's keys/values are never
        copied per beam.
        -> logits [B,W,width] of the next code, present [layers,2,B,W,H,level+1,hd].

        Written for the exported graph's speed, with the same arithmetic as the teacher-forced path: the rows
        (requests x beams) stay 2-D [N,D] so that every Linear is one Gemm, the cache is reordered by parent with
        one Gather over rows, and attention is spelt out with a constant scale (no shape arithmetic per call).
        """
        B, W = token.shape
        layers, H, hd = self.cfg.n_decoder_layers, self.cfg.n_heads, self.cfg.d_model // self.cfg.n_heads
        scale = hd ** -0.5
        if past is not None:  # [layers,2,B,W',H,S,hd] -> [2*layers, B*W', H, S, hd], rows picked by parent
            rows = (torch.arange(B, device=token.device)[:, None] * past.shape[3] + parent).reshape(-1)
            past = past.reshape(2 * layers, -1, H, past.shape[5], hd).index_select(1, rows)
        x = self.token_emb(token.reshape(-1)) + self.prefix_pos(level)   # [N,D]
        presents = []
        for layer, block in enumerate(self.decoder):
            h = block.ln1(x)
            q = block.self_attn.q(h).reshape(-1, H, 1, hd)
            kv = block.self_attn.kv(h).reshape(-1, 2, H, 1, hd)
            keys, values = kv[:, 0], kv[:, 1]                                    # [N,H,1,hd]
            if past is not None:
                keys, values = torch.cat([past[2 * layer], keys], dim=2), torch.cat([past[2 * layer + 1], values], dim=2)
            presents += [keys, values]
            attention = torch.softmax((q * scale) @ keys.transpose(2, 3), dim=-1)  # [N,H,1,S+1]
            x = x + block.self_attn.out((attention @ values).reshape(-1, H * hd))
            q = block.cross_attn.q(block.ln2(x)).reshape(B, -1, H, hd).transpose(1, 2)   # [B,H,W,hd]
            scores = (q * scale) @ cross_kv[layer, 0].transpose(2, 3) + memory_bias[:, None, None, :]
            y = torch.softmax(scores, dim=-1) @ cross_kv[layer, 1]                # [B,H,W,hd]
            x = x + block.cross_attn.out(y.transpose(1, 2).reshape(-1, H * hd))
            x = x + block.ff(block.ln3(x))
        x = self.decoder_ln(x)
        logits = x @ self.head_weight.transpose(1, 2)[level] + self.head_bias[level]
        present = torch.stack(presents)                                          # [2*layers,N,H,S+1,hd]
        return logits.reshape(B, W, -1), present.reshape(layers, 2, B, W, H, present.shape[3], hd)

    def teacher_forced(self, target_tokens: torch.Tensor, beam_index: torch.Tensor, cross_kv, memory_bias):
        """target_tokens [N,L] -> (logits [N,L,width] for every level, decoder hidden [N,L,D])."""
        bos = torch.full_like(target_tokens[:, :1], BOS)
        h = self.decode_hidden(torch.cat([bos, target_tokens[:, :-1]], dim=1), beam_index, cross_kv, memory_bias)
        return torch.einsum("nld,lvd->nlv", h, self.head_weight) + self.head_bias, h


def build_item_tokens(codes, cfg: PolicyConfig) -> torch.Tensor:
    """Semantic-ID codes [n_items, L] -> global token ids [n_items, L]."""
    return torch.as_tensor(codes, dtype=torch.long) + torch.tensor(cfg.level_offsets)


def history_batch(histories: list[list[int]], item_tokens: torch.Tensor, max_history: int) -> torch.Tensor:
    """Item indices, oldest first -> left-padded token tensor [B, T, L], T = longest (capped) history, >= 1."""
    T = max(1, min(max_history, max((len(h) for h in histories), default=1)))
    out = torch.zeros(len(histories), T, item_tokens.shape[1], dtype=torch.long)
    for row, h in enumerate(histories):
        h = h[-max_history:]
        if h:
            out[row, T - len(h):] = item_tokens[torch.tensor(h)]
    return out
