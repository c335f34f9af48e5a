"""The search pillar: greedy, sampling, best-of-N, (weighted) majority vote, step-level beam search and MCTS.

Every method takes a batch of prompts and a budget in policy token-steps per problem (see `budget` for the rule)
and returns one `SearchResult` per prompt.
"""

from o1_lightning.rewards.scorers import (
    FunctionScorer,
    OutcomeScorer,
    PolicyLogProbScorer,
    ProcessScorer,
    Scorer,
    as_scorer,
)
from o1_lightning.search.beam import beam_search
from o1_lightning.search.best_of_n import best_of_n
from o1_lightning.search.budget import check_budget, completions_in_budget
from o1_lightning.search.majority import majority_vote, vote
from o1_lightning.search.mcts import mcts
from o1_lightning.search.problems import problem_generators
from o1_lightning.search.puct import backup, most_visited_path, puct_scores, select_actions
from o1_lightning.search.registry import SEARCH_METHODS, is_deterministic, method_options, run_search
from o1_lightning.search.result import SearchResult
from o1_lightning.search.sampling import greedy, sampling
from o1_lightning.search.stepper import HiddenStepper, Stepper

__all__ = [
    "SEARCH_METHODS",
    "FunctionScorer",
    "HiddenStepper",
    "OutcomeScorer",
    "PolicyLogProbScorer",
    "ProcessScorer",
    "Scorer",
    "SearchResult",
    "Stepper",
    "as_scorer",
    "backup",
    "beam_search",
    "best_of_n",
    "check_budget",
    "completions_in_budget",
    "greedy",
    "is_deterministic",
    "majority_vote",
    "mcts",
    "method_options",
    "most_visited_path",
    "problem_generators",
    "puct_scores",
    "run_search",
    "sampling",
    "select_actions",
    "vote",
]
