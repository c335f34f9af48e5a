"""The command line: LightningCLI with our links, checkpoint checks and one-line errors."""

from __future__ import annotations

import sys
from argparse import ArgumentError

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.guards import NonFiniteGuard
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.predict import SearchPredictor
from o1_lightning.app.sweep import SearchSweep
from o1_lightning.app.task_identity import check_same_task
from o1_lightning.errors import O1Error
from o1_lightning.policy.checkpoint import read_checkpoint, read_policy_weights


class O1CLI(LightningCLI):
    """`python train.py fit|validate|test|predict --config configs/....yaml`."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(SearchSweep, "sweep")
        parser.add_lightning_class_args(SearchPredictor, "search")
        parser.link_arguments("data.gamma", "model.gamma")
        parser.link_arguments("data.vocab", "model.vocab", apply_on="instantiate")
        parser.link_arguments("data.max_length", "model.max_length", apply_on="instantiate")
        parser.link_arguments("data.can_stop", "model.can_stop", apply_on="instantiate")
        parser.add_lightning_class_args(NonFiniteGuard, "guard")  # always on; `--guard.max_skipped_steps_in_a_row`
        parser.add_argument(
            "--torch_threads",
            type=int,
            default=1,
            help="CPU threads for torch ops (0: torch's default). A small GRU runs fastest on one; with more threads "
            "than free cores every op waits for a descheduled thread (measured 100x slower on a busy 2-core machine)",
        )

    def before_instantiate_classes(self) -> None:
        subcommand = self.config.get("subcommand")
        threads = (self.config[subcommand] if subcommand else self.config).get("torch_threads")
        if threads is not None and threads < 0:
            raise O1Error(f"torch_threads must be >= 0 (0: torch's default), got {threads}")
        if threads:
            torch.set_num_threads(threads)

    def _parse_ckpt_path(self) -> None:
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path:
            self.checkpoint = read_checkpoint(ckpt_path)
        super()._parse_ckpt_path()

    def after_instantiate_classes(self) -> None:
        self.check_init_from()
        self.check_objective_schedule()
        checkpoint = getattr(self, "checkpoint", None)
        if checkpoint is None:
            return
        saved_vocab = checkpoint.get("hyper_parameters", {}).get("vocab")
        if saved_vocab != self.datamodule.vocab:
            raise O1Error(
                f"checkpoint vocab {saved_vocab!r} does not match this task's vocab {self.datamodule.vocab!r}"
            )
        saved_task = checkpoint.get(type(self.datamodule).__qualname__, {}).get("task")
        if saved_task is not None:
            check_same_task(saved_task, self.datamodule.task, self.config[self.config.subcommand].ckpt_path)

    def check_init_from(self) -> None:
        """Refuse a bad --model.init_from before any folder is written (the module loads it when the fit starts)."""
        init_from = self.model.hparams.get("init_from")
        if init_from and self.config.get("subcommand") == "fit" and getattr(self, "checkpoint", None) is None:
            read_policy_weights(init_from, self.datamodule.vocab, self.model.policy)

    def check_objective_schedule(self) -> None:
        """Refuse a batch the objective cannot split, or a checkpoint interval its optimizer steps never land on
        (PPO takes several a batch), from the config, before anything is written."""
        subcommand = self.config.get("subcommand")
        trainer = (self.config[subcommand] if subcommand else self.config).get("trainer", {})
        callbacks = [callback.get("init_args") or {} for callback in trainer.get("callbacks") or []]
        intervals = [init_args.get("every_n_train_steps") for init_args in callbacks]
        self.model.check_schedule(self.datamodule.batch_size, intervals)


def main(args: list[str] | None = None) -> None:
    """Run the CLI; bad input exits with status 2 and one line on stderr instead of a traceback."""
    try:
        O1CLI(
            PolicyModule,
            RolloutDataModule,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},  # parse errors raise ArgumentError instead of printing usage
            args=args,
        )
    except (O1Error, ArgumentError, MisconfigurationException) as err:
        message = " ".join(line.strip() for line in str(err).splitlines())  # jsonargparse nests its messages
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
