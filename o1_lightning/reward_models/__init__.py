"""Learned reward models: outcome (ORM) and process (PRM) models trained on a policy's own rollouts.

Labels come from the task's checkers (exact) or from Monte Carlo completions by the policy (Math-Shepherd). A
trained model is a search scorer (`RewardModelScorer`, never an oracle) and a shaping potential
(`LearnedShapingReward`).
"""

from o1_lightning.reward_models.data import RewardDataModule, label_rollouts, policy_rollouts
from o1_lightning.reward_models.labels import exact_step_labels, label_agreement, monte_carlo_labels
from o1_lightning.reward_models.model import RewardExamples, RewardModel, build_examples, reward_model_loss, step_ends
from o1_lightning.reward_models.module import RewardModelModule
from o1_lightning.reward_models.policy_source import cached_imitation, imitate, load_policy
from o1_lightning.reward_models.scorer import RewardModelScorer
from o1_lightning.reward_models.shaping import LearnedShapingReward

__all__ = [
    "LearnedShapingReward",
    "RewardDataModule",
    "RewardExamples",
    "RewardModel",
    "RewardModelModule",
    "RewardModelScorer",
    "build_examples",
    "cached_imitation",
    "exact_step_labels",
    "imitate",
    "label_agreement",
    "label_rollouts",
    "load_policy",
    "monte_carlo_labels",
    "policy_rollouts",
    "reward_model_loss",
    "step_ends",
]
