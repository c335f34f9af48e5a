"""Seconds from `python train.py fit` starting to its first update, for this checkout and optionally another
(e.g. `git archive 1e14605 | tar -x -C /tmp/base`), alternated in one run so that machine load hits both alike.

    python benchmarks/startup.py --baseline /tmp/base --repeats 3

Prints one JSON line per figure: the median seconds to the first update and to `import o1_lightning.app.cli` for
each checkout, and their ratios (baseline / this).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, emit, summarise

PROBE = """
import os, sys, time
import lightning as L
class FirstUpdate(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 0:
            print(f"FIRST_UPDATE {time.time() - float(os.environ['STARTUP_T0']):.3f}", file=sys.stderr, flush=True)
"""


def to_first_update(checkout: Path, probe_dir: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{probe_dir}", "STARTUP_T0": repr(time.time())}
        command = [sys.executable, str(checkout / "train.py"), "fit", "--config", str(checkout / "configs/debug.yaml")]
        command += ["--trainer.max_steps", "1", "--trainer.callbacks+=startup_probe.FirstUpdate"]
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=True)
    return float(next(line for line in done.stderr.splitlines() if line.startswith("FIRST_UPDATE")).split()[1])


def import_seconds(checkout: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import o1_lightning.app.cli"], env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with (optional)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    checkouts = {"this": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    figures: dict[str, dict[str, list[float]]] = {name: {"first": [], "import": []} for name in checkouts}
    with tempfile.TemporaryDirectory() as probe_dir:
        Path(probe_dir, "startup_probe.py").write_text(PROBE)
        for _ in range(args.repeats):
            for name, checkout in checkouts.items():
                figures[name]["first"].append(to_first_update(checkout, Path(probe_dir)))
                figures[name]["import"].append(import_seconds(checkout))
    repeats = list(range(args.repeats))  # alternated runs side by side: the interval is over repeats, not seeds
    for name, figure in figures.items():
        emit(f"seconds_to_first_update_{name}", summarise(figure["first"], repeats), "s", over="repeats")
        emit(f"seconds_to_import_cli_{name}", summarise(figure["import"], repeats), "s", over="repeats")
    if "baseline" in figures:
        ratios = [b / t for b, t in zip(figures["baseline"]["first"], figures["this"]["first"])]
        emit("first_update_ratio_baseline_over_this", summarise(ratios, repeats), "x", over="repeats")


if __name__ == "__main__":
    main()
