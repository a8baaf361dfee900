"""The accuracy-exposure frontier: test NDCG@10 against coverage@10 and long-tail share as decoding moves from beam
search to sampling at rising temperatures, one curve per model, on the whole test split.

Exported policies are scored through the service's own decoder (scripts/evaluate.mjs: the numbers are what the API
serves with `strategy: "sample"`); the CM (SASRec) from the run directory, sampled from its tempered softmax with
the Gumbel-top-k trick (evaluate.sample_cm). Every sampled point is the mean over seeds, each case with its own seed.

    npm run build   # evaluate.mjs runs the compiled service
    cd training && python -m gflowgr.frontier --config configs/beauty-gflowgr.toml \\
        --model GFlowGR=../models/beauty-gflowgr --model "SFT control=../models/beauty-sft-control" \\
        [--temperatures 0.25,0.5,0.75,1,1.5,2] [--seeds 1,2,3] [--beam 20] [--out ../models/beauty-gflowgr]

Writes OUT/frontier.json (every run), OUT/figures/frontier.png and the frontier section of OUT/MODEL_CARD.md
(OUT defaults to the first model's directory), and prints that section.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from .cases import external_cases
from .config import load_config
from .evaluate import rank_cm, sample_cm, score

REPO = Path(__file__).resolve().parents[2]
FIGURE = "frontier.png"
CM_LABEL = "SASRec (CM)"
METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "coverage@10", "long_tail_share", "gini")
USAGE = ("usage: python -m gflowgr.frontier --config FILE --model LABEL=MODEL_DIR [--model LABEL=MODEL_DIR ...] "
         "[--temperatures 0.25,0.5,0.75,1,1.5,2] [--seeds 1,2,3] [--beam 20] [--out DIR] [--section.key=value ...]")


def evaluate_exported(model_dir: Path, cases_file: Path, strategy: str, beam: int, temperature: float, seed: int) -> dict:
    """One scoring run of scripts/evaluate.mjs; its metrics (the model card's definitions)."""
    command = ["node", str(REPO / "scripts" / "evaluate.mjs"), str(model_dir), str(cases_file), "--strategy", strategy]
    command += ["--beam", str(beam)] if strategy == "beam" else ["--temperature", str(temperature), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(cfg, models: dict[str, Path], temperatures: list[float], seeds: list[int], beam: int) -> list[dict]:
    """Every model at beam search and at each temperature x seed; the CM of the run directory too, when it exists."""
    from .rundir import Run
    from .stages import _load_cm, _load_data
    run = Run(cfg)
    dataset, split, _, popularity = _load_data(run)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        cases_file = Path(tmp) / "cases.jsonl"
        cases_file.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in external_cases(dataset, split.test)))
        for label, model_dir in models.items():
            settings = [("beam", None, None)] + [("sample", t, s) for t in temperatures for s in seeds]
            for strategy, temperature, seed in settings:
                m = evaluate_exported(model_dir, cases_file, strategy, beam, temperature, seed)
                runs.append({"model": label, "dir": str(model_dir), "strategy": strategy, "temperature": temperature,
                             "seed": seed, **{k: m[k] for k in METRICS}})
                print(f"[frontier] {label} {strategy} T {temperature} seed {seed}: N@10 {m['ndcg@10']:.4f} "
                      f"cov@10 {m['coverage@10']:.3f} ({m['seconds']:.0f} s)", flush=True)
    if run.path("cm.pt").exists():
        cm, k = _load_cm(run), cfg.evaluate.k
        runs.append({"model": CM_LABEL, "dir": str(run.path("cm.pt")), "strategy": "beam", "temperature": None, "seed": None,
                     **{key: score(rank_cm(cm, split.test, k, 512, False), split.test, popularity)[key] for key in METRICS}})
        for temperature in temperatures:
            for seed in seeds:
                ranked = sample_cm(cm, split.test, k, 512, temperature, torch.Generator().manual_seed(seed))
                m = score(ranked, split.test, popularity)
                runs.append({"model": CM_LABEL, "dir": str(run.path("cm.pt")), "strategy": "sample",
                             "temperature": temperature, "seed": seed, **{key: m[key] for key in METRICS}})
    return runs


