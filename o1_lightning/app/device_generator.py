"""The rollouts' random stream on an accelerator, made when the policy's device is known, kept in checkpoints.

Lightning calls `setup` (where the policy is attached) and restores the datamodule's state before it moves the
policy to its device, so the generator is made at the first rollout, on the device the policy is on then, from
the restored state when one was saved for that kind of device.
"""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_warn


class DeviceGenerator:
    """A `torch.Generator` on the policy's device, seeded with `seed` unless a saved state is waiting for it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.generator: torch.Generator | None = None
        self.saved: dict[str, Any] | None = None  # {"device": "cpu" | "cuda" ..., "state": ByteTensor}

    def reseed(self, seed: int) -> None:
        self.seed, self.generator, self.saved = seed, None, None

    def on(self, device: torch.device) -> torch.Generator:
        """The generator on `device`, made (seeded or restored) the first time and whenever the device changes."""
        if self.generator is None or self.generator.device != device:
            generator = torch.Generator(device=device)
            if self.saved is not None and self.saved["device"] == device.type:
                generator.set_state(self.saved["state"])
            else:
                if self.saved is not None:
                    rank_zero_warn(
                        f"the checkpoint's rollout stream was saved on {self.saved['device']} and this run samples "
                        f"on {device.type}: the rollouts start a fresh stream from the seed (not an exact resume)"
                    )
                generator.manual_seed(self.seed)
            self.generator, self.saved = generator, None
        return self.generator

    def state_dict(self) -> dict[str, Any] | None:
        """The stream's position: the live generator's, else the one waiting to be restored (None: still at seed)."""
        if self.generator is not None:
            return {"device": self.generator.device.type, "state": self.generator.get_state()}
        return self.saved

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        self.generator, self.saved = None, state
