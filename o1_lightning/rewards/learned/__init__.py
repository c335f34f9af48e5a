"""Learned reward models: outcome (ORM) and process (PRM) models trained on a policy's own rollouts.

Labels come from the task's checkers (exact) or from Monte Carlo completions by the policy (Math-Shepherd). A
trained model is a search scorer (`RewardModelScorer`, never an oracle) and a shaping potential
(`LearnedShapingReward`). Training them is the app's (`o1_lightning.app.reward_models`, `train_reward_model.py`).
"""

from o1_lightning.rewards.learned.labels import exact_step_labels, label_agreement, monte_carlo_labels
from o1_lightning.rewards.learned.model import RewardExamples, RewardModel, build_examples, reward_model_loss, step_ends
from o1_lightning.rewards.learned.rollouts import label_rollouts, policy_rollouts
from o1_lightning.rewards.learned.scorer import RewardModelScorer
from o1_lightning.rewards.learned.shaping import LearnedShapingReward

__all__ = [
    "LearnedShapingReward",
    "RewardExamples",
    "RewardModel",
    "RewardModelScorer",
    "build_examples",
    "exact_step_labels",
    "label_agreement",
    "label_rollouts",
    "monte_carlo_labels",
    "policy_rollouts",
    "reward_model_loss",
    "step_ends",
]
