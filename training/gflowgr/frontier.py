"""The accuracy-exposure frontier: test NDCG@10 against coverage@10 and long-tail share as decoding moves from beam
search to sampling at rising temperatures, one curve per model, on the whole test split.

Exported policies are scored through the service's own decoder (scripts/evaluate.mjs: the numbers are what the API
serves with `strategy: "sample"`; each case draws with its own seed); the run's CM (SASRec) by its exact top 10
and by sampling from its tempered softmax with the Gumbel-top-k trick (evaluate.sample_cm). A policy's temperature
divides each level's logits, the CM's its item scores: the same T is not the same spread, so compare the curves
along coverage, not temperature by temperature.

    npm run build   # evaluate.mjs runs the compiled service
    cd training && python -m gflowgr.frontier --config configs/beauty-gflowgr.toml \\
        --model GFlowGR=../models/beauty-gflowgr --model "SFT control=../models/beauty-sft-control" \\
        [--temperatures 0.25,0.5,0.75,1,1.5,2] [--seeds 1,2,3] [--beam B] [--out DIR] [--section.key=value ...]

It needs the training run directory the models were exported from (dataset.pt; cm.pt for the CM's curve). Each
model costs 1 + temperatures x seeds scoring runs (10 to 17 s each on Beauty's 22,363 test users, 2 cores).
It writes OUT/frontier.json (every run, with the decoder hash of the model it measured), OUT/figures/frontier.png and,
when OUT is this config's exported model, the frontier section of OUT/MODEL_CARD.md; OUT defaults to the first
model's directory. A later export of any measured model makes the section go (see `current`).
"""
from __future__ import annotations

import json
import re
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
K = 10  # the card's cut-off, as in scripts/evaluate.mjs
TEMPERATURE_RANGE = (0.01, 10)  # the service's bounds for `temperature`
METRICS = ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "coverage@10", "long_tail_share", "gini")
FLAGS = ("--config", "--model", "--temperatures", "--seeds", "--beam", "--out")
USAGE = ("usage: python -m gflowgr.frontier --config FILE --model LABEL=MODEL_DIR [--model LABEL=MODEL_DIR ...] "
         "[--temperatures 0.25,0.5,0.75,1,1.5,2] [--seeds 1,2,3] [--beam B] [--out DIR] [--section.key=value ...]")


class FrontierError(Exception):
    """Bad arguments or inputs that do not belong together: one line, exit status 2."""


def evaluate_exported(model_dir: Path, cases_file: Path, strategy: str, beam: int, temperature: float, seed: int) -> dict:
    """One scoring run of scripts/evaluate.mjs; its metrics (the model card's definitions)."""
    command = ["node", str(REPO / "scripts" / "evaluate.mjs"), str(model_dir), str(cases_file), "--strategy", strategy]
    command += ["--beam", str(beam)] if strategy == "beam" else ["--temperature", str(temperature), "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise FrontierError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _manifest(model_dir: Path) -> dict:
    return json.loads((model_dir / "manifest.json").read_text())


def _recorded(path: Path) -> str:
    """A path as frontier.json records it: relative to the repository when inside it, so the file travels with it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def check_inputs(cfg, models: dict[str, Path], run_dir: Path) -> None:
    """The models must come from this config's run, on the same data, before hours of scoring start."""
    if cfg.withhold_items:
        raise FrontierError("withhold_items > 0: the scorer's long-tail split would differ from the CM's; measure without withholding")
    for label, model_dir in models.items():
        trained = _manifest(model_dir)["training"]["config"]
        if (trained["name"], trained["dataset_kind"], trained["seed"]) != (cfg.name, cfg.dataset_kind, cfg.seed):
            raise FrontierError(f"{label} ({model_dir}) was trained by {trained['name']!r} on {trained['dataset_kind']}, "
                                f"not by this config ({cfg.name!r} on {cfg.dataset_kind})")
    if not (run_dir / "dataset.pt").exists():
        raise FrontierError(f"{run_dir / 'dataset.pt'} is missing: the frontier needs the run the models were exported from")


def measure(cfg, models: dict[str, Path], temperatures: list[float], seeds: list[int], beam: int | None) -> list[dict]:
    """Every model at beam search and at each temperature x seed; the CM of the run directory too, when it exists."""
    from .rundir import Run
    from .stages import _load_cm, _load_data
    run = Run(cfg)
    dataset, split, _, popularity = _load_data(run)
    cm = _load_cm(run) if run.path("cm.pt").exists() else None  # checked first: the scoring runs take minutes
    if cm is None:
        print(f"[frontier] {run.path('cm.pt')} is missing: no CM curve", flush=True)
    else:
        top = score(rank_cm(cm, split.test, K, 512, False), split.test, popularity)
        recorded = _manifest(next(iter(models.values()))).get("metrics", {}).get("sasrec", {}).get("test", {}).get("standard")
        if recorded is not None and recorded["users"] == top["users"] and abs(recorded["ndcg@10"] - top["ndcg@10"]) > 1e-9:
            raise FrontierError(f"{run.path('cm.pt')} is not the CM the models were exported with (test NDCG@10 "
                                f"{top['ndcg@10']:.4f}, the manifest says {recorded['ndcg@10']:.4f})")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        cases_file = Path(tmp) / "cases.jsonl"
        cases_file.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in external_cases(dataset, split.test)))
        for label, model_dir in models.items():
            manifest = _manifest(model_dir)
            width = beam or manifest["decoding"]["defaultBeamWidth"]  # the card's main table uses the export's width
            for strategy, temperature, seed in [("beam", None, None)] + [("sample", t, s) for t in temperatures for s in seeds]:
                m = evaluate_exported(model_dir, cases_file, strategy, width, temperature, seed)
                runs.append(_run(label, model_dir, manifest["onnx"]["decoder"]["sha256"], strategy,
                                 width if strategy == "beam" else None, temperature, seed, m))
                print(f"[frontier] {label} {strategy} T {temperature} seed {seed}: N@10 {m['ndcg@10']:.4f} "
                      f"cov@10 {m['coverage@10']:.3f} ({m['seconds']:.0f} s)", flush=True)
    if cm is None:
        return runs
    cm_path = run.path("cm.pt").resolve()
    runs.append(_run(CM_LABEL, cm_path, None, "top", None, None, None, top))
    for temperature in temperatures:
        for seed in seeds:
            m = score(sample_cm(cm, split.test, K, 512, temperature, torch.Generator().manual_seed(seed)), split.test, popularity)
            runs.append(_run(CM_LABEL, cm_path, None, "sample", None, temperature, seed, m))
    return runs


