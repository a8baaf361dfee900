"""CLI: python -m gflowgr <stage|all> [--config configs/x.toml] [--section.key=value ...]"""
import sys

from .config import load_config
from .errors import DataError
from .stages import STAGES, run_all

USAGE = f"usage: python -m gflowgr <{'|'.join(['all', *STAGES])}> [--config FILE] [--section.key=value ...]"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("all", *STAGES):
        print(USAGE, file=sys.stderr)
        return 2
    stage, rest, config_path = argv[0], argv[1:], None
    if "--config" in rest:
        at = rest.index("--config")
        if at + 1 >= len(rest):
            print("--config needs a file", file=sys.stderr)
            return 2
        config_path = rest[at + 1]
        rest = rest[:at] + rest[at + 2:]
    try:
        cfg = load_config(config_path, rest)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        run_all(cfg, None if stage == "all" else [stage])
    except DataError as e:  # bad input data: one line naming the file and row, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
