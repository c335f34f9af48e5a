"""The reward model command line: `python train_reward_model.py fit --config configs/reward_model.yaml`."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.cli import LightningArgumentParser

from o1_lightning.app.command_line import CheckedCLI, check_finite, check_seed, run_with_one_line_errors
from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.app.reward_models.module import RewardModelModule
from o1_lightning.app.run_folder import check_writable
from o1_lightning.errors import O1Error
from o1_lightning.policy.checkpoint import check_weights_fit, read_checkpoint


class RewardModelCLI(CheckedCLI):
    """LightningCLI over RewardModelModule and RewardDataModule; the model's vocab comes from the task.

    It shares train.py's handling (CheckedCLI): one-line errors, run names, checks before anything is written,
    one run per checkpoint folder, safe --ckpt_path reading.
    """

    checkpoint: dict | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.link_arguments("data.vocab", "model.vocab", apply_on="instantiate")

    def check_values(self, config: Any) -> None:
        super().check_values(config)
        model, data = config.get("model") or {}, config.get("data") or {}
        temperature = data.get("temperature")
        if temperature is not None and not (isinstance(temperature, int | float) and 0 < temperature < float("inf")):
            raise O1Error(f"data.temperature must be a finite number > 0, got {temperature!r}")
        lr = model.get("lr")
        check_finite("model.lr", lr, 0.0, 1.0)
        if lr is not None and lr <= 0:
            raise O1Error(f"model.lr must be a finite number in (0, 1], got {lr!r}")
        check_seed("data.seed", data.get("seed"))
        if data.get("cache_dir"):
            check_writable(data["cache_dir"], "data.cache_dir")
        if data.get("imitation_steps") is not None and data["imitation_steps"] < 0:
            raise O1Error(f"data.imitation_steps must be >= 0, got {data['imitation_steps']}")

    def _parse_ckpt_path(self) -> None:
        ckpt_path = self.subcommand_config.get("ckpt_path")
        if ckpt_path:
            self.checkpoint = read_checkpoint(ckpt_path)
            kind = self.checkpoint.get("hyper_parameters", {}).get("kind")
            if kind is None:
                raise O1Error(
                    f"checkpoint {ckpt_path!r} is not a reward model checkpoint (no model kind): is it a policy?"
                )
        super()._parse_ckpt_path()

    def after_instantiate_classes(self) -> None:
        super().after_instantiate_classes()
        if self.datamodule.policy_checkpoint is not None and self.datamodule.policy is None:
            self.datamodule.policy = self.datamodule.load_policy()  # checked before anything is written
        if self.checkpoint is not None:
            check_weights_fit(self.checkpoint["state_dict"], self.model.state_dict(), self.subcommand_config.ckpt_path)


def main(args: list[str] | None = None) -> None:
    """Run the CLI; bad input exits with status 2 and one line on stderr instead of a traceback."""
    run_with_one_line_errors(
        lambda: RewardModelCLI(
            RewardModelModule,
            RewardDataModule,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},
            args=args,
        )
    )
