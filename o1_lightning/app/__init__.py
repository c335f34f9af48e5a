"""The Lightning application on top of the four pillars: module, datamodule, callbacks and the command line.

Configs name the callbacks here, e.g. `o1_lightning.app.LastCheckpoint`, `o1_lightning.app.SearchRefresh`.
"""

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.guards import NonFiniteGuard
from o1_lightning.app.last_checkpoint import LastCheckpoint
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.predict import SearchPredictor
from o1_lightning.app.refresh import SearchRefresh
from o1_lightning.app.sweep import SearchSweep

__all__ = [
    "LastCheckpoint",
    "NonFiniteGuard",
    "PolicyModule",
    "RolloutDataModule",
    "SearchPredictor",
    "SearchRefresh",
    "SearchSweep",
]
