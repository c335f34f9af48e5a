import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from recipe_stats import t_interval  # noqa: E402


def test_t_interval_by_hand():
    # mean 2, sample sd 1, n 3: half width = 4.303 / sqrt(3) = 2.4843
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert math.isclose(low, 2 - 4.303 / math.sqrt(3), abs_tol=0.01)
    assert math.isclose(high, 2 + 4.303 / math.sqrt(3), abs_tol=0.01)


def test_t_interval_of_one_value_and_of_none():
    assert t_interval([5.0]) == (5.0, None, None)
    assert t_interval([]) == (None, None, None)
