"""Policy initialization for RL: a frozen copy of the starting policy, the reference of the KL penalty.

Loading the starting weights (`init_from`) is `o1_lightning.policy.checkpoint.load_policy_weights`.
"""

from __future__ import annotations

from o1_lightning.policy.gru import GRUPolicy


def frozen_copy(policy: GRUPolicy, reference: GRUPolicy) -> None:
    """Make `reference` (no value head, no gradients) a copy of `policy`'s token model."""
    weights = {name: value for name, value in policy.state_dict().items() if not name.startswith("value.")}
    reference.load_state_dict(weights)
    reference.requires_grad_(False)
