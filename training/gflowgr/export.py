"""Export: ONNX encoder + decoder step, manifest.json, items.jsonl, parity.jsonl and MODEL_CARD.md.

The ONNX interface (every name, dtype and symbolic shape is written into the manifest):
  encoder(history_tokens int64 [batch, history, levels], user_token int64 [batch])
      -> cross_kv float32 [layers, 2, batch, heads, memory, head_dim], memory_bias float32 [batch, memory],
         logits float32 [batch, 1, width], present float32 [layers, 2, batch, 1, heads, 1, head_dim]
  decoder(token int64 [batch, beams], parent int64 [batch, beams], past float32 [layers, 2, batch, parent_beams, heads, level, head_dim],
          cross_kv, memory_bias, level int64 [])
      -> logits float32 [batch, beams, width], present float32 [layers, 2, batch, beams, heads, level + 1, head_dim]
The encoder also runs the first decoder step (BOS, one beam per request; format 3): its logits and present are
level 0's, and the host calls the decoder from level 1 on. The host runs the beam search between decoder steps
(masked log-softmax over the trie's children) and feeds each step's `present` back as the next step's `past`,
with the parent beam of every new beam.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from .config import TRAINING_DIR
from .decoding import beam_search
from .evaluate import user_tokens
from .model import BOS, PAD, Policy, history_batch
from .rundir import Run
from .tokenizer import NEIGHBOURS
from .userhash import NAME as USER_HASH_NAME

# 2: an optional content encoder (tokenizer.json, .bin, _parity.jsonl) for new items; 3: the encoder graph also runs the
# first decoder step (outputs logits and present)
FORMAT_VERSION = 3
PARITY_TOLERANCE = 1e-4


class EncoderGraph(nn.Module):
    def __init__(self, policy: Policy):
        super().__init__()
        self.policy = policy

    def forward(self, history_tokens, user_token):
        return self.policy.encode_first_step(history_tokens, user_token)


class DecoderGraph(nn.Module):
    def __init__(self, policy: Policy):
        super().__init__()
        self.policy = policy

    def forward(self, token, parent, past, cross_kv, memory_bias, level):
        return self.policy.decode_step(token, parent, past, cross_kv, memory_bias, level)


def interface(cfg) -> dict:
    kv = ["layers", 2, "batch", "heads", "memory", "head_dim"]
    return {
        "encoder": {
            "file": "encoder.onnx",
            "inputs": [{"name": "history_tokens", "dtype": "int64", "shape": ["batch", "history", cfg.levels]},
                       {"name": "user_token", "dtype": "int64", "shape": ["batch"]}],
            "outputs": [{"name": "cross_kv", "dtype": "float32", "shape": kv},
                        {"name": "memory_bias", "dtype": "float32", "shape": ["batch", "memory"]},
                        {"name": "logits", "dtype": "float32", "shape": ["batch", 1, max(cfg.codebook_sizes)]},
                        {"name": "present", "dtype": "float32", "shape": ["layers", 2, "batch", 1, "heads", 1, "head_dim"]}],
        },
        "decoder": {
            "file": "decoder.onnx",
            "inputs": [{"name": "token", "dtype": "int64", "shape": ["batch", "beams"]},
                       {"name": "parent", "dtype": "int64", "shape": ["batch", "beams"]},
                       {"name": "past", "dtype": "float32", "shape": ["layers", 2, "batch", "parent_beams", "heads", "level", "head_dim"]},
                       {"name": "cross_kv", "dtype": "float32", "shape": kv},
                       {"name": "memory_bias", "dtype": "float32", "shape": ["batch", "memory"]},
                       {"name": "level", "dtype": "int64", "shape": []}],
            "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", "beams", max(cfg.codebook_sizes)]},
                        {"name": "present", "dtype": "float32", "shape": ["layers", 2, "batch", "beams", "heads", "level + 1", "head_dim"]}],
        },
        "dims": {"layers": cfg.n_decoder_layers, "heads": cfg.n_heads, "head_dim": cfg.d_model // cfg.n_heads,
                 "memory": "history + 1 (the user token comes first)",
                 "level": "codes generated so far (the encoder runs level 0; the decoder is called from level 1 on)"},
    }


def _export_onnx(policy: Policy, out: Path, spec: dict) -> None:
    policy = policy.cpu().eval()
    L = policy.cfg.levels
    hist = torch.full((2, 3, L), PAD, dtype=torch.long)
    hist[:, 1:] = torch.tensor(policy.cfg.level_offsets)
    users = torch.tensor([policy.cfg.user_offset, policy.cfg.user_offset + 1])
    with torch.no_grad():
        cross_kv, memory_bias = policy.encode(hist, users)
    token = torch.full((2, 3), policy.cfg.level_offsets[0], dtype=torch.long)
    parent = torch.tensor([[0, 1, 1], [1, 0, 0]])
    with torch.no_grad():
        _, past = policy.decode_step(torch.full((2, 2), BOS), torch.zeros(2, 2, dtype=torch.long),
                                     None, cross_kv, memory_bias, torch.tensor(0))
    for name, graph, args, axes in [
        ("encoder", EncoderGraph(policy).eval(), (hist, users),
         {"history_tokens": {0: "batch", 1: "history"}, "user_token": {0: "batch"},
          "cross_kv": {2: "batch", 4: "memory"}, "memory_bias": {0: "batch", 1: "memory"}, "logits": {0: "batch"},
          "present": {2: "batch"}}),
        ("decoder", DecoderGraph(policy).eval(), (token, parent, past, cross_kv, memory_bias, torch.tensor(1)),
         {"token": {0: "batch", 1: "beams"}, "parent": {0: "batch", 1: "beams"},
          "past": {2: "batch", 3: "parent_beams", 5: "level"}, "cross_kv": {2: "batch", 4: "memory"},
          "memory_bias": {0: "batch", 1: "memory"}, "logits": {0: "batch", 1: "beams"},
          "present": {2: "batch", 3: "beams", 5: "level_plus_1"}}),
    ]:
        torch.onnx.export(graph, args, str(out / spec[name]["file"]), dynamo=False, opset_version=17,
                          input_names=[i["name"] for i in spec[name]["inputs"]],
                          output_names=[o["name"] for o in spec[name]["outputs"]], dynamic_axes=axes)
    policy.eval()  # the exporter restores the wrapper's mode; a wrapper left in training mode would turn dropout on


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parity_cases(split, n: int, seed: int):
    """Test-split requests of varied history lengths, one anonymous, one with an empty history."""
    cases = random.Random(seed).sample(split.test, min(n, len(split.test)))
    requests = [{"userId": u, "history": h, "target": t} for u, h, t in cases]
    if len(requests) >= 2:
        requests[0]["userId"] = None
        requests[1]["history"] = []
    for i, r in enumerate(requests):
        r["excludeSeen"] = i % 2 == 1  # exercise the exclusion masks too
    return requests


def check_parity(policy: Policy, trie, item_tokens, requests, beam: int, k: int, out: Path) -> tuple[list[dict], float]:
    """Runs the reference decoder, replays its every step through onnxruntime, returns vectors and max |diff|."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    encoder = ort.InferenceSession(str(out / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(out / "decoder.onnx"), options, providers=["CPUExecutionProvider"])
    trie_t = trie.tensors()
    worst, vectors = 0.0, []
    for start in range(0, len(requests), 16):
        batch = requests[start:start + 16]
        hist = history_batch([r["history"] for r in batch], item_tokens, policy.cfg.max_history)
        users = user_tokens([r["userId"] for r in batch], policy)
        results = []
        for r, h, u in zip(batch, hist, users):  # one request at a time: exclusions differ per request
            trace: list = []
            items, scores = beam_search(policy, trie_t, h[None], u[None], beam, k,
                                        excluded=[r["history"]] if r["excludeSeen"] else None, trace=trace)
            results.append((items[0], scores[0]))
            kv, bias, logits, past = encoder.run(None, {"history_tokens": h[None].numpy(), "user_token": u[None].numpy()})
            worst = max(worst, float(np.abs(kv - trace[0]["cross_kv"].numpy()).max()),
                        float(np.abs(bias - trace[0]["memory_bias"].numpy()).max()),
                        float(np.abs(logits - trace[1]["logits"].numpy()).max()))  # the encoder runs level 0
            for step in trace[2:]:  # onnxruntime's own cache is carried from step to step
                logits, past = decoder.run(None, {"token": step["token"].numpy(), "parent": step["parent"].numpy(), "past": past,
                                                  "cross_kv": kv, "memory_bias": bias, "level": np.array(step["level"], dtype=np.int64)})
                worst = max(worst, float(np.abs(logits - step["logits"].numpy()).max()))
        # the batched encoder (left padding) must agree with the one-by-one runs
        kv_batch, _, logits_batch, _ = encoder.run(None, {"history_tokens": hist.numpy(), "user_token": users.numpy()})
        for row, h in enumerate(hist):
            kv_one, _, logits_one, _ = encoder.run(None, {"history_tokens": h[None].numpy(), "user_token": users[row:row + 1].numpy()})
            worst = max(worst, float(np.abs(logits_batch[row] - logits_one[0]).max()))
            n = int((h[:, 0] != PAD).sum())  # memory = [user token, left padding, n items]
            pairs = [(slice(0, 1), slice(0, 1))] + ([(slice(kv_batch.shape[4] - n, None), slice(kv_one.shape[4] - n, None))] if n else [])
            for batch_pos, one_pos in pairs:
                worst = max(worst, float(np.abs(kv_batch[:, :, row, :, batch_pos] - kv_one[:, :, 0, :, one_pos]).max()))
        vectors.extend({"request": r, "items": items, "scores": scores} for r, (items, scores) in zip(batch, results))
    return vectors, worst


