"""Experiment configuration: nested dataclasses, read from a small TOML file, overridden from the CLI
(`--gflowgr.reward.exponent=2`). Every setting has a default here and is validated on load."""
from __future__ import annotations

import copy
import dataclasses
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .cm import CMConfig
from .generic import GenericDataConfig
from .gflownet.reward import RewardConfig
from .gflownet.sampler import STRATEGIES
from .model import PolicyConfig
from .tokenizer import TokenizerConfig

TRAINING_DIR = Path(__file__).resolve().parents[1]


@dataclass
class SFTConfig:
    epochs: float = 30.0
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    eval_every: float = 1.0      # epochs
    patience: int = 3            # evaluations without improvement of validation NDCG@10
    eval_users: int = 2000       # validation users scored at each evaluation (0 = all)


@dataclass
class GFlowGRConfig:
    objective: str = "tb"        # tb | db | sft (continued SFT: the equal-budget control)
    lam: float = 1.0             # weight of the GFlowNet loss
    log_z: str = "head"          # TB's log Z(U): "head" (learned on the encoder output) | "trajectories"
                                 # (each context's mean of log R - log P_F over its N trajectories: VarGrad)
    n_trajectories: int = 3      # N: the positive plus N-1 sampled items
    sampler: str = "curriculum"  # curriculum | uniform | on_policy
    pool_size: int = 50          # CM candidates the curriculum draws from
    epochs: float = 3.0
    batch_size: int = 256
    lr: float = 3e-4
    head_lr: float = 3e-3        # log Z / flow heads learn faster (as in torchgfn)
    eval_every: int = 500        # steps
    eval_users: int = 2000
    seed: int = 1                # added to the experiment's seed: batch order, dropout and sampling of this phase
    reward: RewardConfig = field(default_factory=RewardConfig)


@dataclass
class EvalConfig:
    beam: int = 20
    k: int = 10
    batch_size: int = 128
    max_users: int = 0           # 0 = every user


