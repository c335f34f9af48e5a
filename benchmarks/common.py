"""Shared by every benchmark: one JSON line per figure, the real CLI in-process, curves, checkpoints.

Benchmarks import the installed package (`pip install -e .`); run them from the repo root as
`python benchmarks/NAME.py` (Python puts benchmarks/ on the path, so `from common import ...` resolves here).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from stats import format_ci, single_run, summarise
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import o1_lightning
from o1_lightning.api import Policy
from o1_lightning.app.cli import main
from o1_lightning.tasks import Task

__all__ = [
    "emit", "summarise", "single_run", "format_ci", "fit", "curve", "load_policy", "accuracy", "CONFIGS",
    "emit_run", "summarise_solved_runs", "fit_in_scratch",
]  # fmt: skip

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


def fit_in_scratch(config: str, args: list[str], tags: tuple[str, ...]) -> tuple[float, dict[str, dict[int, float]]]:
    """`fit` in a scratch folder (its logs and checkpoints too): wall seconds and each TensorBoard tag's curve."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as root:
        os.chdir(root)  # configs name relative checkpoint folders: keep them out of the checkout
        try:
            seconds = fit(config, *args)["wall_s"]
        finally:
            os.chdir(here)
        return seconds, {tag: curve(Path(root), tag) for tag in tags}


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


def emit_run(name: str, run: dict) -> None:
    """One run of a seed sweep (its seed, whether and when it solved, its wall time) and the load it ran under."""
    summary = single_run(run["updates"] if run["updates"] is not None else float("nan"), "one seed's run")
    emit(name, summary, "updates", **run, loadavg=os.getloadavg()[0])


def summarise_solved_runs(name: str, runs: list[dict], seeds: list[int]) -> None:
    """How many runs solved, and `updates` and `wall_s` over the solved ones: mean, 95% interval, max."""
    solved = [run for run in runs if run["updates"] is not None]
    emit(f"{name}_solved", single_run(len(solved), f"a count of {len(runs)} runs"), "runs", of=len(runs))
    for key in ("updates", "wall_s"):
        values = [run[key] for run in solved]
        if len(values) < 3:
            print(f"# {name}_{key}: {len(values)} solved runs, too few for an interval", flush=True)
            continue
        summary = summarise(values, [run["seed"] for run in solved])
        emit(f"{name}_{key}", summary, key, max=max(values), loadavg=os.getloadavg()[0], seeds_asked=seeds)