def _run(label: str, path: Path, decoder_sha256: str | None, strategy: str, beam: int | None, temperature: float | None,
         seed: int | None, metrics: dict) -> dict:
    """One scoring run as frontier.json records it."""
    return {"model": label, "dir": _recorded(path), "decoder_sha256": decoder_sha256, "strategy": strategy, "beam": beam,
            "temperature": temperature, "seed": seed, **{k: metrics[k] for k in METRICS}}


def current(runs: list[dict]) -> bool:
    """Whether every exported model measured still has the decoder it was measured with."""
    for r in runs:
        if r["decoder_sha256"] is not None:
            model_dir = REPO / r["dir"]  # an absolute path stays as it is
            if not (model_dir / "manifest.json").exists() or _manifest(model_dir)["onnx"]["decoder"]["sha256"] != r["decoder_sha256"]:
                return False
    return True


def points(runs: list[dict]) -> dict[str, list[dict]]:
    """model -> its points in decoding order (beam or top-k, then rising temperature): mean and sample std over seeds."""
    out: dict[str, list[dict]] = {}
    for label in dict.fromkeys(r["model"] for r in runs):
        mine = [r for r in runs if r["model"] == label]
        for key in dict.fromkeys((r["strategy"], r["temperature"]) for r in sorted(
                mine, key=lambda r: (r["strategy"] == "sample", r["temperature"] or 0))):
            group = [r for r in mine if (r["strategy"], r["temperature"]) == key]
            point = {"strategy": key[0], "temperature": key[1], "runs": len(group)}
            for metric in METRICS:
                values = np.array([r[metric] for r in group])
                point[metric] = float(values.mean())
                point[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            out.setdefault(label, []).append(point)
    return out


def ndcg_at(curve: list[dict], coverage: float) -> float | None:
    """NDCG@10 where the curve, followed in decoding order, first reaches a coverage@10 (linear between its points;
    its first point's if that is already there; None if it never gets there). Decoding order, not coverage order,
    as the figure draws it."""
    pts = [(p["coverage@10"], p["ndcg@10"]) for p in curve]
    if pts and pts[0][0] >= coverage:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 < coverage <= x1:
            return y0 + (y1 - y0) * (coverage - x0) / (x1 - x0)
    return None


def _decoding(p: dict) -> str:
    return {"beam": "beam", "top": "top 10"}.get(p["strategy"]) or f"sample, T {p['temperature']:g}"


def section(runs: list[dict]) -> str:
    """The model card's frontier section: the table (mean ± std over seeds), N@10 at coverage .50, the figure."""
    curves = points(runs)
    header = ("| model | decoding | runs | R@5 | R@10 | N@5 | N@10 | coverage@10 | long-tail share | Gini |\n"
              "|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for label, curve in curves.items():
        for p in curve:
            cells = [f"{p[m]:.4f}" + (f" ± {p[m + '_std']:.4f}" if p["runs"] > 1 else "") for m in METRICS]
            rows.append(f"| {label} | {_decoding(p)} | {p['runs']} | {' | '.join(cells)} |")
    half = [f"{label} {value:.4f}" if (value := ndcg_at(curve, 0.5)) is not None else f"{label} not reached"
            for label, curve in curves.items()]
    return f"""## Accuracy-exposure frontier (test, whole catalogue, k 10)
Beam search (the CM: its exact top 10), then sampling (`strategy: "sample"`) at rising temperature; mean ± sample
std over seeds. Policies are scored through the service's decoder (`scripts/evaluate.mjs`), each case with its own
seed; the CM is sampled from its tempered softmax (Gumbel-top-k). A policy's temperature divides each level's
logits, the CM's its item scores, so the curves compare along coverage, not temperature by temperature.
Regenerate with `python -m gflowgr.frontier` (its docstring has the command).

{header}
{chr(10).join(rows)}

NDCG@10 where each curve first reaches coverage@10 .50 (linear between its points): {'; '.join(half)}.

![{FIGURE}](figures/{FIGURE})
"""


def parse(argv: list[str]) -> dict:
    args = {"config": None, "models": {}, "temperatures": [0.25, 0.5, 0.75, 1.0, 1.5, 2.0], "seeds": [1, 2, 3],
            "beam": None, "out": None, "overrides": []}
    rest, given = list(argv), set()
    while rest:
        flag = rest.pop(0)
        if "=" in flag and flag.split("=", 1)[0] in FLAGS:  # --flag=value
            flag, value = flag.split("=", 1)
        elif flag.startswith("--") and "=" in flag:  # --section.key=value, as `python -m gflowgr` reads it
            args["overrides"].append(flag)
            continue
        elif flag in FLAGS and rest:
            value = rest.pop(0)
        else:
            raise FrontierError(USAGE)
        if flag != "--model" and flag in given:  # one value each: a second one would silently win
            raise FrontierError(f"{flag} is given twice")
        given.add(flag)
        if flag == "--model":
            label, sep, directory = value.partition("=")
            if not sep or not label or not (Path(directory) / "manifest.json").is_file():
                raise FrontierError(f"--model {value!r} must be LABEL=MODEL_DIR of an exported model")
            if label == CM_LABEL or label in args["models"] or re.search(r"[|`\n]", label):
                raise FrontierError(f"--model label {label!r} is taken (the CM's, or given twice) or has | or `")
            args["models"][label] = Path(directory).resolve()
        elif flag in ("--temperatures", "--seeds"):
            try:
                values = [float(v) if flag == "--temperatures" else int(v) for v in value.split(",")]
            except ValueError:
                raise FrontierError(f"{flag} {value!r} must be a comma-separated list of numbers") from None
            low, high = TEMPERATURE_RANGE if flag == "--temperatures" else (0, 2**32 - 1)
            if not all(low <= v <= high for v in values) or len(set(values)) != len(values):
                raise FrontierError(f"{flag} {value!r} must be distinct values in [{low}, {high}]")
            args[flag[2:]] = values
        elif flag == "--beam":
            if not value.isdigit() or not K <= int(value) <= 1000:
                raise FrontierError(f"--beam must be an integer from {K} (the cut-off) to 1000, not {value!r}")
            args["beam"] = int(value)
        else:
            args[flag[2:]] = value
    if args["config"] is None or not args["models"]:
        raise FrontierError(USAGE)
    return args


def main(argv: list[str]) -> int:
    from .export import write_card
    from .figures import frontier
    from .rundir import Run
    try:
        args = parse(argv)
        cfg = load_config(args["config"], args["overrides"])
        if not (REPO / "dist" / "src" / "decoding" / "beam-search.js").exists():
            raise FrontierError("the service is not built: run `npm run build` in the repository root first")
        out = Path(args["out"]).resolve() if args["out"] else next(iter(args["models"].values()))
        if not out.is_dir():
            raise FrontierError(f"--out {out} is not a directory")
        check_inputs(cfg, args["models"], Path(cfg.run_dir))
        runs = measure(cfg, args["models"], args["temperatures"], args["seeds"], args["beam"])
    except (FrontierError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    (out / "frontier.json").write_text(json.dumps(runs, indent=2))
    (out / "figures").mkdir(exist_ok=True)
    frontier(points(runs), out / "figures" / FIGURE)
    manifest = out / "manifest.json"
    if manifest.exists() and _manifest(out)["name"] == (cfg.export.name or cfg.name):
        write_card(Run(cfg), out)
    else:
        print(f"[frontier] {out} is not this config's exported model ({cfg.export.name or cfg.name}): its card is left as it is")
    print(section(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
