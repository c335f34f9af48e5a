"""The command line: LightningCLI with our links, checkpoint checks and one-line errors."""

from __future__ import annotations

import math
import sys
from argparse import ArgumentError
from pathlib import Path
from typing import Any

from lightning.pytorch.cli import LightningArgumentParser
from lightning.pytorch.utilities import rank_zero_warn

from o1_lightning.app.command_line import CheckedCLI, check_finite, check_seed, run_with_one_line_errors
from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.distributed import check_generator_states
from o1_lightning.app.guards import NonFiniteGuard
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.predict import SearchPredictor
from o1_lightning.app.resume_options import (
    RecordedOptions,
    ResumedLearningRate,
    changed_data_options,
    describe_changes,
    resolve_resume_options,
)
from o1_lightning.app.run_summary import RunSummary
from o1_lightning.app.sweep import SearchSweep
from o1_lightning.app.task_identity import check_same_task, check_task_class_path, task_class_paths
from o1_lightning.errors import O1Error
from o1_lightning.policy.checkpoint import check_weights_fit, read_checkpoint, read_policy_weights


class O1CLI(CheckedCLI):
    """`python train.py fit|validate|test|predict --config configs/....yaml`."""

    checkpoint: dict | None = None
    resume_changes: dict[str, Any] = {}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.add_lightning_class_args(SearchSweep, "sweep")
        parser.add_lightning_class_args(SearchPredictor, "search")
        parser.link_arguments("data.gamma", "model.gamma")
        parser.link_arguments("data.vocab", "model.vocab", apply_on="instantiate")
        parser.link_arguments("data.max_length", "model.max_length", apply_on="instantiate")
        parser.link_arguments("data.can_stop", "model.can_stop", apply_on="instantiate")
        parser.add_lightning_class_args(NonFiniteGuard, "guard")  # always on; `--guard.max_skipped_steps_in_a_row`
        parser.add_lightning_class_args(RunSummary, "summary")  # the one line at the end, the collapse warning

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Task class_paths are checked before jsonargparse imports their modules (see check_task_class_path)."""
        if args is None or isinstance(args, list):
            for class_path in task_class_paths(list(sys.argv[1:] if args is None else args)):
                check_task_class_path(class_path)
        super().parse_arguments(parser, args)

    def check_values(self, config: Any) -> None:
        super().check_values(config)
        model, data = config.get("model") or {}, config.get("data") or {}
        lr = model.get("lr")
        if lr is not None and not (isinstance(lr, int | float) and math.isfinite(lr) and 0 < lr <= 1):
            raise O1Error(f"model.lr must be a finite number in (0, 1] (Adam's step size), got {lr!r}")
        check_finite("data.gamma", data.get("gamma"), 0.0, 1.0)
        check_finite("model.entropy_coef", model.get("entropy_coef"), 0.0)
        if (model.get("log_samples_every_n_steps") or 0) < 0:
            raise O1Error(
                f"model.log_samples_every_n_steps must be >= 0 (0: never), got {model['log_samples_every_n_steps']}"
            )
        for name in ("correct_reward", "mistake_penalty", "process_reward", "shaping_scale", "buffer_weight"):
            check_finite(f"data.{name}", data.get(name))
        check_seed("data.seed", data.get("seed"))
        for section in ("sweep", "search"):
            check_seed(f"{section}.seed", (config.get(section) or {}).get("seed"))
        if data.get("test_prompts") is not None and data["test_prompts"] < 1:
            raise O1Error(f"data.test_prompts must be at least 1, got {data['test_prompts']}")
        check_predict_inputs(config, data)

    def _parse_ckpt_path(self) -> None:
        """Read --ckpt_path safely (weights only); Lightning then takes the model options from it: those the
        user changed are applied when they can be (with a warning) and refused when the weights depend on them."""
        ckpt_path = self.subcommand_config.get("ckpt_path")
        if not ckpt_path:
            return super()._parse_ckpt_path()
        self.checkpoint = read_checkpoint(ckpt_path)
        if not isinstance(self.checkpoint.get("hyper_parameters", {}), dict):
            raise O1Error(f"checkpoint {ckpt_path!r} has damaged hyper_parameters (not a mapping)")
        model = self.subcommand_config.get("model")
        requested = dict(model.as_dict() if hasattr(model, "as_dict") else model or {})
        saved = dict(self.checkpoint.get("hyper_parameters", {}))
        try:
            super()._parse_ckpt_path()
        except (ArgumentError, SystemExit) as err:
            raise O1Error(
                f"checkpoint {ckpt_path!r} has model hyperparameters this model does not take: {err}"
            ) from None
        self.resume_changes = resolve_resume_options(requested, saved, ckpt_path)
        for name, value in self.resume_changes.items():
            self.subcommand_config.model[name] = value
        if self.resume_changes:
            rank_zero_warn(
                f"resuming {ckpt_path!r} with changed options; {describe_changes(self.resume_changes, saved)}"
            )

    def after_instantiate_classes(self) -> None:
        super().after_instantiate_classes()
        data = self.subcommand_config.get("data")
        data = data.as_dict() if hasattr(data, "as_dict") else dict(data or {})
        self.recorded = RecordedOptions({name: value for name, value in data.items() if name != "task"})
        self.trainer.callbacks.append(self.recorded)
        self.check_init_from()
        self.check_objective_schedule()
        if self.checkpoint is None:
            return
        saved_vocab = self.checkpoint.get("hyper_parameters", {}).get("vocab")
        if saved_vocab is None:
            raise O1Error(
                f"checkpoint {self.subcommand_config.ckpt_path!r} has no policy hyperparameters (vocab): "
                "is it a train.py checkpoint?"
            )
        if saved_vocab != self.datamodule.vocab:
            raise O1Error(
                f"checkpoint vocab {saved_vocab!r} does not match this task's vocab {self.datamodule.vocab!r}"
            )
        ckpt_path = self.subcommand_config.ckpt_path
        data_state = self.checkpoint.get(type(self.datamodule).__qualname__, {})
        saved_task = data_state.get("task")
        if saved_task is not None:
            check_same_task(saved_task, self.datamodule.task, ckpt_path)
        if self.subcommand == "fit":
            check_resumable(self.checkpoint, data_state, ckpt_path)
        check_weights_fit(self.checkpoint["state_dict"], self.model.state_dict(), ckpt_path)
        if "lr" in self.resume_changes and self.subcommand == "fit":
            self.trainer.callbacks.append(ResumedLearningRate(self.resume_changes["lr"]))
        changed = changed_data_options(self.checkpoint, self.recorded.data) if self.subcommand == "fit" else []
        if changed:
            rank_zero_warn(f"resuming {ckpt_path!r} with changed data options; applied: {', '.join(changed)}")

    def check_init_from(self) -> None:
        """Refuse a bad --model.init_from before any folder is written (the module loads it when the fit starts)."""
        init_from = self.model.hparams.get("init_from")
        if init_from and self.config.get("subcommand") == "fit" and self.checkpoint is None:
            read_policy_weights(init_from, self.datamodule.vocab, self.model.policy)

    def check_objective_schedule(self) -> None:
        """Refuse a batch the objective cannot split, or a checkpoint interval its optimizer steps never land on
        (PPO takes several a batch), from the config, before anything is written."""
        subcommand = self.config.get("subcommand")
        trainer = (self.config[subcommand] if subcommand else self.config).get("trainer", {})
        callbacks = [callback.get("init_args") or {} for callback in trainer.get("callbacks") or []]
        intervals = [init_args.get("every_n_train_steps") for init_args in callbacks]
        self.model.check_schedule(self.datamodule.batch_size, intervals, trainer.get("max_steps"))


def check_resumable(checkpoint: dict, data_state: dict, ckpt_path: str) -> None:
    """A fit resumes the optimizer and the rollout stream too: a weights-only or damaged checkpoint cannot."""
    if "optimizer_states" not in checkpoint or "loops" not in checkpoint:
        raise O1Error(
            f"checkpoint {ckpt_path!r} holds weights only (no optimizer or loop state) and cannot resume a fit; "
            f"start a new fit from its weights with --model.init_from {ckpt_path}"
        )
    if "generators" in data_state or "generator" in data_state:
        check_generator_states(data_state.get("generators", [data_state.get("generator")]), ckpt_path)


def check_predict_inputs(config: Any, data: Any) -> None:
    """predict's file inputs: the prompt file is UTF-8 text, the output is a file in a writable folder."""
    predict_file = data.get("predict_file")
    if predict_file:
        try:
            Path(predict_file).read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise O1Error(
                f"data.predict_file {predict_file!r} is not UTF-8 text (byte {err.start}); save it as UTF-8"
            ) from None
        except OSError as err:
            raise O1Error(f"data.predict_file {predict_file!r} cannot be read: {err.strerror}") from None
    output = (config.get("search") or {}).get("output")
    if output:
        path = Path(output)
        if path.is_dir() or str(output).endswith(("/", "\\")):
            raise O1Error(f"search.output {output!r} is a folder; give a file name, e.g. {str(path / 'preds.jsonl')!r}")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise O1Error(f"search.output {output!r} cannot be made: {str(parent)!r} is a file, not a folder")


def main(args: list[str] | None = None) -> None:
    """Run the CLI; bad input exits with status 2 and one line on stderr instead of a traceback."""
    run_with_one_line_errors(
        lambda: O1CLI(
            PolicyModule,
            RolloutDataModule,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"exit_on_error": False},  # parse errors raise ArgumentError instead of printing usage
            args=args,
        )
    )
