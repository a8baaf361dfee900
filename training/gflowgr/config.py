"""Experiment configuration: nested dataclasses, read from a small TOML file, overridden from the CLI
(`--gflowgr.reward.exponent=2`). Every setting has a default here and is validated on load."""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .cm import CMConfig
from .gflownet.reward import RewardConfig
from .gflownet.sampler import STRATEGIES
from .model import PolicyConfig
from .tokenizer import TokenizerConfig


@dataclass
class SFTConfig:
    epochs: float = 30.0
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    eval_every: int = 1          # epochs
    patience: int = 3            # evaluations without improvement of validation NDCG@10
    eval_users: int = 2000       # validation users scored at each evaluation (0 = all)


@dataclass
class GFlowGRConfig:
    objective: str = "tb"        # tb | db | sft (continued SFT: the equal-budget control)
    lam: float = 1.0             # weight of the GFlowNet loss
    n_trajectories: int = 3      # N: the positive plus N-1 sampled items
    sampler: str = "curriculum"  # curriculum | uniform | on_policy
    pool_size: int = 50          # CM candidates the curriculum draws from
    epochs: float = 3.0
    batch_size: int = 256
    lr: float = 3e-4
    head_lr: float = 3e-3        # log Z / flow heads learn faster (as in torchgfn)
    eval_every: int = 500        # steps
    eval_users: int = 2000
    reward: RewardConfig = field(default_factory=RewardConfig)


@dataclass
class EvalConfig:
    beam: int = 20
    k: int = 10
    batch_size: int = 128
    max_users: int = 0           # 0 = every user


@dataclass
class ExportConfig:
    out_dir: str = ""            # default: ../models/<name> relative to training/
    checkpoint: str = "auto"     # auto (best validation NDCG@10 in evaluate.json) | sft | gflowgr
    parity_requests: int = 64
    beam: int = 20
    k: int = 10
    version: str = "0.1.0"


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    dataset_kind: str = "ml-100k"   # amazon | ml-1m | ml-100k
    dataset_path: str = "../../shared/datasets/ml-100k"
    run_dir: str = ""               # default: runs/<name>
    seed: int = 1
    device: str = "auto"            # auto | cpu | cuda
    threads: int = 0                # torch intra-op threads, 0 = torch's default
    max_history: int = 20
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    cm: CMConfig = field(default_factory=CMConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    gflowgr: GFlowGRConfig = field(default_factory=GFlowGRConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def validate(self) -> "ExperimentConfig":
        checks = [
            (self.dataset_kind in ("amazon", "ml-1m", "ml-100k"), f"dataset_kind {self.dataset_kind!r} must be amazon, ml-1m or ml-100k"),
            (self.gflowgr.objective in ("tb", "db", "sft"), f"gflowgr.objective {self.gflowgr.objective!r} must be tb, db or sft"),
            (self.gflowgr.sampler in STRATEGIES, f"gflowgr.sampler {self.gflowgr.sampler!r} must be one of {STRATEGIES}"),
            (self.gflowgr.n_trajectories >= 1, "gflowgr.n_trajectories must be >= 1"),
            (self.gflowgr.reward.exponent > 0, "gflowgr.reward.exponent must be > 0"),
            (self.gflowgr.reward.floor > 0, "gflowgr.reward.floor must be > 0 (R must stay positive)"),
            (min(self.gflowgr.reward.positive, self.gflowgr.reward.sampled, self.gflowgr.reward.cm_weight,
                 self.gflowgr.reward.sim_weight) >= 0, "gflowgr.reward terms must be >= 0"),
            (self.evaluate.k <= self.evaluate.beam and self.export.k <= self.export.beam, "k must be <= beam"),
            (self.tokenizer.levels >= 1 and self.tokenizer.codebook_size >= 2, "tokenizer needs >= 1 level of >= 2 codes"),
            (self.policy.d_model % self.policy.n_heads == 0, "policy.d_model must be divisible by policy.n_heads"),
            (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda"),
            (self.export.checkpoint in ("auto", "sft", "gflowgr"), "export.checkpoint must be auto, sft or gflowgr"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"config: {message}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _apply(obj, values: dict, where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in values.items():
        if key not in fields:
            raise ValueError(f"config: unknown setting {where}{key}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"config: {where}{key} is a section, not a value")
            _apply(current, value, f"{where}{key}.")
        else:
            setattr(obj, key, _coerce(value, current, f"{where}{key}"))


def _coerce(value, current, name: str):
    if isinstance(value, str) and not isinstance(current, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"config: {name}={value!r} is not a valid value") from None
    if isinstance(current, bool) != isinstance(value, bool) or (isinstance(current, (int, float)) and not isinstance(value, (int, float))) \
            or (isinstance(current, list) and not isinstance(value, list)) or (isinstance(current, str) and not isinstance(value, str)):
        raise ValueError(f"config: {name} expects {type(current).__name__}, got {value!r}")
    if isinstance(current, float):
        value = float(value)
    if isinstance(current, int) and not isinstance(current, bool) and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"config: {name} expects an integer, got {value!r}")
        value = int(value)
    return value


def load_config(path: str | None, overrides: list[str] = ()) -> ExperimentConfig:
    cfg = ExperimentConfig()
    if path:
        with open(path, "rb") as f:
            _apply(cfg, tomllib.load(f), "")
    for item in overrides:
        if not item.startswith("--") or "=" not in item:
            raise ValueError(f"config: override {item!r} must look like --section.key=value")
        dotted, value = item[2:].split("=", 1)
        *sections, key = dotted.split(".")
        nested: dict = {key: value}
        for section in reversed(sections):
            nested = {section: nested}
        _apply(cfg, nested, "")
    if not cfg.run_dir:
        cfg.run_dir = str(Path("runs") / cfg.name)
    return cfg.validate()
