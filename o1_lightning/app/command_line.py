"""What both command lines share (train.py, train_reward_model.py): one-line errors, run names, checks before
anything is written, one run per checkpoint folder, and a shorter DDP collective timeout."""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from argparse import ArgumentError
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.strategies import DDPStrategy

from o1_lightning.app.distributed import release_process_group
from o1_lightning.app.last_checkpoint import LastCheckpoint
from o1_lightning.app.run_folder import RunFolderLock, check_writable, refuse_other_run
from o1_lightning.errors import O1Error

SEED_MAX = 2**32 - 1  # Lightning's seed_everything range; rank r adds r * 1,000,000 to the rollout seed
MAX_THREADS = 1024
NOISE = (  # warnings that say nothing actionable about this app
    r".*isinstance\(treespec, LeafSpec\)",
    r".*You have overridden `transfer_batch_to_device`",
    r".*does not have many workers",
    # PPO's manual optimisation: LastCheckpoint saves after the whole update, so no pre-optimisation state is needed
    r".*Using ModelCheckpoint with manual optimization and every_n_train_steps",
)


def not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.getMessage()).startswith("💡 Tip")  # Lightning's advertisements for its cloud services


def silence_known_noise() -> None:
    for message in NOISE:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(not_a_tip)  # added once: same function


def is_rank_zero() -> bool:
    """Whether this process is global rank 0, read from the launcher's environment (before DDP is set up)."""
    if "RANK" in os.environ:
        return int(os.environ["RANK"]) == 0
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


