"""Writes a split's leave-one-out cases in external ids, one JSON object per line ({"userId", "history" oldest
first, "target"}), so that an exported model can be scored through the service's own decoder
(scripts/evaluate.mjs) on exactly the cases of its model card.

    python -m gflowgr.cases --config configs/beauty-gflowgr.toml [--split test|valid] > beauty-test.jsonl

The training sequences are the test histories without their last item, so the scorer derives the training
popularity (long-tail share) from the test file itself.
"""
from __future__ import annotations

import json
import sys

from . import data
from .config import load_config
from .errors import DataError
from .generic import load_dataset


def main(argv: list[str]) -> int:
    if "--config" not in argv or argv.index("--config") + 1 >= len(argv):
        print("usage: python -m gflowgr.cases --config FILE [--split test|valid]", file=sys.stderr)
        return 2
    split_name = argv[argv.index("--split") + 1] if "--split" in argv else "test"
    if split_name not in ("test", "valid"):
        print(f"error: --split must be test or valid, not {split_name!r}", file=sys.stderr)
        return 2
    cfg = load_config(argv[argv.index("--config") + 1])
    try:
        dataset = load_dataset(cfg)[0]
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for case in external_cases(dataset, getattr(data.leave_one_out(dataset), split_name)):
        print(json.dumps(case, ensure_ascii=False))
    return 0


def external_cases(dataset: data.Dataset, cases) -> list[dict]:
    """Leave-one-out cases (user, item indices, target index) in external ids, in their order."""
    ext = [item.external_id for item in dataset.items]
    return [{"userId": user, "history": [ext[i] for i in history], "target": ext[target]} for user, history, target in cases]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