def write_parity(vectors: list[dict], ext: list[str], policy: Policy, beam: int, k: int, out: Path) -> None:
    """parity.jsonl: each request in external ids with the reference decoder's items and scores."""
    with open(out / "parity.jsonl", "w", encoding="utf-8") as f:
        for v in vectors:
            r = v["request"]
            keep = v["items"] >= 0
            f.write(json.dumps({"userId": r["userId"], "history": [ext[i] for i in r["history"]],
                                "excludeSeen": r["excludeSeen"], "beamWidth": beam, "k": k,
                                "userToken": int(user_tokens([r["userId"]], policy)[0]),
                                "itemIds": [ext[i] for i in v["items"][keep].tolist()],
                                "scores": [round(float(s), 6) for s in v["scores"][keep].tolist()]}) + "\n")


def _metrics(run: Run) -> dict:
    return (_results(run, "evaluate") or {}).get("results", {})


def _stage_seconds(run: Run) -> dict:
    """Wall time of each stage; the variants as one total (each has its own in the card's table)."""
    out = {}
    for stage in ("prepare", "cm", "tokenize", "sft", "gflowgr", "variants", "evaluate"):
        names = [f"variant-{n}" for n in run.cfg.variants] if stage == "variants" else [stage]
        seconds = [r["seconds"] for n in names if (r := _results(run, n)) is not None]
        if seconds:
            out[stage] = round(sum(seconds), 1)
    return out