@dataclass
class ExportConfig:
    out_dir: str = ""            # default: ../models/<export name> relative to training/
    checkpoint: str = "auto"     # auto (best validation NDCG@10 in evaluate.json) | sft | gflowgr | variant:NAME
    name: str = ""               # the model's name in its manifest and card (default: the experiment's name)
    parity_requests: int = 64
    beam: int = 20
    k: int = 10
    version: str = "0.1.0"
    notes: str = ""              # a Markdown file (relative to training/) written into the model card: findings
    curve_variants: list = field(default_factory=list)  # variants drawn in the training curves (empty: all)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    dataset_kind: str = "ml-100k"   # amazon | ml-1m | ml-100k | generic (your files, read as [data] says)
    dataset_path: str = "../../shared/datasets/ml-100k"
    run_dir: str = ""               # default: runs/<name>
    seed: int = 1
    device: str = "auto"            # auto | cpu | cuda
    threads: int = 0                # torch intra-op threads, 0 = torch's default
    max_history: int = 20
    withhold_items: float = 0.0     # cold-start evaluation: this fraction of the items (a fixed random sample) is left out
    data: GenericDataConfig = field(default_factory=GenericDataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    cm: CMConfig = field(default_factory=CMConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    gflowgr: GFlowGRConfig = field(default_factory=GFlowGRConfig)
    evaluate: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    # Comparison rows and ablations: named GFlowGR-phase runs from the same SFT checkpoint, each given
    # as overrides of [gflowgr] (e.g. {objective = "sft"} is the equal-budget SFT control).
    variants: dict = field(default_factory=dict)
    only_variants: list = field(default_factory=list)  # train just these (empty = all); lets runs go in parallel

    def variant(self, name: str) -> GFlowGRConfig:
        if name not in self.variants:
            raise ValueError(f"config: unknown variant {name!r}; defined: {sorted(self.variants)}")
        g = copy.deepcopy(self.gflowgr)
        _apply(g, self.variants[name], f"variants.{name}.")
        return g

    def validate(self) -> "ExperimentConfig":
        checks = [
            (self.dataset_kind in ("amazon", "ml-1m", "ml-100k", "generic"), f"dataset_kind {self.dataset_kind!r} must be amazon, ml-1m, ml-100k or generic"),
            (self.data.min_history >= 3, "data.min_history must be at least 3 (leave-one-out needs a test, a validation and a training item)"),
            (0 <= self.withhold_items < 1, "withhold_items must be in [0, 1)"),
            (self.data.k_core >= 0, "data.k_core must be >= 0"),
            *_finetune_checks(self.gflowgr, "gflowgr"),
            *(check for name in self.variants for check in _finetune_checks(self.variant(name), f"variants.{name}")),
            (self.evaluate.k <= self.evaluate.beam and self.export.k <= self.export.beam, "k must be <= beam"),
            (self.tokenizer.levels >= 1 and self.tokenizer.codebook_size >= 2, "tokenizer needs >= 1 level of >= 2 codes"),
            (self.policy.d_model % self.policy.n_heads == 0, "policy.d_model must be divisible by policy.n_heads"),
            (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda"),
            (self.export.checkpoint in ("auto", "sft", "gflowgr")
             or (self.export.checkpoint.startswith("variant:") and self.export.checkpoint.removeprefix("variant:") in self.variants),
             f"export.checkpoint {self.export.checkpoint!r} must be auto, sft, gflowgr or variant:NAME of a defined variant"),
            (not self.export.name or re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", self.export.name) is not None,
             f"export.name {self.export.name!r} must be a model name: lower case letters, digits, ., _ or - (as the service's)"),
            (not self.export.notes or (TRAINING_DIR / self.export.notes).is_file(),
             f"export.notes {self.export.notes!r} is not a file under training/"),
            (self.cm.batches in ("shuffled", "by_length"), f"cm.batches {self.cm.batches!r} must be shuffled or by_length"),
            (all(name in self.variants for name in self.only_variants), f"only_variants {self.only_variants} names an undefined variant"),
            (all(name in self.variants for name in self.export.curve_variants),
             f"export.curve_variants {self.export.curve_variants} names an undefined variant"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"config: {message}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _finetune_checks(g: GFlowGRConfig, where: str) -> list[tuple[bool, str]]:
    return [
        (g.objective in ("tb", "db", "sft"), f"{where}.objective {g.objective!r} must be tb, db or sft"),
        (g.sampler in STRATEGIES, f"{where}.sampler {g.sampler!r} must be one of {STRATEGIES}"),
        (g.log_z in ("head", "trajectories"), f"{where}.log_z {g.log_z!r} must be head or trajectories"),
        (g.n_trajectories >= 1, f"{where}.n_trajectories must be >= 1"),
        (g.reward.exponent > 0, f"{where}.reward.exponent must be > 0"),
        (g.reward.floor > 0, f"{where}.reward.floor must be > 0 (R must stay positive)"),
        (min(g.reward.positive, g.reward.sampled, g.reward.cm_weight, g.reward.sim_weight, g.reward.cm_temperature) >= 0,
         f"{where}.reward terms and cm_temperature must be >= 0"),
    ]


def _apply(obj, values: dict, where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in values.items():
        if key not in fields:
            raise ValueError(f"config: unknown setting {where}{key}")
        current = getattr(obj, key)
        if isinstance(current, dict):
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ValueError(f"config: {where}{key} must be a table of tables")
            setattr(obj, key, _merged(current, value))
        elif dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"config: {where}{key} is a section, not a value")
            _apply(current, value, f"{where}{key}.")
        else:
            setattr(obj, key, _coerce(value, current, f"{where}{key}"))


def _merged(base: dict, changes: dict) -> dict:
    """Tables merged key by key at every depth, so that a later override of one variant setting (the CLI after the
    file, or a second --variants.x.key) keeps the others instead of replacing the whole variant."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


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
