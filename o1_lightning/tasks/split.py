"""The train/eval split of a task's prompt space: a stable slice of every space is reserved for evaluation.

A prompt is an eval prompt iff a hash of its text falls in the first EVAL_PERCENT of 100 buckets. The rule needs no
list of the space, is the same in every process and run (blake2b, not Python's salted `hash`), and holds for any
task whose prompts are text. Training (rollouts, demonstrations, reward-model data, the search refresh, imitation)
draws only "train" prompts; validation, test and benchmarks draw only "eval" ones, so no figure is measured on a
prompt the policy was trained on.
"""

from __future__ import annotations

import hashlib

from o1_lightning.errors import O1Error

SPLITS = ("train", "eval")
EVAL_PERCENT = 10  # share of the prompt space held out for evaluation, in per cent


def prompt_split(prompt: str) -> str:
    """'eval' for the held-out slice of the prompt space (by a hash of the text), else 'train'."""
    bucket = int.from_bytes(hashlib.blake2b(prompt.encode(), digest_size=8).digest(), "big") % 100
    return "eval" if bucket < EVAL_PERCENT else "train"


def check_split(split: str) -> str:
    """`split` itself, or O1Error naming the allowed splits."""
    if split not in SPLITS:
        raise O1Error(f"prompt split {split!r} is not one of {', '.join(SPLITS)}")
    return split
