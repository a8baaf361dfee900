"""int8 weights for the serving graphs, and the reference decoder run on exported graphs.

`quantize_graphs` applies onnxruntime's dynamic quantisation (per-tensor symmetric int8 weights of every
MatMul/Gemm, activations quantised to uint8 per call) to encoder.onnx and decoder.onnx. The graphs then no
longer match the PyTorch policy to 1e-4, so the parity vectors of a quantised model come from the reference
beam search driven by the quantised graphs themselves (`GraphPolicy`): they pin what the artifact answers, and
the service must reproduce them like any other model's. Whether int8 is good enough is measured on the whole
test split, float32 against int8, through the service's decoder (scripts/evaluate.mjs); the Beauty card has it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .model import PolicyConfig

METHOD = ("onnxruntime quantize_dynamic: per-tensor symmetric int8 weights of every MatMul and Gemm, "
          "activations quantised to uint8 per call")


def quantize_graphs(folder: Path, files: list[str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    for name in files:
        source, target = folder / name, folder / f"{name}.int8"
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"])
        target.replace(source)


class GraphPolicy:
    """The exported encoder and decoder (format 3) behind the interface `decoding.beam_search` uses."""

    def __init__(self, folder: Path, encoder: str, decoder: str, cfg: PolicyConfig):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.encoder = ort.InferenceSession(str(folder / encoder), options, providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(str(folder / decoder), options, providers=["CPUExecutionProvider"])
        self.cfg = cfg
        self.first: tuple[torch.Tensor, torch.Tensor] | None = None

    def encode(self, history_tokens: torch.Tensor, user_token: torch.Tensor):
        kv, bias, logits, present = self.encoder.run(None, {"history_tokens": history_tokens.numpy(), "user_token": user_token.numpy()})
        self.first = torch.from_numpy(logits), torch.from_numpy(present)  # level 0, as the service uses it
        return torch.from_numpy(kv), torch.from_numpy(bias)

    def decode_step(self, token, parent, past, cross_kv, memory_bias, level):
        if int(level) == 0:
            return self.first
        logits, present = self.decoder.run(None, {
            "token": token.numpy(), "parent": parent.numpy(), "past": past.numpy(), "cross_kv": cross_kv.numpy(),
            "memory_bias": memory_bias.numpy(), "level": np.array(int(level), dtype=np.int64)})
        return torch.from_numpy(logits), torch.from_numpy(present)
