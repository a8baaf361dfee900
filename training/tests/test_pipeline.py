"""End to end: every stage on MovieLens-100K with tiny settings, then the exported artifact."""
import hashlib
import json

import numpy as np
from pathlib import Path

import pytest
import torch

from gflowgr.config import load_config
from gflowgr.evaluate import rank_policy, score
from gflowgr.export import check_parity, choose_checkpoint
from gflowgr.rundir import Run
from gflowgr.stages import STAGES, _load_data, _policy_setup, load_policy, run_all

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "smoke.toml"
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "ml-100k-gflowgr"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, datasets):
    out = tmp_path_factory.mktemp("smoke")
    cfg = load_config(str(CONFIG), [f"--run_dir={out / 'run'}", f"--export.out_dir={out / 'model'}",
                                    f"--dataset_path={datasets / 'ml-100k'}"])
    run_all(cfg)
    return cfg, out


def test_every_stage_records_its_provenance(smoke):
    cfg, out = smoke
    records = [f"{stage}.json" for stage in STAGES if stage != "variants"] + [f"variant-{n}.json" for n in cfg.variants]
    for name in records:
        record = json.loads((out / "run" / name).read_text())
        assert record["seed"] == cfg.seed and record["seconds"] >= 0 and "torch" in record["versions"]
        assert record["config"]["name"] == "smoke"


def test_metrics_cover_every_model_split_and_protocol(smoke):
    _, out = smoke
    metrics = json.loads((out / "run" / "evaluate.json").read_text())["results"]
    assert set(metrics) == {"sasrec", "sft", "gflowgr"}
    for name in metrics:
        assert set(metrics[name]["valid"]) == {"standard"} and set(metrics[name]["test"]) == {"standard", "history_masked"}
        for split, protocols in metrics[name].items():
            for m in protocols.values():
                assert m["users"] == 100 and 0 <= m["recall@5"] <= m["recall@10"] <= 1
                assert m["invalid_rate"] == 0.0 and 0 < m["coverage@10"] <= 1


def test_variants_are_trained_scored_and_reported(smoke):
    cfg, out = smoke
    for name in ("sft_control", "beta2"):
        results = json.loads((out / "run" / f"variant-{name}.json").read_text())["results"]
        assert results["overrides"] == cfg.variants[name]
        assert results["test"]["users"] == 100 and results["test"]["invalid_rate"] == 0.0
        assert len(results["history"]["valid_coverage@10"]) == len(results["history"]["steps"]) >= 1
    card = (out / "model" / "MODEL_CARD.md").read_text()
    assert "| `sft_control` | objective = sft |" in card and "| `beta2` | reward.exponent = 2.0 |" in card
    assert "| objective = sft | 2 |" in card  # mean ± std of the control over its two seeds
    for picture in ("training_curves.png", "accuracy_coverage.png", "popularity.png"):
        assert (out / "model" / "figures" / picture).read_bytes().startswith(b"\x89PNG")
        assert f"(figures/{picture})" in card


