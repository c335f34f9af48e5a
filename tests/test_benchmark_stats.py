"""The benchmark figures' statistics: means and 95% t intervals checked against hand-worked values."""

import json
import math
from pathlib import Path

import pytest

from benchmarks.stats import (
    format_ci,
    gap_closed,
    intervals_apart,
    mean_ci95,
    single_run,
    summarise,
    summarise_or_look,
    t975,
)


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
    assert format_ci(summary, 2, count_seeds=False) == f"0.50 [{0.5 - half:.2f}, {0.5 + half:.2f}]"


def test_a_fraction_interval_is_clipped_to_its_range():
    assert summarise([0.0, 0.0, 0.75], seeds=[0, 1, 2], bounds=(0.0, 1.0))["ci95"][0] == 0.0


def test_single_run_says_why_and_has_no_interval():
    summary = single_run(0.75, "greedy decoding is deterministic")
    assert summary["ci95"] is None and summary["single_run"] == "greedy decoding is deterministic"
    assert format_ci(summary) == "0.750 (one run)"


def test_gap_closed_by_hand():
    # greedy 0.2, oracle 0.8: a gap of 0.6; 0.5 closes 0.3 of it (half), 0.1 falls back by a sixth
    assert gap_closed(0.5, 0.2, 0.8) == pytest.approx(0.5)
    assert gap_closed(0.8, 0.2, 0.8) == pytest.approx(1.0)
    assert gap_closed(0.1, 0.2, 0.8) == pytest.approx(-1 / 6)
    assert math.isnan(gap_closed(0.3, 0.4, 0.4))


def test_intervals_apart_only_when_they_do_not_overlap():
    high = summarise([0.6, 0.7, 0.8], seeds=[0, 1, 2])  # [0.452, 0.948]
    low = summarise([0.1, 0.2, 0.3], seeds=[0, 1, 2])  # [-0.048, 0.448]
    touching = summarise([0.3, 0.4, 0.5], seeds=[0, 1, 2])  # [0.152, 0.648]
    assert intervals_apart(high, low)
    assert not intervals_apart(low, high)
    assert not intervals_apart(high, touching)


def test_benchmarks_print_through_one_emit_and_import_the_installed_package():
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    sources = {path.name: path.read_text() for path in sorted(benchmarks.glob("*.py"))}
    assert [name for name, text in sources.items() if "sys.path" in text] == []
    assert [name for name, text in sources.items() if "def emit(" in text] == ["common.py"]


def test_three_seeds_are_summarised_and_two_are_a_look():
    figure = summarise_or_look([0.456, 0.727, 0.711], [0, 1, 2], bounds=(0.0, 1.0))
    assert figure["mean"] == pytest.approx(0.631333) and figure["ci95"][1] == 1.0  # clipped from 1.009
    look = summarise_or_look([0.2, 0.4], [3, 5])
    assert look["mean"] == pytest.approx(0.3) and look["ci95"] is None
    assert look["values"] == [0.2, 0.4] and look["seeds"] == [3, 5] and "a look" in look["single_run"]
