"""docs/hello_curve.png: train/reward, train/success and val/accuracy of `configs/hello.yaml` against updates.

Fits hello.yaml in a scratch folder (seed 0 unless --seed) and plots its TensorBoard curves; needs matplotlib
(`pip install -e ".[plot]"`). Run: `python benchmarks/hello_curve.py [--seed 0] [--out docs/hello_curve.png]`.
"""

from __future__ import annotations

import argparse

import matplotlib
import matplotlib.ticker
import torch
from common import fit_in_scratch

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

TAGS = ("train/reward", "train/success", "val/accuracy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="docs/hello_curve.png")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeded = ["--seed_everything", str(args.seed), "--data.seed", str(args.seed)]
    _, curves = fit_in_scratch("hello.yaml", seeded, TAGS)
    figure, axis = plt.subplots(figsize=(6, 3.5))
    for tag in TAGS:
        steps = sorted(curves[tag])
        axis.plot([step + 1 for step in steps], [curves[tag][step] for step in steps], marker=".", label=tag)
    axis.set_xlabel("update (512 episodes each)")
    axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axis.set_title(f"configs/hello.yaml, seed {args.seed}")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