def test_artifact_matches_its_manifest(smoke):
    _, out = smoke
    model = out / "model"
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["formatVersion"] == 3
    tokenizer = manifest["tokenizer"]
    for entry in [manifest["onnx"]["encoder"], manifest["onnx"]["decoder"], manifest["catalogue"], manifest["parity"],
                  tokenizer, tokenizer["arrays"], tokenizer["parity"]]:
        assert hashlib.sha256((model / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    items = (model / "items.jsonl").read_text().splitlines()
    assert len(items) == manifest["catalogue"]["items"] == 1682
    ids = {tuple(json.loads(line)["semanticId"]) for line in items}
    assert len(ids) == 1682 and all(len(i) == manifest["semanticIds"]["levels"] for i in ids)
    parity = [json.loads(line) for line in (model / "parity.jsonl").read_text().splitlines()]
    assert len(parity) >= 50 and manifest["parity"]["maxAbsLogitDiff"] <= 1e-4
    assert any(p["userId"] is None for p in parity) and any(p["history"] == [] for p in parity)
    assert all(p["scores"] == sorted(p["scores"], reverse=True) and len(p["itemIds"]) == p["k"] for p in parity)
    # the content encoder: its arrays as laid out, and test vectors for the service
    layout = json.loads((model / "tokenizer.json").read_text())
    floats = (model / "tokenizer.bin").stat().st_size // 4
    assert sum(int(np.prod(a["shape"])) for a in layout["arrays"]) == floats
    vectors = [json.loads(line) for line in (model / "tokenizer_parity.jsonl").read_text().splitlines()]
    assert len(vectors) == tokenizer["parity"]["texts"] >= 40
    assert all(len(v["codes"]) == manifest["semanticIds"]["levels"] - 1 and len(v["neighbours"]) == 10 for v in vectors)


def test_parity_check_detects_a_policy_that_differs_from_the_onnx_files(smoke):
    cfg, out = smoke
    run = Run(cfg)
    _, split, _, _ = _load_data(run)
    _, trie, _, item_tokens = _policy_setup(run)
    policy = load_policy(run, *choose_checkpoint(run))  # the checkpoint the export took
    requests = [{"userId": u, "history": h, "excludeSeen": False} for u, h, _ in split.test[:4]]
    _, same = check_parity(policy, trie, item_tokens, requests, 5, 5, out / "model")
    assert same <= 1e-4
    with torch.no_grad():
        policy.head_bias.add_(torch.randn_like(policy.head_bias) * 1e-2)
    _, changed = check_parity(policy, trie, item_tokens, requests, 5, 5, out / "model")
    assert changed > 1e-3



@pytest.fixture(scope="module")
def control(smoke):
    """The equal-budget SFT control, exported from the smoke run beside its shipped model."""
    cfg, out = smoke
    STAGES["export"](Run(load_config(str(CONFIG), [*_run_overrides(cfg, out), f"--export.out_dir={out / 'control'}",
                                                   "--export.checkpoint=variant:sft_control", "--export.name=smoke-control"])))
    return out / "control"


def _run_overrides(cfg, out) -> list[str]:
    return [f"--run_dir={out / 'run'}", f"--dataset_path={cfg.dataset_path}"]


def test_a_variant_exports_beside_the_shipped_model_under_its_own_name(smoke, control):
    _, out = smoke
    manifest = json.loads((control / "manifest.json").read_text())
    assert manifest["name"] == "smoke-control" and manifest["checkpoint"] == "variant-sft_control.pt"
    shipped = json.loads((out / "model" / "manifest.json").read_text())
    assert manifest["onnx"]["decoder"]["sha256"] != shipped["onnx"]["decoder"]["sha256"]
    card = (control / "MODEL_CARD.md").read_text()
    assert "# Model card: smoke-control" in card and "the run `sft_control` of the fine-tuning phase below" in card
    assert "with objective = sft;" in card and "The shipped run's fine-tuning: objective `tb`" in card
    assert "--export.checkpoint=variant:sft_control --export.name=smoke-control" in card


def test_the_frontier_scores_exported_models_through_the_service_and_goes_into_the_card(smoke, control, capsys):
    from gflowgr import frontier
    cfg, out = smoke
    model = out / "model"
    assert frontier.main(["--config", str(CONFIG), "--model", f"GFlowGR={model}", "--model", f"control={control}",
                          "--temperatures", "2", "--seeds", "1,2", "--beam", "10", *_run_overrides(cfg, out)]) == 0
    runs = json.loads((model / "frontier.json").read_text())
    # each exported model and the CM: beam search once, then T 2 with seeds 1 and 2, on every test user
    assert [(r["model"], r["strategy"], r["temperature"], r["seed"]) for r in runs] == [
        (label, *setting) for label in ("GFlowGR", "control", frontier.CM_LABEL)
        for setting in (("top" if label == frontier.CM_LABEL else "beam", None, None), ("sample", 2.0, 1), ("sample", 2.0, 2))]
    curves = frontier.points(runs)
    for label, (beam, hot) in curves.items():
        assert hot["runs"] == 2 and hot["ndcg@10_std"] > 0  # two seeds, two different samples
        assert hot["coverage@10"] > beam["coverage@10"], label  # a hot sampler spreads exposure
    # the beam point comes from the service's decoder; the pipeline's reference decoder agrees on every test user
    run = Run(cfg)
    _, split, _, popularity = _load_data(run)
    _, trie, _, item_tokens = _policy_setup(run)
    ranked = rank_policy(load_policy(run, *choose_checkpoint(run)), trie.tensors(run.device), item_tokens, split.test,
                         10, 10, 128, False)
    reference = score(ranked, split.test, popularity)
    assert runs[0]["ndcg@10"] == pytest.approx(reference["ndcg@10"], abs=1 / len(split.test))
    assert runs[0]["coverage@10"] == pytest.approx(reference["coverage@10"], abs=2 / 1682)
    card = (model / "MODEL_CARD.md").read_text()
    assert "## Accuracy-exposure frontier" in card and "| control | sample, T 2 | 2 |" in card
    assert (model / "figures" / "frontier.png").read_bytes().startswith(b"\x89PNG")
    assert "first reaches coverage@10 .50" in capsys.readouterr().out
    # exporting again replaces the weights, so the frontier measured on the old ones goes
    STAGES["export"](Run(load_config(str(CONFIG), [*_run_overrides(cfg, out), f"--export.out_dir={model}"])))
    assert not (model / "frontier.json").exists() and "Accuracy-exposure frontier" not in (model / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--config", str(CONFIG)], "usage"),
    (["--config", str(CONFIG), "--model", "nolabel"], "LABEL=MODEL_DIR"),
    (["--config", str(CONFIG), "--model", "x=/nonexistent"], "LABEL=MODEL_DIR"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--temperatures", "0,1"], "distinct values in [0.01, 10]"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--temperatures", "nan"], "distinct values in [0.01, 10]"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--temperatures", "1e-40"], "distinct values in [0.01, 10]"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--temperatures", "1,1.0"], "distinct values"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--seeds", "1,1"], "distinct values"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--seeds", str(2**64)], "distinct values in [0, 4294967295]"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--seeds", "a"], "comma-separated"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--beam", "5"], "--beam"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--beam=5"], "--beam"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--model", f"x={SHIPPED}"], "given twice"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--temperatures", "1", "--temperatures=2"], "--temperatures is given twice"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--out", "/tmp", "--out", "/"], "--out is given twice"),
    (["--config", str(CONFIG), "--config", str(CONFIG), "--model", f"x={SHIPPED}"], "--config is given twice"),
    (["--config", str(CONFIG), "--model", f"SASRec (CM)={SHIPPED}"], "the CM's"),
    (["--config", str(CONFIG), "--model", f"a|b={SHIPPED}"], "has |"),
    (["--config", "/nonexistent.toml", "--model", f"x={SHIPPED}"], "nonexistent.toml"),
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}", "--out", "/nonexistent"], "not a directory"),
    # a model of another run: refused before anything is scored
    (["--config", str(CONFIG), "--model", f"x={SHIPPED}"], "was trained by 'ml-100k-gflowgr'"),
])
def test_frontier_arguments_are_checked_in_one_line(argv, message, capsys):
    from gflowgr import frontier
    assert frontier.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
