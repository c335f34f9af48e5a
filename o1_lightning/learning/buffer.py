"""A bounded buffer of verified solutions found by search: the data of expert iteration."""

from __future__ import annotations

from collections import OrderedDict

import torch


class SolutionBuffer:
    """Unique (prompt, completion) pairs, oldest dropped first once `capacity` is reached.

    Plain strings only, so that it is saved in checkpoints and loads with weights_only=True.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __len__(self) -> int:
        return len(self.items)

    def add(self, prompt: str, completion: str) -> bool:
        """Add a solution; False if it was already there (it is then refreshed as the newest)."""
        key = (prompt, completion)
        known = key in self.items
        self.items[key] = None
        self.items.move_to_end(key)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)
        return not known

    def sample(self, n: int, generator: torch.Generator) -> list[tuple[str, str]]:
        """`n` solutions drawn uniformly with replacement."""
        keys = list(self.items)
        picks = torch.randint(0, len(keys), (n,), generator=generator).tolist()
        return [keys[i] for i in picks]

    def state_dict(self) -> dict:
        return {"capacity": self.capacity, "items": [list(key) for key in self.items]}

    def load_state_dict(self, state: dict) -> None:
        self.items = OrderedDict(((prompt, completion), None) for prompt, completion in state["items"])
