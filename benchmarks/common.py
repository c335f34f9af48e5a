"""Shared by the learning benchmarks: run the real CLI in-process, read curves, evaluate checkpoints."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's package, not an installed one

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import o1_lightning  # noqa: E402
from o1_lightning.api import Policy  # noqa: E402
from o1_lightning.app.cli import main  # noqa: E402
from o1_lightning.tasks import Task  # noqa: E402

CONFIGS = REPO / "configs"


def emit(name: str, value: float, unit: str) -> None:
    """One figure as one JSON line on stdout."""
    print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)


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


def load_policy(checkpoint: Path, weights: bool = True) -> Policy:
    """The policy of a checkpoint (`o1_lightning.load_policy`: weights only, checked); weights=False: freshly
    initialised, same shape."""
    policy = o1_lightning.load_policy(checkpoint)
    if not weights:
        for part in policy.model.modules():
            if hasattr(part, "reset_parameters"):
                part.reset_parameters()
    return policy


def accuracy(module: Policy, task: Task, prompts: list[str], chunk: int = 500) -> float:
    """Greedy-decode accuracy of `module` on `prompts`, checked by the task's verifier."""
    correct = 0
    for start in range(0, len(prompts), chunk):
        batch = prompts[start : start + chunk]
        correct += sum(task.outcome(p, c) for p, c in zip(batch, module.generate(batch)))
    return correct / len(prompts)
