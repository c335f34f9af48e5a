"""The benchmark figures' statistics: means and 95% t intervals checked against hand-worked values."""

import json
import math

import pytest

from benchmarks.stats import format_ci, mean_ci95, single_run, summarise, t975


def test_interval_of_three_seeds_by_hand():
    # mean 2, sample sd 1, half-width t(2) * 1 / sqrt(3) = 4.303 / 1.7321 = 2.4843
    mean, (low, high) = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert low == pytest.approx(2 - 2.4843, abs=1e-4)
    assert high == pytest.approx(2 + 2.4843, abs=1e-4)


def test_identical_seeds_give_a_zero_width_interval():
    assert mean_ci95([0.5, 0.5, 0.5, 0.5]) == (0.5, [0.5, 0.5])


def test_t_quantile_beyond_the_table_approaches_the_normal():
    assert t975(30) == 2.042
    assert t975(40) == pytest.approx(2.021, abs=1e-3)
    assert t975(120) == pytest.approx(1.980, abs=1e-3)
    assert t975(10**6) == pytest.approx(1.95996, abs=1e-4)


def test_summary_needs_three_seeds_and_one_value_each():
    with pytest.raises(ValueError, match="at least 3 seeds"):
        summarise([0.1, 0.2], seeds=[0, 1])
    with pytest.raises(ValueError, match="one value per seed"):
        summarise([0.1, 0.2, 0.3], seeds=[0, 1])


def test_summary_is_json_with_mean_interval_and_seeds():
    summary = json.loads(json.dumps(summarise([0.25, 0.5, 0.75], seeds=[0, 1, 2])))
    assert summary["mean"] == 0.5
    assert summary["seeds"] == [0, 1, 2]
    half = 4.303 * 0.25 / math.sqrt(3)
    assert summary["ci95"] == pytest.approx([0.5 - half, 0.5 + half], abs=1e-6)
    assert format_ci(summary, 2) == f"0.50 [{0.5 - half:.2f}, {0.5 + half:.2f}] (3 seeds)"


def test_single_run_says_why_and_has_no_interval():
    summary = single_run(0.75, "greedy decoding is deterministic")
    assert summary["ci95"] is None and summary["single_run"] == "greedy decoding is deterministic"
    assert format_ci(summary) == "0.750 (one run)"
