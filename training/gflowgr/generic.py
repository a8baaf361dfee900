"""Your own data: interactions as CSV, TSV or JSON Lines, items (optional) as CSV, TSV or JSON Lines.

Interactions need a user, an item and a timestamp (ISO 8601 or a number, e.g. Unix seconds); an event type
and a weight are optional. Items need an id; title, brand, categories and description are optional and
give the tokenizer its text. Column names are configurable ([data] in the experiment config). This is also
the format the service exports what it recorded in (GET /v1/admin/events, npm run export-events).

Cleaning, reported with counts: malformed rows are refused with the file and line named; exact duplicates
(same user, item and timestamp) and interactions with items missing from the items file are dropped;
optionally only some event types are kept; then the k-core filter (every user and every item with at
least k interactions, repeated until stable) and a minimum history length per user.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .data import Dataset, Item, load
from .errors import DataError


@dataclass
class GenericDataConfig:
    interactions: str = "interactions.csv"   # relative to dataset_path; format from the extension (.csv, .tsv, .jsonl)
    items: str = ""                          # optional: items with display text
    user_column: str = "user_id"
    item_column: str = "item_id"
    timestamp_column: str = "timestamp"
    event_type_column: str = "event_type"    # optional column
    weight_column: str = "weight"            # optional column (read and validated; the sequence models ignore it)
    event_types: list = field(default_factory=list)  # keep only these event types (empty: all)
    item_id_column: str = "item_id"
    title_column: str = "title"
    brand_column: str = "brand"
    categories_column: str = "categories"    # a JSON list in JSON Lines; separated by categories_separator in CSV/TSV
    categories_separator: str = "|"
    description_column: str = "description"
    k_core: int = 0                          # 0: off
    min_history: int = 3                     # users with fewer interactions are dropped (leave-one-out needs 3)


def _rows(path: Path, required: list[str]):
    """(line number, row dict) of a CSV, TSV or JSON Lines file (UTF-8, a byte order mark is allowed).

    A CSV/TSV header must name every required column, and no column twice."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson"):
        raise DataError(f"{path}: unknown format {suffix!r}; use .csv, .tsv or .jsonl")
    line_no = 0
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            if suffix in (".jsonl", ".ndjson"):
                for line_no, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise DataError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
                    if not isinstance(row, dict):
                        raise DataError(f"{path}:{line_no}: expected a JSON object")
                    yield line_no, row
                return
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            try:
                names = reader.fieldnames or []
                twice = sorted({n for n in names if names.count(n) > 1})
                if twice:
                    raise DataError(f"{path}:1: the header names {', '.join(twice)} twice")
                missing = [c for c in required if c not in names]
                if missing:
                    raise DataError(f"{path}:1: the header lacks {', '.join(missing)} (it has {', '.join(names) or 'nothing'})")
                for row in reader:
                    line_no = reader.line_num
                    if None in row or any(v is None for v in row.values()):
                        raise DataError(f"{path}:{line_no}: expected {len(names)} fields ({', '.join(names)})")
                    yield line_no, row
            except csv.Error as e:
                raise DataError(f"{path}:{reader.line_num}: {e}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 (after line {line_no}: {e.reason})") from None