def _results(run: Run, stage: str) -> dict | None:
    path = run.path(f"{stage}.json")
    return json.loads(path.read_text()) if path.exists() else None


def _variants(run: Run) -> dict:
    """Every configured variant that has been trained: its overrides, wall time, history and metrics."""
    out = {}
    for name in run.cfg.variants:
        if (r := _results(run, f"variant-{name}")) is not None:
            out[name] = {"overrides": r["results"]["overrides"], "seconds": r["seconds"], "history": r["results"]["history"],
                         "test": r["results"]["test"]}
    return out


def _draw_figures(run: Run, out: Path, variants: dict) -> list[str]:
    from . import figures
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    drawn = []
    sft, fine = _results(run, "sft"), _results(run, "gflowgr")
    metrics = _metrics(run)
    main_label = f"gflowgr ({run.cfg.gflowgr.objective})"
    if sft:
        h = sft["results"]["history"]
        best_step = h["steps"][int(np.argmax(h["valid_ndcg@10"]))]  # fine-tuning starts from the best SFT weights
        drawn_variants = run.cfg.export.curve_variants or list(variants)
        histories = {"sft": h, **({main_label: fine["results"]["history"]} if fine else {}),
                     **{name: variants[name]["history"] for name in drawn_variants if name in variants}}
        figures.training_curves(histories, best_step, folder / "training_curves.png")
        drawn.append("training_curves.png")
    points = {name: metrics[name]["test"]["standard"] for name in ("sasrec", "sft") if name in metrics}
    if "gflowgr" in metrics:
        points[main_label] = metrics["gflowgr"]["test"]["standard"]
    points.update({name: v["test"] for name, v in variants.items()})
    series: dict[str, list[tuple[str, float]]] = {}  # runs that differ only in the reward exponent
    members = ([(main_label, {})] if "gflowgr" in metrics else []) + [(n, v["overrides"]) for n, v in variants.items()]
    for label, overrides in members:
        reward = overrides.get("reward", {})
        rest = {k: v for k, v in reward.items() if k != "exponent"}
        key = _overrides({**{k: v for k, v in overrides.items() if k != "reward"}, **({"reward": rest} if rest else {})})
        if "seed" not in overrides and "objective" not in overrides:
            series.setdefault(key or "shipped setting", []).append((label, reward.get("exponent", run.cfg.gflowgr.reward.exponent)))
    series = {k: v for k, v in series.items() if len(v) > 1}
    if points:
        labelled = {"sasrec", "sft", main_label, "sft_control"} | {label for runs in series.values() for label, _ in runs}
        figures.accuracy_coverage(points, series, labelled, folder / "accuracy_coverage.png")
        drawn.append("accuracy_coverage.png")
    if run.path("test_rankings.npz").exists():
        saved = np.load(run.path("test_rankings.npz"))
        rankings = {("SASRec" if k == "sasrec" else k.upper() if k == "sft" else "GFlowGR"): saved[k]
                    for k in ("sasrec", "sft", "gflowgr") if k in saved}
        figures.popularity(rankings, saved["popularity"], folder / "popularity.png")
        drawn.append("popularity.png")
    return drawn


