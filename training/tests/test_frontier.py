"""The frontier's aggregation: points over seeds, and NDCG@10 read off a curve at a coverage."""
import pytest

from gflowgr.frontier import ndcg_at, points, section


def run(model, strategy, temperature, seed, ndcg, coverage):
    return {"model": model, "strategy": strategy, "temperature": temperature, "seed": seed, "recall@5": 0.0,
            "recall@10": 0.0, "ndcg@5": 0.0, "ndcg@10": ndcg, "coverage@10": coverage, "long_tail_share": 0.0, "gini": 0.0}


RUNS = [run("A", "sample", 1.0, 1, 0.010, 0.90), run("A", "beam", None, None, 0.040, 0.30),
        run("A", "sample", 0.5, 1, 0.020, 0.70), run("A", "sample", 0.5, 2, 0.030, 0.70),
        run("B", "beam", None, None, 0.035, 0.25)]


def test_points_are_means_over_seeds_in_decoding_order():
    curves = points(RUNS)
    a = curves["A"]
    assert [(p["strategy"], p["temperature"], p["runs"]) for p in a] == [("beam", None, 1), ("sample", 0.5, 2), ("sample", 1.0, 1)]
    assert a[1]["ndcg@10"] == pytest.approx(0.025) and a[1]["ndcg@10_std"] == pytest.approx(0.00707, abs=1e-5)
    assert a[0]["ndcg@10_std"] == 0.0 and list(curves) == ["A", "B"]


def test_ndcg_at_a_coverage_is_linear_between_neighbours_and_none_outside():
    a = points(RUNS)["A"]
    assert ndcg_at(a, 0.5) == pytest.approx(0.040 + (0.025 - 0.040) * 0.2 / 0.4)
    assert ndcg_at(a, 0.95) is None and ndcg_at(points(RUNS)["B"], 0.5) is None
    assert ndcg_at(a, 0.2) == pytest.approx(0.040)  # beam search already covers that much


def test_the_section_has_a_row_per_point_and_says_what_was_not_reached():
    text = section(RUNS)
    assert "| A | sample, T 0.5 | 2 | 0.0000 ± 0.0000 |" in text and "| B | beam | 1 | 0.0000 |" in text
    assert "A 0.0325; B not reached" in text


def test_ndcg_at_follows_decoding_order_to_the_first_crossing():
    runs = [run("C", "beam", None, None, 0.040, 0.30), run("C", "sample", 0.5, 1, 0.030, 0.60),
            run("C", "sample", 1.0, 1, 0.020, 0.45), run("C", "sample", 2.0, 1, 0.010, 0.90)]
    assert ndcg_at(points(runs)["C"], 0.5) == pytest.approx(0.040 - 0.010 * 0.2 / 0.3)
