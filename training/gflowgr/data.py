"""Dataset loaders (the research data sets; your own data: generic.py) and the leave-one-out split.

Every loader returns a `Dataset`: items indexed 0..n-1 (the index is the model's item id), each with
an external id (ASIN, MovieLens MovieID) and display fields, and one chronological sequence per user.
"""
from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DataError


@dataclass
class Item:
    external_id: str
    title: str | None = None
    brand: str | None = None
    categories: list[str] = field(default_factory=list)
    description: str | None = None  # text for the tokenizer only (not shown by the service)

    def text(self) -> str:
        return " ".join(x for x in [self.title, self.brand, *self.categories, self.description] if x)


@dataclass
class Dataset:
    name: str
    items: list[Item]
    sequences: dict[str, list[int]]  # user id -> item indices, oldest first

    @property
    def n_items(self) -> int:
        return len(self.items)


@dataclass
class Split:
    """Leave-one-out: last item test, second-to-last validation, the rest training."""
    train: dict[str, list[int]]
    valid: list[tuple[str, list[int], int]]  # (user, full history before target, target)
    test: list[tuple[str, list[int], int]]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"missing data file: {path}")
    return path


def _read_sequence_file(path: Path, known_items: int) -> dict[str, list[int]]:
    """`user_id item_id item_id ...` with 1-based item ids; returns 0-based indices."""
    sequences: dict[str, list[int]] = {}
    with open(_require(path), encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2 or not all(p.isdigit() for p in parts):
                raise DataError(f"{path}:{line_no}: expected 'user_id item_id item_id ...' of integers, got {line.strip()[:80]!r}")
            items = [int(p) - 1 for p in parts[1:]]
            bad = [i + 1 for i in items if not 0 <= i < known_items]
            if bad:
                raise DataError(f"{path}:{line_no}: unknown item id {bad[0]} (catalogue has ids 1..{known_items})")
            sequences[parts[0]] = items
    if not sequences:
        raise DataError(f"{path}: no sequences")
    return sequences


def load_amazon(directory: str | Path, name: str = "amazon") -> Dataset:
    """Amazon 5-core sequences (`Beauty.txt`-style, any `*.txt`) with `item_meta.jsonl`."""
    directory = Path(directory)
    items: list[Item] = []
    meta_path = _require(directory / "item_meta.jsonl")
    with open(meta_path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                if row["item_id"] != line_no:
                    raise DataError(f"{meta_path}:{line_no}: item_id {row['item_id']} out of order (expected {line_no})")
                items.append(Item(row["asin"], row.get("title"), row.get("brand"), list(row.get("categories") or [])))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise DataError(f"{meta_path}:{line_no}: malformed item metadata ({e})") from None
    seq_files = sorted(p for p in directory.glob("*.txt") if p.name != "README.txt")
    if len(seq_files) != 1:
        raise DataError(f"{directory}: expected exactly one sequence file *.txt, found {[p.name for p in seq_files]}")
    return Dataset(name, items, _read_sequence_file(seq_files[0], len(items)))


def load_ml1m(directory: str | Path, name: str = "ml-1m") -> Dataset:
    """MovieLens-1M sequences; titles and genres through item_map.tsv and movies.dat."""
    directory = Path(directory)
    movies: dict[str, tuple[str, list[str]]] = {}
    movies_path = _require(directory / "movies.dat")
    with open(movies_path, encoding="iso-8859-1") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("::")
            if len(parts) != 3:
                raise DataError(f"{movies_path}:{line_no}: expected 'MovieID::Title::Genres'")
            movies[parts[0]] = (parts[1], parts[2].split("|"))
    items: list[Item] = []
    map_path = _require(directory / "item_map.tsv")
    with open(map_path, encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    for line_no, row in enumerate(rows[1:], 2):
        if len(row) != 2 or int(row[0]) != line_no - 1:
            raise DataError(f"{map_path}:{line_no}: expected 'item_id<TAB>movie_id' with consecutive item ids")
        if row[1] not in movies:
            raise DataError(f"{map_path}:{line_no}: movie id {row[1]} not in movies.dat")
        title, genres = movies[row[1]]
        items.append(Item(row[1], title, None, genres))
    return Dataset(name, items, _read_sequence_file(directory / "ml-1m_sequences.txt", len(items)))


def load_ml100k(directory: str | Path, name: str = "ml-100k") -> Dataset:
    """MovieLens-100K RecBole atomic files; each user's ratings sorted by (timestamp, item)."""
    directory = Path(directory)
    item_path = _require(directory / "ml-100k.item")
    items: list[Item] = []
    index: dict[str, int] = {}
    with open(item_path, encoding="utf-8", errors="replace") as f:
        next(f)
        for line_no, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise DataError(f"{item_path}:{line_no}: expected 4 tab-separated fields")
            index[parts[0]] = len(items)
            items.append(Item(parts[0], f"{parts[1]} ({parts[2]})", None, parts[3].split()))
    inter_path = _require(directory / "ml-100k.inter")
    events: dict[str, list[tuple[float, int]]] = {}
    with open(inter_path, encoding="utf-8") as f:
        next(f)
        for line_no, line in enumerate(f, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise DataError(f"{inter_path}:{line_no}: expected 4 tab-separated fields")
            if parts[1] not in index:
                raise DataError(f"{inter_path}:{line_no}: unknown item id {parts[1]}")
            try:
                events.setdefault(parts[0], []).append((float(parts[3]), index[parts[1]]))
            except ValueError:
                raise DataError(f"{inter_path}:{line_no}: timestamp {parts[3]!r} is not a number") from None
    sequences = {u: [i for _, i in sorted(ev)] for u, ev in sorted(events.items(), key=lambda kv: int(kv[0]))}
    return Dataset(name, items, sequences)


LOADERS = {"amazon": load_amazon, "ml-1m": load_ml1m, "ml-100k": load_ml100k}


def load(kind: str, directory: str | Path, name: str | None = None) -> Dataset:
    if kind not in LOADERS:
        raise DataError(f"unknown dataset kind {kind!r}; expected one of {sorted(LOADERS)}")
    return LOADERS[kind](directory, name or kind)


def leave_one_out(dataset: Dataset, min_length: int = 3) -> Split:
    train, valid, test = {}, [], []
    for user, seq in dataset.sequences.items():
        if len(seq) < min_length:
            continue
        train[user] = seq[:-2]
        valid.append((user, seq[:-2], seq[-2]))
        test.append((user, seq[:-1], seq[-1]))
    if not valid:
        raise DataError(f"{dataset.name}: no user has at least {min_length} interactions")
    return Split(train, valid, test)


@dataclass
class ColdStart:
    """Items withheld from training to measure cold start: their content, to add them to a served model as new
    items, and every test case in external ids (the full history and the target, withheld or not)."""
    items: list[Item]
    test: list[tuple[str, list[str], str]]


def withhold_items(dataset: Dataset, split: Split, fraction: float, seed: int) -> tuple[Dataset, Split, ColdStart]:
    """Removes a fixed random `fraction` of the items from the catalogue and from every training sequence and
    history, re-indexing the rest; validation and test cases whose target is withheld are dropped from the
    pipeline's own evaluation (the cold-start evaluation scores them through the service, from ColdStart)."""
    n_withheld = round(fraction * dataset.n_items)
    if not 0 < n_withheld < dataset.n_items:
        raise DataError(f"{dataset.name}: withholding {fraction} of {dataset.n_items} items leaves no item or withholds none")
    withheld = set(random.Random(seed).sample(range(dataset.n_items), n_withheld))
    new_index = {old: new for new, old in enumerate(i for i in range(dataset.n_items) if i not in withheld)}
    keep = lambda seq: [new_index[i] for i in seq if i in new_index]  # noqa: E731
    ext = [item.external_id for item in dataset.items]
    cold = ColdStart([dataset.items[i] for i in sorted(withheld)],
                     [(u, [ext[i] for i in history], ext[target]) for u, history, target in split.test])
    reduced = Dataset(dataset.name, [item for i, item in enumerate(dataset.items) if i in new_index],
                      {u: keep(seq) for u, seq in dataset.sequences.items()})
    cases = lambda cs: [(u, keep(history), new_index[t]) for u, history, t in cs if t in new_index]  # noqa: E731
    return reduced, Split({u: keep(seq) for u, seq in split.train.items()}, cases(split.valid), cases(split.test)), cold


def training_examples(train: dict[str, list[int]], max_history: int) -> list[tuple[str, list[int], int]]:
    """Sliding-window targets: every item of a training sequence after the first, with its recent history."""
    return [(u, seq[max(0, t - max_history):t], seq[t]) for u, seq in train.items() for t in range(1, len(seq))]


def item_popularity(train: dict[str, list[int]], n_items: int) -> list[int]:
    counts = [0] * n_items
    for seq in train.values():
        for i in seq:
            counts[i] += 1
    return counts