def choose_checkpoint(run: Run) -> tuple[str, str]:
    """The configured checkpoint, or with 'auto' the one with the best validation NDCG@10 (standard protocol)."""
    choice = run.cfg.export.checkpoint
    if choice.startswith("variant:"):  # a comparison run, e.g. the equal-budget SFT control, served beside the shipped one
        return f"variant-{choice.removeprefix('variant:')}.pt", f"variant-{choice.removeprefix('variant:')}"
    if choice == "auto":
        metrics = _metrics(run)
        scored = {name: metrics[name]["valid"]["standard"]["ndcg@10"] for name in ("sft", "gflowgr") if name in metrics}
        choice = max(scored, key=scored.get) if scored else ("gflowgr" if run.path("gflowgr.pt").exists() else "sft")
    return f"{choice}.pt", choice


TOKENIZER_METHOD = ("TF-IDF (lowercase, tokens of \\w, sublinear tf, idf, l2) -> SVD projection -> l2; collaborative half: the mean of the "
                    "normalised collaborative embeddings of the 10 catalogue items nearest by text, l2; fused [text_weight * text, "
                    "cm_weight * collaborative]; residual quantisation against the centres, level by level")


def _export_tokenizer(run: Run, dataset, out: Path) -> dict | None:
    """The content encoder the tokenize stage fitted, for new items; None (and no files) when the catalogue had no
    text to fit one on."""
    encoder = run.load("semantic_ids.pt", "tokenize").get("encoder")
    return write_content_encoder(encoder, dataset.items, run.cfg.seed, out, TOKENIZER_METHOD)


