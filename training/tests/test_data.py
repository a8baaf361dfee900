import pytest

from gflowgr import data
from gflowgr.errors import DataError


def test_ml100k_is_sorted_by_time_and_split_leave_one_out(datasets):
    ds = data.load("ml-100k", datasets / "ml-100k")
    assert (ds.n_items, len(ds.sequences), sum(map(len, ds.sequences.values()))) == (1682, 943, 100000)
    split = data.leave_one_out(ds)
    user, history, target = split.test[0]
    seq = ds.sequences[user]
    assert history == seq[:-1] and target == seq[-1] and split.valid[0][2] == seq[-2]
    assert split.train[user] == seq[:-2]


def test_amazon_and_ml1m_counts(datasets):
    beauty = data.load("amazon", datasets / "amazon-beauty")
    assert (beauty.n_items, len(beauty.sequences)) == (12101, 22363)
    assert beauty.items[0].external_id == "B004756YJA" and "Nail Polish" in beauty.items[0].text()
    ml1m = data.load("ml-1m", datasets / "ml-1m")
    assert (ml1m.n_items, len(ml1m.sequences)) == (3416, 6040)
    assert ml1m.items[0].title == "Toy Story (1995)"


def test_sliding_window_examples_cap_history():
    examples = data.training_examples({"u": list(range(30))}, max_history=20)
    assert len(examples) == 29
    assert examples[-1] == ("u", list(range(9, 29)), 29)


def _amazon_dir(tmp_path, sequences: str):
    (tmp_path / "item_meta.jsonl").write_text('{"item_id": 1, "asin": "A1", "title": "t", "brand": null, "categories": []}\n')
    (tmp_path / "seq.txt").write_text(sequences)
    return tmp_path


def test_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(DataError, match="missing data file: .*item_meta.jsonl"):
        data.load("amazon", tmp_path)
    with pytest.raises(DataError, match=r"seq.txt:2: expected 'user_id item_id"):
        data.load("amazon", _amazon_dir(tmp_path, "1 1\n2 x\n"))
    with pytest.raises(DataError, match=r"seq.txt:1: unknown item id 7"):
        data.load("amazon", _amazon_dir(tmp_path, "1 1 7\n"))
    with pytest.raises(DataError, match="unknown dataset kind"):
        data.load("netflix", tmp_path)


def test_withheld_items_leave_training_but_keep_their_test_cases():
    items = [data.Item(f"I{i}", title=f"item {i}") for i in range(20)]
    sequences = {f"u{u}": [(u + j) % 20 for j in range(6)] for u in range(20)}
    dataset = data.Dataset("toy", items, sequences)
    split = data.leave_one_out(dataset)
    reduced, reduced_split, cold = data.withhold_items(dataset, split, 0.1, seed=3)
    withheld = {item.external_id for item in cold.items}
    assert len(withheld) == 2 and reduced.n_items == 18
    assert not withheld & {item.external_id for item in reduced.items}
    # no withheld item anywhere in what the pipeline trains, selects or evaluates on
    ext = [item.external_id for item in reduced.items]
    seen = [ext[i] for seq in reduced_split.train.values() for i in seq]
    seen += [ext[i] for _, h, t in reduced_split.valid + reduced_split.test for i in [*h, t]]
    assert seen and not withheld & set(seen)
    # the indices of the kept items follow the order of the catalogue
    assert ext == [item.external_id for item in items if item.external_id not in withheld]
    # every test case survives for the cold-start evaluation, with its full history, in external ids
    assert len(cold.test) == len(split.test) == 20
    user, history, target = cold.test[0]
    assert history == [f"I{i}" for i in sequences[user][:-1]] and target == f"I{sequences[user][-1]}"
    assert sum(t in withheld for _, _, t in cold.test) == 20 - len(reduced_split.test)
    # a fixed sample: the same seed withholds the same items
    assert {i.external_id for i in data.withhold_items(dataset, split, 0.1, seed=3)[2].items} == withheld
    with pytest.raises(DataError, match="withholds none"):
        data.withhold_items(dataset, split, 0.01, seed=3)
