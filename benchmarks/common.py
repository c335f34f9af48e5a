"""Shared by every benchmark: one JSON line per figure, the real CLI in-process, curves, checkpoints.

Benchmarks import the installed package (`pip install -e .`); run them from the repo root as
`python benchmarks/NAME.py` (Python puts benchmarks/ on the path, so `from common import ...` resolves here).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from stats import format_ci, single_run, summarise
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from o1_lightning.app.cli import main
from o1_lightning.app.module import PolicyModule
from o1_lightning.tasks import Task

__all__ = ["emit", "summarise", "single_run", "format_ci", "fit", "curve", "load_policy", "accuracy", "CONFIGS"]

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def emit(name: str, summary: dict, unit: str, **fields) -> dict:
    """Print one figure as one JSON line: name, mean, ci95, seeds (from `summarise` or `single_run`), unit, fields.

    Returns the line as a dict, so a benchmark can build its tables from exactly what it printed.
    """
    line = {"name": name, **summary, "unit": unit, **fields}
    print(json.dumps(line), flush=True)
    return line


def fit(config: str, *args: str) -> dict[str, float]:
    """`python train.py fit --config configs/CONFIG ARGS` in this process; its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        main(["fit", "--config", str(CONFIGS / config), "--trainer.enable_progress_bar", "false", *args])
    except SystemExit as exit_:
        if exit_.code:
            raise RuntimeError(f"fit {config} {' '.join(args)} failed with status {exit_.code}") from None
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def curve(log_dir: Path, tag: str) -> dict[int, float]:
    """{step: value} of a TensorBoard scalar over every event file under `log_dir`."""
    values = {}
    for events in sorted(Path(log_dir).rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            values.update({event.step: event.value for event in accumulator.Scalars(tag)})
    return values


def load_policy(checkpoint: Path, weights: bool = True) -> PolicyModule:
    """The PolicyModule of a checkpoint (loaded weights-only); weights=False: freshly initialised, same shape."""
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    hparams = {k: v for k, v in saved["hyper_parameters"].items() if not k.startswith("_")}
    module = PolicyModule(**dict(hparams, init_from=None, kl_coef=0.0))
    if weights:
        module.policy.load_state_dict(
            {k[len("policy.") :]: v for k, v in saved["state_dict"].items() if k.startswith("policy.")}
        )
    return module.eval()


def accuracy(module: PolicyModule, task: Task, prompts: list[str], chunk: int = 500) -> float:
    """Greedy-decode accuracy of `module` on `prompts`, checked by the task's verifier."""
    correct = 0
    for start in range(0, len(prompts), chunk):
        batch = prompts[start : start + chunk]
        correct += sum(task.outcome(p, c) for p, c in zip(batch, module.generate(batch)))
    return correct / len(prompts)
