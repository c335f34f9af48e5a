"""The reward model command line: `python train_reward_model.py fit --config configs/reward_model.yaml`."""

from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.app.reward_models.module import RewardModelModule
from o1_lightning.errors import O1Error


class RewardModelCLI(LightningCLI):
    """LightningCLI over RewardModelModule and RewardDataModule; the model's vocab comes from the task."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.vocab", "model.vocab", apply_on="instantiate")


def main(args: list[str] | None = None) -> None:
    """Run the CLI; bad input exits with status 2 and one line on stderr instead of a traceback."""
    try:
        RewardModelCLI(RewardModelModule, RewardDataModule, save_config_kwargs={"overwrite": True}, args=args)
    except O1Error as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
