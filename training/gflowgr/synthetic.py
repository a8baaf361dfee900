"""A small synthetic shop to try the pipeline on your own-data path: items with text, and users whose
sessions follow learnable patterns (topics they like, topics that go together, popular items).

    python -m gflowgr.synthetic --out ../data/example [--users 3000] [--items 600] [--seed 1]

writes interactions.csv (user_id, item_id, timestamp, event_type) and items.jsonl (item_id, title, brand,
categories, description), the generic format of generic.py.
"""
from __future__ import annotations

import argparse
import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

TOPICS = {
    "Skin Care": ["moisturizer", "serum", "cleanser", "toner", "face mask", "eye cream"],
    "Makeup": ["foundation", "mascara", "lipstick", "eyeliner", "blush", "concealer"],
    "Hair Care": ["shampoo", "conditioner", "hair oil", "hair mask", "styling gel", "dry shampoo"],
    "Fragrance": ["eau de parfum", "eau de toilette", "body mist", "cologne", "perfume oil", "solid perfume"],
    "Nails": ["nail polish", "top coat", "base coat", "nail file", "cuticle oil", "polish remover"],
    "Bath & Body": ["body wash", "body lotion", "bath salts", "body scrub", "hand cream", "shower oil"],
    "Sun Care": ["sunscreen", "after-sun gel", "tinted sunscreen", "lip balm spf", "sun spray", "self tanner"],
    "Men's Grooming": ["beard oil", "shaving cream", "aftershave", "razor", "face wash for men", "beard balm"],
}
# topics bought one after the other (a routine: cleanse, then treat, then protect)
NEXT = {"Skin Care": "Sun Care", "Makeup": "Skin Care", "Hair Care": "Bath & Body", "Fragrance": "Bath & Body",
        "Nails": "Makeup", "Bath & Body": "Fragrance", "Sun Care": "Skin Care", "Men's Grooming": "Fragrance"}
ADJECTIVES = ["hydrating", "gentle", "radiant", "matte", "nourishing", "lightweight", "long-lasting", "soothing",
              "refreshing", "intense", "daily", "overnight", "organic", "sensitive", "volumizing", "clarifying"]
BRAND_STEMS = ["Luma", "Verra", "Oaken", "Solis", "Mira", "Kaito", "Nordic", "Petal", "Amber", "Ivy", "Rook",
               "Sable", "Cove", "Lark", "Fenn", "Juno", "Opal", "Wren", "Zephyr", "Briar"]


def generate(out: Path, users: int = 3000, items: int = 600, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    topics = list(TOPICS)
    brands = {t: [f"{rng.choice(BRAND_STEMS)} {t.split()[0]}" for _ in range(4)] for t in topics}
    catalogue = []
    by_topic: dict[str, list[int]] = {t: [] for t in topics}
    for i in range(items):
        topic = topics[i % len(topics)]
        noun = str(rng.choice(TOPICS[topic]))
        adjective = str(rng.choice(ADJECTIVES))
        brand = str(rng.choice(brands[topic]))
        catalogue.append({
            "item_id": f"SKU{i:05d}",
            "title": f"{brand} {adjective.capitalize()} {noun.title()}",
            "brand": brand,
            "categories": [topic, noun.title()],
            "description": f"A {adjective} {noun} for every day, from {brand}'s {topic.lower()} line.",
        })
        by_topic[topic].append(i)
    popularity = rng.zipf(1.6, items).astype(float)  # a few best sellers, a long tail
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "items.jsonl", "w", encoding="utf-8") as f:
        for item in catalogue:
            f.write(json.dumps(item) + "\n")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open(out / "interactions.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["user_id", "item_id", "timestamp", "event_type"])
        for u in range(users):
            likes = rng.dirichlet(np.full(len(topics), 0.3))  # each user cares about a few topics
            length = 4 + int(rng.geometric(0.12))
            when = start + timedelta(hours=float(rng.uniform(0, 24 * 60)))
            topic = topics[int(rng.choice(len(topics), p=likes))]
            seen: set[int] = set()
            for _ in range(length):
                pool = [i for i in by_topic[topic] if i not in seen]
                if not pool:
                    break
                weights = popularity[pool] / popularity[pool].sum()
                item = pool[int(rng.choice(len(pool), p=weights))]
                seen.add(item)
                writer.writerow([f"user{u:05d}", catalogue[item]["item_id"], when.isoformat().replace("+00:00", "Z"),
                                 "purchase" if rng.random() < 0.2 else "view"])
                when += timedelta(minutes=float(rng.exponential(90)))
                roll = rng.random()
                topic = topic if roll < 0.5 else NEXT[topic] if roll < 0.8 else topics[int(rng.choice(len(topics), p=likes))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.users, args.items, args.seed)
    print(f"wrote {args.out / 'interactions.csv'} and {args.out / 'items.jsonl'}")


if __name__ == "__main__":
    main()
