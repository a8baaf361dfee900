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
