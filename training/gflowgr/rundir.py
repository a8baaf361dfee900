"""The run directory: each stage reads its inputs from here and records what it did beside its output."""
from __future__ import annotations

import json
import platform
import random
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from .config import ExperimentConfig


# progress bars redraw often on a terminal, every 30 s in logs
PROGRESS_INTERVAL = 0.2 if sys.stderr.isatty() else 30.0


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def versions() -> dict:
    out = {"python": platform.python_version()}
    for package in ("torch", "numpy", "scikit-learn", "onnx", "onnxruntime"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return out


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


class Run:
    def __init__(self, cfg: ExperimentConfig):
        self.cfg = cfg
        self.dir = Path(cfg.run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        if cfg.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("config: device=cuda but CUDA is not available")
        self.device = torch.device("cuda" if cfg.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)

    def path(self, name: str) -> Path:
        return self.dir / name

    def require(self, name: str, stage: str) -> Path:
        p = self.path(name)
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run the '{stage}' stage first")
        return p

    def save(self, name: str, obj) -> None:
        tmp = self.path(name + ".tmp")
        torch.save(obj, tmp)
        tmp.replace(self.path(name))

    def load(self, name: str, stage: str):
        return torch.load(self.require(name, stage), map_location="cpu", weights_only=False)

    @contextmanager
    def stage(self, name: str):
        """Times a stage and writes <stage>.json with config, seed, versions, commit and its results."""
        record = {"stage": name, "seed": self.cfg.seed, "config": self.cfg.to_dict(), "versions": versions(),
                  "git_commit": _git_commit(), "device": str(self.device),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": {}}
        start = time.perf_counter()
        yield record["results"]
        record["seconds"] = round(time.perf_counter() - start, 2)
        self.path(f"{name}.json").write_text(json.dumps(record, indent=2, default=str))
        print(f"[{name}] done in {record['seconds']:.1f}s -> {self.path(name + '.json')}")