def points(runs: list[dict]) -> dict[str, list[dict]]:
    """model -> its points in decoding order (beam, then rising temperature): mean and sample std over seeds."""
    out: dict[str, list[dict]] = {}
    for label in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == label]
        for key in dict.fromkeys((r["strategy"], r["temperature"]) for r in sorted(
                mine, key=lambda r: (r["strategy"] != "beam", r["temperature"] or 0))):
            group = [r for r in mine if (r["strategy"], r["temperature"]) == key]
            point = {"strategy": key[0], "temperature": key[1], "runs": len(group)}
            for metric in METRICS:
                values = np.array([r[metric] for r in group])
                point[metric] = float(values.mean())
                point[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            out.setdefault(label, []).append(point)
    return out


def ndcg_at(curve: list[dict], coverage: float) -> float | None:
    """NDCG@10 of a curve at a coverage@10, linear between its neighbouring points (None outside the curve)."""
    pts = sorted((p["coverage@10"], p["ndcg@10"]) for p in curve)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= coverage <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (coverage - x0) / (x1 - x0)
    return None


def section(runs: list[dict]) -> str:
    """The model card's frontier section: the table (mean ± std over seeds), N@10 at coverage .50, the figure."""
    curves = points(runs)
    header = ("| model | decoding | runs | R@5 | R@10 | N@5 | N@10 | coverage@10 | long-tail share | Gini |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for label, curve in curves.items():
        for p in curve:
            decoding = "beam" if p["strategy"] == "beam" else f"sample, T {p['temperature']:g}"
            cells = [f"{p[m]:.4f}" + (f" ± {p[m + '_std']:.4f}" if p["runs"] > 1 else "") for m in METRICS]
            rows.append(f"| {label} | {decoding} | {p['runs']} | {' | '.join(cells)} |")
    half = [f"{label} {value:.4f}" if (value := ndcg_at(curve, 0.5)) is not None else f"{label} not reached"
            for label, curve in curves.items()]
    return f"""## Accuracy-exposure frontier (test, whole catalogue, k 10)
Beam search, then sampling (`strategy: "sample"`) at rising temperature; mean ± sample std over seeds, each case
with its own seed. Policies are scored through the service's decoder (`scripts/evaluate.mjs`), the CM from its
tempered softmax (Gumbel-top-k). Regenerate with `python -m gflowgr.frontier` (see its docstring).

{header}
{chr(10).join(rows)}

NDCG@10 at coverage@10 .50, linear between the neighbouring points: {'; '.join(half)}.

![{FIGURE}](figures/{FIGURE})
"""


def draw(runs: list[dict], out: Path) -> None:
    from .figures import frontier
    frontier(points(runs), out)


def parse(argv: list[str]) -> dict:
    args = {"config": None, "models": {}, "temperatures": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0], "seeds": [1, 2, 3],
            "beam": 20, "out": None, "overrides": []}
    rest = list(argv)
    while rest:
        flag = rest.pop(0)
        if flag.startswith("--") and "=" in flag:  # --section.key=value, as `python -m gflowgr` reads it
            args["overrides"].append(flag)
            continue
        if not rest or flag not in ("--config", "--model", "--temperatures", "--seeds", "--beam", "--out"):
            raise ValueError(USAGE)
        value = rest.pop(0)
        if flag == "--model":
            label, sep, directory = value.partition("=")
            if not sep or not label or not (Path(directory) / "manifest.json").is_file():
                raise ValueError(f"--model {value!r} must be LABEL=MODEL_DIR of an exported model")
            args["models"][label] = Path(directory).resolve()
        elif flag in ("--temperatures", "--seeds"):
            try:
                values = [float(v) if flag == "--temperatures" else int(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"{flag} {value!r} must be a comma-separated list of numbers") from None
            if flag == "--temperatures" and not all(0 < t <= 100 for t in values):
                raise ValueError(f"--temperatures must each be in (0, 100], not {value!r}")
            if flag == "--seeds" and not all(s >= 0 for s in values):
                raise ValueError(f"--seeds must be non-negative integers, not {value!r}")
            args[flag[2:]] = values
        elif flag == "--beam":
            if not value.isdigit() or not 1 <= int(value) <= 1000:
                raise ValueError(f"--beam must be an integer from 1 to 1000, not {value!r}")
            args["beam"] = int(value)
        else:
            args[flag[2:]] = value
    if args["config"] is None or not args["models"]:
        raise ValueError(USAGE)
    return args


def main(argv: list[str]) -> int:
    from .export import write_card
    from .rundir import Run
    try:
        args = parse(argv)
        cfg = load_config(args["config"], args["overrides"])
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not (REPO / "dist" / "src" / "decoding" / "beam-search.js").exists():
        print("error: the service is not built: run `npm run build` in the repository root first", file=sys.stderr)
        return 2
    out = Path(args["out"]).resolve() if args["out"] else next(iter(args["models"].values()))
    runs = measure(cfg, args["models"], args["temperatures"], args["seeds"], args["beam"])
    (out / "frontier.json").write_text(json.dumps(runs, indent=2))
    (out / "figures").mkdir(exist_ok=True)
    draw(runs, out / "figures" / FIGURE)
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text())["name"] == (cfg.export.name or cfg.name):  # this config's card
        write_card(Run(cfg), out)
    print(section(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
