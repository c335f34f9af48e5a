"""o1-lightning: the o1 roadmap (policy initialization, reward design, search, learning) at laptop scale.

`from o1_lightning import load_policy` is the Python API (o1_lightning/api.py); it is imported on first use, so
that `import o1_lightning` and `import o1_lightning.tasks` stay light.
"""

import importlib

__version__ = "0.1.0"
__all__ = ["Policy", "load_policy"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("o1_lightning.api"), name)
    raise AttributeError(f"module 'o1_lightning' has no attribute {name!r}")
