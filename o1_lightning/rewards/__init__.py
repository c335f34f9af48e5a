"""The reward pillar, one vocabulary: a reward is a scorer of (prompts, completions) -> list[float] (built-ins,
learned reward models via `rm:PATH`, user functions by dotted path), chosen by the same string for training
rewards, search scorers and the refresh (`spec.py`, `names.py`)."""

from o1_lightning.rewards.functions import REWARD_NAMES, RewardFunction, parse_reward_names
from o1_lightning.rewards.names import SCORER_NAMES, check_scorer_name, make_reward_function, make_scorer
from o1_lightning.rewards.scorers import (
    BatchFunctionScorer,
    FunctionScorer,
    OutcomeScorer,
    PolicyLogProbScorer,
    ProcessScorer,
    Scorer,
    WeightedSumScorer,
    as_scorer,
)
from o1_lightning.rewards.spec import Term, parse_terms

__all__ = [
    "REWARD_NAMES",
    "SCORER_NAMES",
    "BatchFunctionScorer",
    "FunctionScorer",
    "OutcomeScorer",
    "PolicyLogProbScorer",
    "ProcessScorer",
    "RewardFunction",
    "Scorer",
    "Term",
    "WeightedSumScorer",
    "as_scorer",
    "check_scorer_name",
    "make_reward_function",
    "make_scorer",
    "parse_reward_names",
    "parse_terms",
]
