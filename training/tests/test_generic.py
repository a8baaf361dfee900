"""Your own data: the generic loader, its cleaning report and its refusals, and the synthetic example shop."""
import json

import pytest

from gflowgr.errors import DataError
from gflowgr.generic import GenericDataConfig, k_core, load_generic
from gflowgr.synthetic import generate


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_tsv_and_jsonl_give_the_same_dataset(tmp_path):
    rows = [("u1", "a", 3), ("u1", "b", 1), ("u1", "c", 2), ("u2", "a", 1), ("u2", "b", 2), ("u2", "c", 3)]
    write(tmp_path / "i.csv", "user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
    write(tmp_path / "i.tsv", "user_id\titem_id\ttimestamp\n" + "".join(f"{u}\t{i}\t{t}\n" for u, i, t in rows))
    write(tmp_path / "i.jsonl", "".join(json.dumps({"user_id": u, "item_id": i, "timestamp": t}) + "\n" for u, i, t in rows))
    datasets = [load_generic(tmp_path, GenericDataConfig(interactions=f"i.{ext}"))[0] for ext in ("csv", "tsv", "jsonl")]
    for d in datasets:
        ids = [d.items[i].external_id for i in d.sequences["u1"]]
        assert ids == ["b", "c", "a"], "each user's events in timestamp order"
    assert all(d.sequences == datasets[0].sequences for d in datasets)


def test_columns_are_configurable_and_items_give_text(tmp_path):
    write(tmp_path / "events.csv", "who,what,when,kind\nu1,x,2026-01-01T10:00:00Z,view\nu1,y,2026-01-01T10:30:00+01:00,buy\n"
          "u1,z,2026-01-01T12:00:00Z,view\nu1,w,2026-01-01T13:00:00Z,view\n")
    write(tmp_path / "items.csv", "sku,name,maker,tags\nx,Red Lipstick,Acme,Makeup|Lips\ny,Blue Polish,Acme,Nails\nz,Serum,Bee,Skin\n")
    cfg = GenericDataConfig(interactions="events.csv", items="items.csv", user_column="who", item_column="what", timestamp_column="when",
                            event_type_column="kind", item_id_column="sku", title_column="name", brand_column="maker", categories_column="tags")
    dataset, report = load_generic(tmp_path, cfg)
    assert [dataset.items[i].external_id for i in dataset.sequences["u1"]] == ["y", "x", "z"]  # 10:30+01:00 is before 10:00Z
    assert report["unknown_items"] == 1  # w is not in items.csv
    item = dataset.items[dataset.sequences["u1"][1]]
    assert (item.title, item.brand, item.categories) == ("Red Lipstick", "Acme", ["Makeup", "Lips"])


def test_cleaning_is_reported_with_counts(tmp_path):
    lines = ["user_id,item_id,timestamp,event_type"]
    lines += [f"u{u},i{i},{u * 10 + i},view" for u in range(5) for i in range(4)]
    lines += ["u0,i0,0,view", "u0,i0,0,view"]          # two exact duplicates
    lines += ["u9,i1,1,view", "u9,i2,2,view"]          # a user with too short a history
    lines += ["u1,rare,99,view"]                       # an item seen once: k-core drops it
    lines += ["u2,i1,100,click"]                       # another event type
    write(tmp_path / "i.csv", "\n".join(lines) + "\n")
    dataset, report = load_generic(tmp_path, GenericDataConfig(interactions="i.csv", k_core=2, min_history=3, event_types=["view"]))
    assert report["duplicates"] == 2 and report["other_event_types"] == 1
    assert report["dropped_by_k_core"] == 1 and report["users_below_min_history"] == 1  # 'rare' goes with the 2-core, u9 with min_history
    assert report["users"] == 5 and report["items"] == 4 and report["interactions"] == 20
    assert "u9" not in dataset.sequences


@pytest.mark.parametrize("text, message", [
    ("user_id,item_id,timestamp\nu1,a,1\nu1,b\n", r"i.csv:3: expected 3 fields"),
    ("user_id,item_id,timestamp\nu1,a,yesterday\n", r"i.csv:2: timestamp 'yesterday' is neither a number nor an ISO 8601"),
    ("user_id,item_id,timestamp\nu1,,1\n", r"i.csv:2: item_id is missing"),
    ("user_id,item_id,timestamp,weight\nu1,a,1,heavy\n", r"i.csv:2: weight 'heavy' must be a finite number >= 0"),
])
def test_malformed_rows_are_refused_with_the_file_and_line(tmp_path, text, message):
    write(tmp_path / "i.csv", text)
    with pytest.raises(DataError, match=message):
        load_generic(tmp_path, GenericDataConfig(interactions="i.csv"))


def test_malformed_json_lines_and_unknown_formats_are_refused(tmp_path):
    write(tmp_path / "i.jsonl", '{"user_id": "u", "item_id": "a", "timestamp": 1}\n{not json}\n')
    with pytest.raises(DataError, match=r"i.jsonl:2: not valid JSON"):
        load_generic(tmp_path, GenericDataConfig(interactions="i.jsonl"))
    write(tmp_path / "i.xlsx", "")
    with pytest.raises(DataError, match=r"unknown format '.xlsx'"):
        load_generic(tmp_path, GenericDataConfig(interactions="i.xlsx"))
    with pytest.raises(DataError, match="missing data file"):
        load_generic(tmp_path, GenericDataConfig(interactions="nope.csv"))


def test_k_core_repeats_until_stable():
    events = {"a": [(1, 0, "x"), (2, 0, "y")], "b": [(1, 0, "x"), (2, 0, "z")], "c": [(1, 0, "z")]}
    assert k_core(events, 2) == {}  # removing y and c leaves x and z once each, then nothing


def test_the_synthetic_shop_loads_with_text_and_learnable_structure(tmp_path):
    generate(tmp_path, users=300, items=80, seed=3)
    dataset, report = load_generic(tmp_path, GenericDataConfig(items="items.jsonl", k_core=3))
    assert report["users"] > 250 and report["items"] > 60
    assert all(item.title and item.categories for item in dataset.items)
    # sessions stay in a topic more often than chance (1/8): there is something to learn
    same = total = 0
    for seq in dataset.sequences.values():
        for a, b in zip(seq, seq[1:]):
            same += dataset.items[a].categories[0] == dataset.items[b].categories[0]
            total += 1
    assert same / total > 0.3


@pytest.mark.parametrize("content, message", [
    (b"user_id,item_id,timestamp\nu1,a,nan\n", r"i.csv:2: timestamp 'nan' is not a finite number"),
    (b"user_id,item_id,timestamp\nu1,a,1700000000\nu1,b,2026-01-01T00:00:00Z\n", r"i.csv:3: timestamp mixes numbers \(line 2\) and ISO dates \(line 3\)"),
    (b"user_id,item_id,timestamp,weight\nu1,a,1,-5\n", r"i.csv:2: weight '-5' must be a finite number >= 0"),
    (b"user_id,item_id,timestamp,weight\nu1,a,1,inf\n", r"i.csv:2: weight 'inf' must be a finite number >= 0"),
    (b"user,item,when\nu1,a,1\n", r"i.csv:1: the header lacks user_id, item_id, timestamp"),
    (b"user_id,item_id,user_id,timestamp\nu1,a,u2,1\n", r"i.csv:1: the header names user_id twice"),
    (b"user_id,item_id,timestamp\nu1,caf\xe9,1\n", r"i.csv: not UTF-8"),
    (b"user_id,item_id,timestamp\nu1,\"" + b"x" * (1 << 21) + b"\",1\n", r"i.csv:\d+: field larger than field limit"),
])
def test_hostile_files_are_refused_with_the_file_and_line(tmp_path, content, message):
    (tmp_path / "i.csv").write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_generic(tmp_path, GenericDataConfig(interactions="i.csv"))


def test_a_byte_order_mark_utc_default_and_integer_ids(tmp_path):
    (tmp_path / "i.csv").write_bytes("\ufeffuser_id,item_id,timestamp\nu1,a,2026-01-01T10:00:00\nu1,b,2026-01-01T09:00:00+00:00\nu1,c,2026-01-01T11:00:00Z\n".encode())
    dataset, _ = load_generic(tmp_path, GenericDataConfig(interactions="i.csv"))
    assert [dataset.items[i].external_id for i in dataset.sequences["u1"]] == ["b", "a", "c"], "no zone: UTC, not the machine's zone"
    write(tmp_path / "j.jsonl", '{"user_id": 1, "item_id": 7, "timestamp": 1}\n{"user_id": 1, "item_id": 8, "timestamp": 2}\n{"user_id": 1, "item_id": 9, "timestamp": 3}\n')
    assert list(load_generic(tmp_path, GenericDataConfig(interactions="j.jsonl"))[0].sequences) == ["1"]
    write(tmp_path / "k.jsonl", '{"user_id": 1.0, "item_id": 7, "timestamp": 1}\n')
    with pytest.raises(DataError, match=r"k.jsonl:1: user_id must be a string or an integer"):
        load_generic(tmp_path, GenericDataConfig(interactions="k.jsonl"))


def test_the_cli_names_bad_data_in_one_line_and_exits_2(tmp_path, capsys):
    from gflowgr.__main__ import main
    write(tmp_path / "interactions.jsonl", '{"user_id": "u1", "item_id": "a", "timestamp": NaN}\n')
    code = main(["prepare", "--config", "configs/smoke-generic.toml", f"--dataset_path={tmp_path}", f"--run_dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'interactions.jsonl'}:1: timestamp 'nan' is not a finite number"