class CheckedCLI(LightningCLI):
    """LightningCLI with the app's common arguments (`--torch_threads`, `--run_name`, `--collective_timeout`)
    and checks: bad values, an unwritable checkpoint folder or another run's folder stop before anything is written.
    """

    run_name: str
    lock: RunFolderLock | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--torch_threads",
            type=int,
            default=1,
            help="CPU threads for torch ops (0: torch's default). A small GRU runs fastest on one; with more threads "
            "than free cores every op waits for a descheduled thread (measured 100x slower on a busy 2-core machine)",
        )
        parser.add_argument(
            "--run_name",
            type=str | None,
            default=None,
            help="names the run: logs in lightning_logs/<run_name>/version_N, checkpoints in checkpoints/<run_name>/ "
            "(default: the config file's name)",
        )
        parser.add_argument(
            "--collective_timeout",
            type=float,
            default=120.0,
            help="seconds a DDP rank waits for the others in a collective before the run fails (torch's default is "
            "1800: a frozen rank would block the others for 30 minutes)",
        )

    @property
    def subcommand_config(self) -> Any:
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config

    def before_instantiate_classes(self) -> None:
        config = self.subcommand_config
        threads = config.get("torch_threads")
        if threads is not None and not 0 <= threads <= MAX_THREADS:
            raise O1Error(f"torch_threads must be in [0, {MAX_THREADS}] (0: torch's default), got {threads}")
        if threads:
            torch.set_num_threads(threads)
        timeout = config.get("collective_timeout")
        if not (isinstance(timeout, float | int) and math.isfinite(timeout) and timeout > 0):
            raise O1Error(f"collective_timeout must be a positive number of seconds, got {timeout}")
        self.run_name = self.choose_run_name(config)

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        given = list(sys.argv[1:] if args is None else args) if args is None or isinstance(args, list) else []
        for index, arg in enumerate(given[:-1]):
            if arg == "--config":
                check_text_file("config", given[index + 1])
        super().parse_arguments(parser, args)
        self.check_values(self.subcommand_config)  # before Lightning seeds anything or reads a checkpoint

    def choose_run_name(self, config: Any) -> str:
        name = config.get("run_name")
        if name is None:
            configs = config.get("config") or []
            name = Path(str(configs[-1])).stem if configs else "default"
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise O1Error(f"run_name {name!r} must be a plain folder name (no '/', not empty)")
        return name

    def check_values(self, config: Any) -> None:
        """Checks on plain values that a class cannot see; subclasses add their own."""
        check_seed("seed_everything", config.get("seed_everything"), allow_bool=True)
        trainer = config.get("trainer") or {}
        max_steps = trainer.get("max_steps")
        if max_steps is not None and max_steps < -1:
            raise O1Error(f"trainer.max_steps must be >= 0, or -1 for no limit; got {max_steps}")
        max_epochs = trainer.get("max_epochs")
        if max_epochs is not None and max_epochs < -1:
            raise O1Error(f"trainer.max_epochs must be >= 0, or -1 for no limit; got {max_epochs}")
        interval = trainer.get("val_check_interval")
        if interval is not None and not interval > 0:
            raise O1Error(
                f"trainer.val_check_interval must be > 0 (updates, or a fraction of an epoch), got {interval}"
            )

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        config = self.config_init[self.subcommand] if self.subcommand else self.config_init
        if (config.get("trainer") or {}).get("strategy") == "ddp":
            kwargs["strategy"] = DDPStrategy(timeout=timedelta(seconds=config["collective_timeout"]))
        return super().instantiate_trainer(**kwargs)

    def after_instantiate_classes(self) -> None:
        self.name_the_run()

    def name_the_run(self) -> None:
        """TensorBoard logs in lightning_logs/<run>/version_N; LastCheckpoint without a dirpath: checkpoints/<run>."""
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return
        logger = trainer.logger
        if isinstance(logger, TensorBoardLogger) and logger.name == "lightning_logs":  # Lightning's default name
            save_dir = os.path.join(logger.save_dir or trainer.default_root_dir, "lightning_logs")
            trainer.logger = TensorBoardLogger(save_dir=save_dir, name=self.run_name, default_hp_metric=False)
        for callback in trainer.checkpoint_callbacks:
            if isinstance(callback, LastCheckpoint) and callback.dirpath is None:
                callback.dirpath = os.path.realpath(os.path.join("checkpoints", self.run_name))

    def checkpoint_folders(self) -> list[str]:
        return [str(c.dirpath) for c in self.trainer.checkpoint_callbacks if getattr(c, "dirpath", None)]

    def before_fit(self) -> None:
        """Before training: the checkpoint and log folders are writable, no other run owns them, and a lock is held."""
        if not is_rank_zero():
            return
        root = self.trainer.default_root_dir
        logger = self.trainer.logger
        check_writable(getattr(logger, "root_dir", None) or root, "log folder")
        resuming = self.subcommand_config.get("ckpt_path")
        for folder in self.checkpoint_folders():
            check_writable(folder, "checkpoint folder")
            refuse_other_run(folder, resuming)
        folders = self.checkpoint_folders()
        if folders:
            self.lock = RunFolderLock(folders[0])
            self.lock.acquire()

    def after_fit(self) -> None:
        self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def check_text_file(name: str, path: str) -> None:
    """A file given as text is UTF-8 (the parser would raise UnicodeDecodeError); missing files are the parser's."""
    try:
        Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise O1Error(f"{name} {path!r} is not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except OSError:
        return


def check_seed(name: str, seed: Any, allow_bool: bool = False) -> None:
    if seed is None or (allow_bool and isinstance(seed, bool)):
        return
    if not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise O1Error(f"{name} must be an integer in [0, {SEED_MAX}], got {seed!r}")


def check_finite(name: str, value: Any, low: float | None = None, high: float | None = None) -> None:
    """`value` is a finite number within [low, high] (either bound optional)."""
    if value is None:
        return
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        bounds = (
            f"in [{low}, {high}]" if low is not None and high is not None else f">= {low}" if low is not None else ""
        )
        raise O1Error(f"{name} must be a finite number {bounds}, got {value!r}".replace("  ", " "))


def union_error(message: str) -> str | None:
    """The first reason in jsonargparse's "Does not validate against any of the Union subtypes" message (raised
    when a class in a list, e.g. a callback, refuses its arguments); None for any other ValueError."""
    if not message.startswith("Does not validate against any of the Union subtypes"):
        return None
    lines = message.splitlines()
    reasons = [line.strip()[2:] for line in lines[lines.index("Errors:") + 1 :] if line.startswith("  - ")]
    return reasons[0] if reasons and "Errors:" in lines else " ".join(line.strip() for line in lines[:2])


def run_with_one_line_errors(make_cli: Callable[[], LightningCLI | None]) -> None:
    """Run a command line; bad input exits with status 2 and one `error:` line on stderr instead of a traceback.

    A fit stopped by Ctrl-C or SIGTERM after saving exits with 128 + the signal's number, as a shell expects.
    """
    silence_known_noise()
    cli: LightningCLI | None = None
    try:
        cli = make_cli()
    except (O1Error, ArgumentError, MisconfigurationException) as err:
        message = " ".join(line.strip() for line in str(err).splitlines())  # jsonargparse nests its messages
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except ValueError as err:
        message = union_error(str(err))
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # before training started (Lightning handles it during a run)
        print("interrupted before training started: nothing written", file=sys.stderr)
        sys.exit(130)
    except (MemoryError, torch.OutOfMemoryError) as err:
        print(
            f"error: out of memory ({type(err).__name__}): lower data.batch_size or the model's sizes; "
            "the last checkpoint written, if any, is whole",
            file=sys.stderr,
        )
        sys.exit(2)
    finally:
        for lock in RunFolderLock.held:
            lock.release()
        release_process_group()
    trainer = getattr(cli, "trainer", None)
    for callback in getattr(trainer, "callbacks", []) or []:
        if isinstance(callback, LastCheckpoint) and callback.interrupted_by:
            sys.exit(128 + callback.interrupted_by)
