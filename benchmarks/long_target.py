"""Reward design on a long target: outcome reward, process reward, shaping and search refresh, side by side.

Each variant is `configs/long_target.yaml` with a few overrides, run through the real CLI for at most
`--max-updates` updates. Prints one JSON line per figure ({"name", "value", "unit"}) and a markdown table:
updates, episodes and wall time to solve (greedy types the target), or the best greedy step accuracy reached.
Run: `python benchmarks/long_target.py [--target TEXT] [--max-updates N]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from o1_lightning.app.cli import main as cli_main

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "long_target.yaml"
NO_REFRESH = """
trainer:
  callbacks:
    - class_path: lightning.pytorch.callbacks.EarlyStopping
      init_args: {monitor: val/accuracy, mode: max, stopping_threshold: 0.999, patience: 1000000}
data:
  buffer_batch_size: 0
"""
VARIANTS = {  # overrides of configs/long_target.yaml; "NO_REFRESH" drops its search-data refresh
    "outcome": ["NO_REFRESH", "--data.reward", "outcome", "--data.gamma", "0.99"],
    "outcome+shaping": ["NO_REFRESH", "--data.reward", "outcome+shaping", "--data.gamma", "0.99"],
    "process": ["NO_REFRESH"],
    "process, entropy 0.05": ["NO_REFRESH", "--model.entropy_coef", "0.05"],
    "process+search_refresh": [],
}


def scalars(root: Path, tag: str) -> dict[int, float]:
    values = {}
    for events in root.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            values.update({event.step: event.value for event in accumulator.Scalars(tag)})
    return values


def run_variant(name: str, overrides: list[str], target: str, max_updates: int, root: Path) -> dict:
    args = ["fit", "--config", str(CONFIG), "--data.task.init_args.target", target]
    if overrides[:1] == ["NO_REFRESH"]:
        (root / "no_refresh.yaml").write_text(NO_REFRESH)
        overrides = ["--config", str(root / "no_refresh.yaml"), *overrides[1:]]
    args += [*overrides, "--trainer.max_steps", str(max_updates), "--trainer.default_root_dir", str(root)]
    args += ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    start = time.perf_counter()
    cli_main(args)
    seconds = time.perf_counter() - start
    accuracy = scalars(root, "val/accuracy")
    step_accuracy = scalars(root, "val/step_accuracy")
    solved = [step for step, value in sorted(accuracy.items()) if value == 1.0]
    updates = solved[0] + 1 if solved else None
    return {
        "variant": name,
        "solved": bool(solved),
        "updates": updates,
        "seconds": round(seconds, 1),
        "best_step_accuracy": round(max(step_accuracy.values()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="the quick brown fox jumps over the lazy dog and runs off")
    parser.add_argument("--max-updates", type=int, default=300)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    args = parser.parse_args()
    batch = 256  # configs/long_target.yaml's batch_size
    rows = []
    for name in args.variants:
        with tempfile.TemporaryDirectory() as root:
            row = run_variant(name, VARIANTS[name], args.target, args.max_updates, Path(root))
        rows.append(row)
        for key in ("updates", "seconds", "best_step_accuracy"):
            print(json.dumps({"name": f"long_target_{name}_{key}", "value": row[key], "unit": key}), flush=True)
    print(f"\ntarget: {args.target!r} ({len(args.target)} characters), at most {args.max_updates} updates\n")
    print("| reward | solved | updates | episodes | wall time (s) | best greedy step accuracy |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        episodes = row["updates"] * batch if row["updates"] else "-"
        print(
            f"| {row['variant']} | {row['solved']} | {row['updates'] or '-'} | {episodes} | {row['seconds']} "
            f"| {row['best_step_accuracy']} |"
        )


if __name__ == "__main__":
    main()
