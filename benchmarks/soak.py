"""Soak benchmark (not a test): train on the CPU for a while and watch resident memory.

    nice python benchmarks/soak.py             # 20 minutes of configs/debug.yaml (logging, validation, checkpoints)
    python benchmarks/soak.py --minutes 1      # a short look

Prints one JSON line per figure (benchmarks/common.py `emit`; one run, marked so: a memory trace over time is one
observation, not a figure sampled over seeds). The baseline is the same run's
resident memory after warm-up (the first tenth of the run); `grew_after_warmup` is true when the end is more
than max(5 MiB, 2%) above it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import lightning as L
from common import emit, single_run

from o1_lightning.app.cli import O1CLI
from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule

REPO = Path(__file__).resolve().parents[1]


def resident_mib() -> float:
    """Resident set size of this process in MiB (psutil when installed, else /proc/self/status)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/status") as status:
            kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return kib / 1024
    return psutil.Process().memory_info().rss / 2**20


class MemoryProbe(L.Callback):
    """Samples resident memory at the start, at the end of warm-up, every `every` steps, and at the end."""

    def __init__(self, warmup_seconds: float, every: int = 500) -> None:
        self.warmup_seconds, self.every = warmup_seconds, every
        self.figures: dict[str, float] = {}
        self.peak = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = time.monotonic()
        self.figures["rss_start"] = self.peak = resident_mib()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step % self.every == 0:
            self.peak = max(self.peak, resident_mib())
        if "rss_after_warmup" not in self.figures and time.monotonic() - self.started >= self.warmup_seconds:
            self.figures["rss_after_warmup"] = resident_mib()
            self.warm_step, self.warm_time = trainer.global_step, time.monotonic()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.figures["rss_end"] = resident_mib()
        self.figures["rss_peak"] = max(self.peak, self.figures["rss_end"])
        self.steps, self.ended = trainer.global_step, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="how long to train (default 20)")
    parser.add_argument("--config", default=str(REPO / "configs/debug.yaml"))
    options = parser.parse_args()
    seconds = max(10, round(options.minutes * 60))
    probe = MemoryProbe(warmup_seconds=seconds / 10)
    with tempfile.TemporaryDirectory(prefix="o1-soak-") as folder:
        os.chdir(folder)  # checkpoints/ and lightning_logs/ go here and are deleted afterwards
        days, rest = divmod(seconds, 86400)
        max_time = f"{days:02d}:{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        args = ["--config", options.config, "--trainer.max_steps", "-1", "--trainer.max_time", max_time]
        args += ["--trainer.enable_progress_bar", "false"]
        cli = O1CLI(PolicyModule, RolloutDataModule, args=args, run=False, save_config_kwargs={"overwrite": True})
        cli.trainer.callbacks.append(probe)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    figures = probe.figures
    growth = figures["rss_end"] - figures["rss_after_warmup"]
    steps_after_warmup = probe.steps - probe.warm_step
    rows = [
        ("duration", (probe.ended - probe.started) / 60, "min"),
        ("steps", probe.steps, "steps"),
        ("steps_per_second_after_warmup", steps_after_warmup / (probe.ended - probe.warm_time), "steps/s"),
        ("rss_start", figures["rss_start"], "MiB"),
        ("rss_after_warmup", figures["rss_after_warmup"], "MiB"),
        ("rss_end", figures["rss_end"], "MiB"),
        ("rss_peak", figures["rss_peak"], "MiB"),
        ("rss_growth_after_warmup", growth, "MiB"),
        ("rss_growth_per_1000_steps_after_warmup", 1000 * growth / max(1, steps_after_warmup), "MiB"),
        ("grew_after_warmup", growth > max(5.0, 0.02 * figures["rss_after_warmup"]), "bool"),
    ]
    why = "one soak run: resident memory traced over one long fit"
    for name, value, unit in rows:
        emit(name, single_run(float(value), why), unit, config=options.config)


if __name__ == "__main__":
    main()
