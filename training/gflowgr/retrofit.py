"""A content encoder for a model exported without one (format 1, or a run whose tokenizer files are gone), so
that the service can place new items in it without retraining.

The exported semantic IDs are kept as they are; what is fitted is a quantiser that reproduces them from text:
TF-IDF and SVD on the catalogue's item text, as the tokenizer does, then, level by level, each code's centre is
the mean residual of the items that carry it (the k-means update step with the exported codes as the
assignment). The collaborative half is left out (cm_weight 0): the CM embeddings the original tokenizer fused are
not part of an export. How often the encoder gives a catalogue item its own codes back is reported, per level.

    python -m gflowgr.retrofit --config configs/beauty-gflowgr.toml [--model ../models/beauty-gflowgr]

rewrites the model directory's tokenizer files and manifest (formatVersion 2, hashes).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import data
from .config import TRAINING_DIR, load_config
from .errors import DataError
from .export import sha256, write_content_encoder
from .generic import load_dataset
from .tokenizer import ContentEncoder, _normalise, content_encoder, text_embeddings

FAR = 1e4  # centre of a code no catalogue item carries: never the nearest


def retrofit(items: list[data.Item], codes: np.ndarray, codebook_sizes: list[int], text_dim: int, seed: int) -> ContentEncoder:
    """codes [n, levels]: the exported semantic IDs without their last (uniqueness) code."""
    fitted = text_embeddings([item.text() for item in items], text_dim, seed)
    if fitted is None:
        raise DataError("the catalogue has no text to fit a content encoder on")
    embeddings, tfidf, svd = fitted
    text = _normalise(embeddings)
    residual, centres = text.astype(np.float64), []
    for level, size in enumerate(codebook_sizes):
        c = np.full((size, residual.shape[1]), FAR)
        for code in np.unique(codes[:, level]):
            c[code] = residual[codes[:, level] == code].mean(0)
        centres.append(c)
        residual = residual - c[codes[:, level]]
    return content_encoder(tfidf, svd, text, None, centres, text_weight=1.0, cm_weight=0.0)


def agreement(encoder: ContentEncoder, items: list[data.Item], codes: np.ndarray) -> list[float]:
    """Per level: the share of catalogue items whose encoded prefix up to that level equals their exported one."""
    encoded = np.array([encoder.encode(item.text()) for item in items])
    return [float((encoded[:, :level + 1] == codes[:, :level + 1]).all(1).mean()) for level in range(codes.shape[1])]


def main(argv: list[str]) -> int:
    if "--config" not in argv or argv.index("--config") + 1 >= len(argv):
        print("usage: python -m gflowgr.retrofit --config FILE [--model DIR]", file=sys.stderr)
        return 2
    cfg = load_config(argv[argv.index("--config") + 1])
    model = Path(argv[argv.index("--model") + 1]) if "--model" in argv else TRAINING_DIR.parent / "models" / cfg.name
    manifest = json.loads((model / "manifest.json").read_text())
    dataset = load_dataset(cfg)[0]
    by_id = {item.external_id: item for item in dataset.items}
    rows = [json.loads(line) for line in (model / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    missing = [r["itemId"] for r in rows if r["itemId"] not in by_id]
    if missing:
        print(f"error: {len(missing)} catalogue items are not in {cfg.dataset_path}, e.g. {missing[:3]}", file=sys.stderr)
        return 2
    items = [by_id[r["itemId"]] for r in rows]
    sizes = manifest["semanticIds"]["codebookSizes"][:-1]
    codes = np.array([r["semanticId"][:-1] for r in rows])
    encoder = retrofit(items, codes, sizes, cfg.tokenizer.text_dim, cfg.seed)
    share = agreement(encoder, items, codes)
    method = ("TF-IDF (lowercase, tokens of \\w, sublinear tf, idf, l2) -> SVD projection -> l2; no collaborative half; residual "
              "quantisation against centres fitted after export (gflowgr.retrofit): each code's centre is the mean residual of the "
              "catalogue items that carry it, so that new items land among the items with the most similar text; catalogue items "
              f"get their own prefix back at level 1..{len(sizes)}: {', '.join(f'{s:.3f}' for s in share)}")
    manifest["tokenizer"] = write_content_encoder(encoder, items, cfg.seed, model, method)
    manifest["formatVersion"] = max(manifest["formatVersion"], 2)
    (model / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps({"model": str(model), "items": len(items), "prefix_agreement_per_level": share,
                      "tokenizer_sha256": sha256(model / "tokenizer.json")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