def write_content_encoder(encoder, items, seed: int, out: Path, method: str) -> dict | None:
    """tokenizer.json (vocabulary, layout of the arrays), tokenizer.bin (little-endian float32 arrays) and
    tokenizer_parity.jsonl (texts, the codes the reference ContentEncoder gives them and their neighbours) for the
    catalogue `items` (in items.jsonl order); returns the manifest's `tokenizer` entry (None, no files, without an encoder)."""
    for name in ("tokenizer.json", "tokenizer.bin", "tokenizer_parity.jsonl"):
        (out / name).unlink(missing_ok=True)
    if encoder is None:
        return None
    layout, offset = [], 0
    with open(out / "tokenizer.bin", "wb") as f:
        for name, array in encoder.arrays().items():
            data = np.ascontiguousarray(array, dtype="<f4")
            f.write(data.tobytes())
            layout.append({"name": name, "shape": list(data.shape), "offset": offset})
            offset += data.size
    (out / "tokenizer.json").write_text(json.dumps({
        "method": method, "vocabulary": encoder.vocabulary, "textWeight": encoder.text_weight, "cmWeight": encoder.cm_weight,
        "neighbours": NEIGHBOURS, "levels": len(encoder.centres), "arrays": layout}, ensure_ascii=False))
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(items), size=min(40, len(items)), replace=False).tolist()
    words = encoder.vocabulary
    texts = [items[i].text() for i in sample] + [
        " ".join(rng.choice(words, size=int(rng.integers(1, 8))).tolist()) for _ in range(8)] + ["", "zzzz an unknown product 123"]
    with open(out / "tokenizer_parity.jsonl", "w", encoding="utf-8") as f:
        for text in texts:
            _, neighbours = encoder.embed(text)
            f.write(json.dumps({"text": text, "codes": encoder.encode(text),
                                "neighbours": [items[i].external_id for i in neighbours]}, ensure_ascii=False) + "\n")
    return {"file": "tokenizer.json", "sha256": sha256(out / "tokenizer.json"),
            "arrays": {"file": "tokenizer.bin", "sha256": sha256(out / "tokenizer.bin")},
            "parity": {"file": "tokenizer_parity.jsonl", "sha256": sha256(out / "tokenizer_parity.jsonl"), "texts": len(texts)}}


def _export_cold_start(run: Run, out: Path) -> dict | None:
    """With withhold_items: cold_start.jsonl, the withheld items to add through the API (with the baseline's score,
    the mean training popularity of the catalogue items nearest by text, the neighbours the content encoder
    uses), then every test case in external ids. Data for research use: keep it out of published model folders."""
    from .stages import _load_data
    (out / "cold_start.jsonl").unlink(missing_ok=True)
    if not run.path("cold_start.pt").exists():
        return None
    cold, encoder = run.load("cold_start.pt", "prepare"), run.load("semantic_ids.pt", "tokenize").get("encoder")
    if encoder is None:
        raise RuntimeError("withhold_items needs item text: the content encoder places the withheld items")
    _, _, _, popularity = _load_data(run)
    with open(out / "cold_start.jsonl", "w", encoding="utf-8") as f:
        for item in cold.items:
            _, neighbours = encoder.embed(item.text())
            f.write(json.dumps({"item": {"itemId": item.external_id, "title": item.title, "brand": item.brand,
                                         "categories": item.categories, "description": item.description},
                                "neighbourPopularity": float(np.mean(popularity[neighbours]))}, ensure_ascii=False) + "\n")
        for user, history, target in cold.test:
            f.write(json.dumps({"userId": user, "history": history, "target": target}, ensure_ascii=False) + "\n")
    return {"file": "cold_start.jsonl", "withheldItems": len(cold.items), "testCases": len(cold.test)}


