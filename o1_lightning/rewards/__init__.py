"""The reward pillar: training rewards (outcome, process, shaping), search scorers (oracles, the policy's own
log-probability) and learned reward models, chosen by name in configs."""

from o1_lightning.rewards.functions import REWARD_NAMES, RewardFunction, parse_reward_names
from o1_lightning.rewards.names import SCORER_NAMES, check_scorer_name, make_scorer
from o1_lightning.rewards.scorers import (
    FunctionScorer,
    OutcomeScorer,
    PolicyLogProbScorer,
    ProcessScorer,
    Scorer,
    as_scorer,
)

__all__ = [
    "REWARD_NAMES",
    "SCORER_NAMES",
    "FunctionScorer",
    "OutcomeScorer",
    "PolicyLogProbScorer",
    "ProcessScorer",
    "RewardFunction",
    "Scorer",
    "as_scorer",
    "check_scorer_name",
    "make_scorer",
    "parse_reward_names",
]