def _text(value, path: Path, line_no: int, column: str, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise DataError(f"{path}:{line_no}: {column} is missing")
        return None
    if isinstance(value, (dict, list)):
        raise DataError(f"{path}:{line_no}: {column} must be a string or a number, got {json.dumps(value)[:40]}")
    return str(value).strip()


def _id(value, path: Path, line_no: int, column: str) -> str:
    """A user or item id: a string, or an integer in JSON (7 and "7" are the same id; 7.0 is refused)."""
    if isinstance(value, bool) or isinstance(value, float) or isinstance(value, (dict, list)):
        raise DataError(f"{path}:{line_no}: {column} must be a string or an integer, got {json.dumps(value)[:40]}")
    return _text(value, path, line_no, column, True)


def _timestamp(value, path: Path, line_no: int, column: str) -> tuple[float, str]:
    """-> (Unix seconds, "number" or "iso"). An ISO 8601 date-time without a zone is UTC, not the machine's zone."""
    if isinstance(value, bool):
        raise DataError(f"{path}:{line_no}: {column} must be a number or an ISO 8601 date-time, got {json.dumps(value)}")
    text = _text(value, path, line_no, column, True)
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise DataError(f"{path}:{line_no}: {column} {text!r} is not a finite number")
        return seconds, "number"
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{path}:{line_no}: {column} {text!r} is neither a number nor an ISO 8601 date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp(), "iso"


def _weight(value, path: Path, line_no: int, column: str) -> None:
    if value in (None, ""):
        return
    try:
        weight = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        weight = math.nan
    if not (math.isfinite(weight) and weight >= 0):
        raise DataError(f"{path}:{line_no}: {column} {value!r} must be a finite number >= 0")


def _items(path: Path, cfg: GenericDataConfig) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for line_no, row in _rows(path, [cfg.item_id_column]):
        item_id = _id(row.get(cfg.item_id_column), path, line_no, cfg.item_id_column)
        if item_id in items:
            raise DataError(f"{path}:{line_no}: item {item_id!r} is listed twice")
        raw = row.get(cfg.categories_column)
        if isinstance(raw, list):
            categories = [str(c).strip() for c in raw if str(c).strip()]
        else:
            text = _text(raw, path, line_no, cfg.categories_column, False)
            categories = [c.strip() for c in text.split(cfg.categories_separator) if c.strip()] if text else []
        items[item_id] = Item(item_id, _text(row.get(cfg.title_column), path, line_no, cfg.title_column, False),
                              _text(row.get(cfg.brand_column), path, line_no, cfg.brand_column, False), categories,
                              _text(row.get(cfg.description_column), path, line_no, cfg.description_column, False))
    if not items:
        raise DataError(f"{path}: no items")
    return items


def k_core(events: dict[str, list], k: int) -> dict[str, list]:
    """Keeps the interactions whose user and item both have at least k of them, until nothing changes."""
    while True:
        item_count: dict[str, int] = {}
        for evs in events.values():
            for _, _, item in evs:
                item_count[item] = item_count.get(item, 0) + 1
        kept = {u: [e for e in evs if item_count[e[2]] >= k] for u, evs in events.items()}
        kept = {u: evs for u, evs in kept.items() if len(evs) >= k}
        if sum(map(len, kept.values())) == sum(map(len, events.values())):
            return kept
        events = kept


def load_generic(directory: str | Path, cfg: GenericDataConfig, name: str = "generic") -> tuple[Dataset, dict]:
    """-> the dataset and a report of what was read, dropped and kept (counts)."""
    directory = Path(directory)
    inter_path = directory / cfg.interactions
    if not inter_path.is_file():
        raise DataError(f"missing data file: {inter_path}")
    known = _items(directory / cfg.items, cfg) if cfg.items else None
    report = {"rows": 0, "duplicates": 0, "unknown_items": 0, "other_event_types": 0}
    seen: set[tuple[str, str, float]] = set()
    events: dict[str, list[tuple[float, int, str]]] = {}
    first_kind: dict[str, int] = {}  # "number" / "iso" -> the first line using it: mixing them is refused
    for line_no, row in _rows(inter_path, [cfg.user_column, cfg.item_column, cfg.timestamp_column]):
        report["rows"] += 1
        user = _id(row.get(cfg.user_column), inter_path, line_no, cfg.user_column)
        item = _id(row.get(cfg.item_column), inter_path, line_no, cfg.item_column)
        when, kind = _timestamp(row.get(cfg.timestamp_column), inter_path, line_no, cfg.timestamp_column)
        first_kind.setdefault(kind, line_no)
        if len(first_kind) > 1:
            raise DataError(f"{inter_path}:{line_no}: {cfg.timestamp_column} mixes numbers (line {first_kind['number']}) "
                            f"and ISO dates (line {first_kind['iso']})")
        event_type = _text(row.get(cfg.event_type_column), inter_path, line_no, cfg.event_type_column, False)
        _weight(row.get(cfg.weight_column), inter_path, line_no, cfg.weight_column)
        if cfg.event_types and event_type not in cfg.event_types:
            report["other_event_types"] += 1
            continue
        if known is not None and item not in known:
            report["unknown_items"] += 1
            continue
        if (user, item, when) in seen:
            report["duplicates"] += 1
            continue
        seen.add((user, item, when))
        events.setdefault(user, []).append((when, line_no, item))
    if cfg.k_core > 0:
        before = sum(map(len, events.values()))
        events = k_core(events, cfg.k_core)
        report["dropped_by_k_core"] = before - sum(map(len, events.values()))
    short = [u for u, evs in events.items() if len(evs) < cfg.min_history]
    report["users_below_min_history"] = len(short)
    for u in short:
        del events[u]
    if not events:
        raise DataError(f"{inter_path}: no user is left with at least {cfg.min_history} interactions after cleaning ({report})")
    used = sorted({item for evs in events.values() for _, _, item in evs})
    items = [known[i] for i in used] if known is not None else [Item(i) for i in used]
    index = {item.external_id: i for i, item in enumerate(items)}
    sequences = {u: [index[item] for _, _, item in sorted(evs)] for u, evs in sorted(events.items())}
    report.update(users=len(sequences), items=len(items), interactions=sum(map(len, sequences.values())))
    return Dataset(name, items, sequences), report


def load_dataset(cfg) -> tuple[Dataset, dict | None]:
    """The data set a config names: a generic interactions file with its cleaning report, or one of the named
    data sets (no report)."""
    if cfg.dataset_kind == "generic":
        return load_generic(cfg.dataset_path, cfg.data, cfg.name)
    return load(cfg.dataset_kind, cfg.dataset_path), None