def export_model(run: Run) -> dict:
    from .stages import _load_data, _policy_setup, load_policy
    cfg = run.cfg
    dataset, split, _, _ = _load_data(run)
    _, trie, codes, item_tokens = _policy_setup(run)
    checkpoint = choose_checkpoint(run)
    policy = load_policy(run, *checkpoint).cpu().eval()
    item_tokens, codes = item_tokens.cpu(), codes.cpu()
    out = Path(cfg.export.out_dir or Path(__file__).resolve().parents[2] / "models" / (cfg.export.name or cfg.name))
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "frontier.json", out / "figures" / "frontier.png"):  # measured on the weights this export replaces
        stale.unlink(missing_ok=True)
    spec = interface(policy.cfg)
    _export_onnx(policy, out, spec)

    with open(out / "items.jsonl", "w", encoding="utf-8") as f:
        for item, code in zip(dataset.items, codes.tolist()):
            f.write(json.dumps({"itemId": item.external_id, "semanticId": code, "title": item.title,
                                "brand": item.brand, "categories": item.categories}, ensure_ascii=False) + "\n")

    requests = _parity_cases(split, cfg.export.parity_requests, cfg.seed)
    vectors, worst = check_parity(policy, trie, item_tokens, requests, cfg.export.beam, cfg.export.k, out)
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(f"export parity failed: onnxruntime and PyTorch differ by {worst:.2e} > {PARITY_TOLERANCE}")
    write_parity(vectors, [item.external_id for item in dataset.items], policy, cfg.export.beam, cfg.export.k, out)

    tokenizer = _export_tokenizer(run, dataset, out)
    cold_start = _export_cold_start(run, out)
    pc = policy.cfg
    manifest = {
        "formatVersion": FORMAT_VERSION,
        "name": cfg.export.name or cfg.name,
        "version": cfg.export.version,
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checkpoint": checkpoint[0],
        "dataset": {"name": dataset.name, "kind": cfg.dataset_kind, "split": "leave-one-out (last item test, second-to-last validation)",
                    "users": len(dataset.sequences), "items": dataset.n_items},
        "semanticIds": {"levels": pc.levels, "codebookSizes": pc.codebook_sizes},
        "tokens": {"pad": PAD, "bos": BOS, "levelOffsets": pc.level_offsets, "userOffset": pc.user_offset,
                   "userBuckets": pc.user_buckets, "anonymousUserToken": pc.user_offset + pc.user_buckets,
                   "vocabSize": pc.vocab_size},
        "userHash": {"name": USER_HASH_NAME,
                     "definition": "userToken = userOffset + (FNV-1a 32-bit of the UTF-8 bytes of the user id) mod userBuckets; "
                                   "no user id -> anonymousUserToken"},
        "maxHistory": pc.max_history,
        "decoding": {"defaultBeamWidth": cfg.export.beam, "scores": "sum over levels of log-softmax of the logits restricted to the trie's children of each node"},
        "onnx": {name: {**spec[name], "sha256": sha256(out / spec[name]["file"])} for name in ("encoder", "decoder")},
        "onnxDims": spec["dims"],
        "catalogue": {"file": "items.jsonl", "sha256": sha256(out / "items.jsonl"), "items": dataset.n_items,
                      "hasCategories": any(item.categories for item in dataset.items)},
        "parity": {"file": "parity.jsonl", "sha256": sha256(out / "parity.jsonl"), "requests": len(vectors),
                   "tolerance": PARITY_TOLERANCE, "maxAbsLogitDiff": worst},
        **({"tokenizer": tokenizer} if tokenizer else {}),
        **({"coldStart": cold_start} if cold_start else {}),
        "training": {"config": cfg.to_dict(), "stageSeconds": _stage_seconds(run)},
        "metrics": _metrics(run),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    write_card(run, out)
    return {"out_dir": str(out), "max_abs_logit_diff": worst, "parity_requests": len(vectors),
            "bytes": sum(p.stat().st_size for p in out.iterdir())}


def write_card(run: Run, out: Path) -> None:
    """MODEL_CARD.md and its figures, from the run's records, out/manifest.json and, once `python -m gflowgr.frontier`
    has measured it, out/frontier.json."""
    from .frontier import current, section
    manifest = json.loads((out / "manifest.json").read_text())
    variants = _variants(run)
    fine = _results(run, "gflowgr")
    shipped_valid = fine["results"]["history"]["best_valid_ndcg@10"] if fine else float("nan")
    notes_file = manifest["training"]["config"]["export"]["notes"]  # this model's notes, whatever config rewrites the card
    notes = (TRAINING_DIR / notes_file).read_text() if notes_file else ""
    pictures = _draw_figures(run, out, variants)
    runs = json.loads((out / "frontier.json").read_text()) if (out / "frontier.json").exists() else []
    frontier = section(runs) if runs and current(runs) else ""
    (out / "MODEL_CARD.md").write_text(model_card(manifest, variants, pictures, shipped_valid, notes, frontier))


PUBLISHED_BEAUTY = [("TIGER (published)", ".0454", ".0648", ".0321", ".0384"),
                    ("SASRec (published)", ".0387", ".0605", ".0249", ".0318"),
                    ("GFlowGR paper SFT (LETTER)", ".0344", ".0540", ".0227", ".0290"),
                    ("GFlowGR paper TB (LETTER)", ".0433", ".0672", ".0286", ".0363")]


def _row(label: str, t: dict) -> str:
    return (f"| {label} | {t['recall@5']:.4f} | {t['recall@10']:.4f} | {t['ndcg@5']:.4f} | {t['ndcg@10']:.4f} "
            f"| {t['coverage@10']:.3f} | {t['long_tail_share']:.3f} | {t['gini']:.3f} | {t['invalid_rate']:.3f} |")


def _overrides(values: dict, prefix: str = "") -> str:
    return ", ".join(_overrides(v, f"{prefix}{k}.") if isinstance(v, dict) else f"{prefix}{k} = {v}" for k, v in values.items())


def _seed_groups(m: dict, variants: dict) -> list[str]:
    """Rows of mean ± std over the runs that differ only in gflowgr.seed (the shipped run counts as seed 1)."""
    groups: dict[str, list[dict]] = {}
    if "gflowgr" in m["metrics"]:
        groups["the shipped setting"] = [m["metrics"]["gflowgr"]["test"]["standard"]]
    for name, v in variants.items():
        rest = {k: val for k, val in v["overrides"].items() if k != "seed"}
        groups.setdefault(_overrides(rest) or "the shipped setting", []).append(v["test"])
    rows = []
    for label, runs in groups.items():
        if len(runs) < 2:
            continue
        cells = [f"{np.mean([r[k] for r in runs]):.4f} ± {np.std([r[k] for r in runs], ddof=1):.4f}"
                 for k in ("recall@5", "recall@10", "ndcg@5", "ndcg@10", "coverage@10", "long_tail_share")]
        rows.append(f"| {label} | {len(runs)} | {' | '.join(cells)} |")
    return rows


def model_card(m: dict, variants: dict, pictures: list[str], shipped_valid: float = float("nan"), notes: str = "",
               frontier: str = "") -> str:
    header = "| model | R@5 | R@10 | N@5 | N@10 | coverage@10 | long-tail share | Gini | invalid rate |\n|---|---|---|---|---|---|---|---|---|"
    names = {"sasrec": "SASRec (our CM, full softmax)", "sft": "SFT", "gflowgr": f"GFlowGR-{m['training']['config']['gflowgr']['objective'].upper()}"}
    rows = [_row(names.get(name, name), by_split["test"]["standard"]) for name, by_split in m["metrics"].items()]
    # comparison rows: the variants that change the objective (the SFT control, DB) at seed 1; the rest are ablations
    rows += [_row(f"variant `{name}`", v["test"]) for name, v in variants.items()
             if "objective" in v["overrides"] and "seed" not in v["overrides"]]
    if m["dataset"]["kind"] == "amazon":
        rows += [f"| {n} | {a} | {b} | {c} | {d} | | | | |" for n, a, b, c, d in PUBLISHED_BEAUTY]
    masked = [_row(names.get(name, name), by_split["test"]["history_masked"]) for name, by_split in m["metrics"].items()]
    ablation = [f"| `{name}` | {_overrides(v['overrides'])} | {v['history']['best_valid_ndcg@10']:.4f} | {v['test']['recall@10']:.4f} "
                f"| {v['test']['ndcg@10']:.4f} | {v['test']['coverage@10']:.3f} | {v['test']['long_tail_share']:.3f} | {v['seconds']:.0f} |"
                for name, v in variants.items()]
    if "gflowgr" in m["metrics"]:
        g = m["metrics"]["gflowgr"]
        ablation.insert(0, f"| shipped ({names['gflowgr']}) | the [gflowgr] section | {shipped_valid:.4f} "
                           f"| {g['test']['standard']['recall@10']:.4f} | {g['test']['standard']['ndcg@10']:.4f} "
                           f"| {g['test']['standard']['coverage@10']:.3f} | {g['test']['standard']['long_tail_share']:.3f} "
                           f"| {m['training']['stageSeconds'].get('gflowgr', 0):.0f} |")
    seeds = _seed_groups(m, variants)
    seed_table = ("Seeds of the fine-tuning phase (same SFT checkpoint; test, standard protocol; mean ± sample std):\n\n"
                  "| setting | runs | R@5 | R@10 | N@5 | N@10 | coverage@10 | long-tail share |\n|---|---|---|---|---|---|---|---|\n"
                  + "\n".join(seeds)) if seeds else ""
    cfg = m["training"]["config"]
    g = cfg["gflowgr"]
    exported = cfg["export"]["checkpoint"]
    if exported.startswith("variant:"):  # a comparison run: say which, and how to export it again
        name = exported.removeprefix("variant:")
        command = (f"python -m gflowgr export --config configs/{cfg['name']}.toml --export.checkpoint={exported} "
                   f"--export.name={m['name']}" + (f" --export.notes={cfg['export']['notes']}" if cfg['export']['notes'] else ""))
        exported = (f"`{m['checkpoint']}`, the run `{name}` of the fine-tuning phase below: the shipped run's settings "
                    f"(next line) with {_overrides(cfg['variants'][name])}; exported beside the shipped model with `{command}`")
        phase, regenerate = "The shipped run's fine-tuning", f"`cd training && python -m gflowgr all --config configs/{cfg['name']}.toml`, then `{command}`"
    else:
        exported = f"`{m['checkpoint']}` (export.checkpoint = `{exported}`; `auto` takes the better validation NDCG@10 of SFT and GFlowGR)"
        phase, regenerate = "GFlowGR fine-tuning", f"`cd training && python -m gflowgr all --config configs/{cfg['name']}.toml`"
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in m["training"]["stageSeconds"].items())
    figures = "\n\n".join(f"![{p}](figures/{p})" for p in pictures)
    return f"""# Model card: {m['name']} {m['version']}

## Data
{m['dataset']['name']} ({m['dataset']['kind']}): {m['dataset']['users']} users, {m['dataset']['items']} items.
Split: {m['dataset']['split']}. History capped at the {m['maxHistory']} most recent items.
The data are for research use only; see the dataset's SOURCE.md.

## Model
Semantic IDs: {m['semanticIds']['levels']} levels, codebook sizes {m['semanticIds']['codebookSizes']}.
Policy: encoder-decoder, {m['onnxDims']['layers']} decoder layers, {m['onnxDims']['heads']} heads, head dim {m['onnxDims']['head_dim']}.
Checkpoint exported: {exported}.
{phase}: objective `{g['objective']}`, lambda {g['lam']}, N {g['n_trajectories']},
sampler `{g['sampler']}`, {g['epochs']} epochs at lr {g['lr']}, reward {g['reward']}.

## Training
Wall time per stage on the training machine: {seconds or 'not recorded'}.
Regenerate everything on this card (model, comparison rows, ablations, pictures):
{regenerate}.

## Test metrics (leave-one-out, whole catalogue, beam {m['decoding']['defaultBeamWidth']}, standard protocol)
The standard protocol ranks the whole catalogue as the papers do. Each row of ours is one run (seed {m['training']['config']['seed']});
the spread over seeds is under the ablations.

{header}
{chr(10).join(rows)}

History-masked protocol (items the user has seen are excluded, as the service does with `excludeSeen`):

{header}
{chr(10).join(masked)}

## Fine-tuning runs and ablations
Each starts from the same SFT checkpoint with the [gflowgr] settings above, changed as listed, and keeps its best
step on validation NDCG@10 over a fixed sample of {m['training']['config']['gflowgr']['eval_users'] or 'all'} validation users
(the "valid N@10" column); the test columns are the test users of the table above.

| run | changes | valid N@10 | test R@10 | test N@10 | coverage@10 | long-tail share | seconds |
|---|---|---|---|---|---|---|---|
{chr(10).join(ablation)}

{seed_table}

{figures}

{frontier.strip()}

{notes.strip()}

## Known limits
- Scores are log-probabilities under the policy restricted to real items; they are not calibrated click probabilities.
- Items added after export (`POST /v1/items`) get semantic IDs from their text, with the collaborative half borrowed from the catalogue items nearest by text; the policy never saw them in training.
- Users are hashed into {m['tokens']['userBuckets']} buckets; collisions share a user token.
"""
