"""reasoning-gym's procedural tasks as verifiable character tasks (optional extra: pip install -e ".[reasoning-gym]").

Each entry of a reasoning-gym dataset is a question, an answer and metadata, generated from `seed + index`; the
dataset's own `score_answer(answer, entry)` is the verifier. Train entries are indices 0..size-1 (seeds
seed..seed+size-1), eval entries the next eval_size indices (seeds seed+size..), minus any whose prompt a train
entry already has: small problem spaces repeat questions, and a repeated one is not held out.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import fields
from typing import Any

import torch

from o1_lightning.errors import O1Error
from o1_lightning.tasks.base import Task
from o1_lightning.tasks.split import check_split

INSTALL_HINT = "pip install -e '.[reasoning-gym]' (or pip install reasoning-gym==0.1.25)"


def import_reasoning_gym() -> Any:
    """The reasoning_gym module, imported on first use so that the package imports without the extra."""
    try:
        return importlib.import_module("reasoning_gym")
    except ImportError:
        raise O1Error(
            f"ReasoningGymTask needs the reasoning-gym package, which is not installed: {INSTALL_HINT}"
        ) from None


def create_dataset(name: str, config: dict[str, Any], seed: int, size: int) -> Any:
    """`reasoning_gym.create_dataset`, with unknown names, unknown config keys and invalid values as O1Error."""
    reasoning_gym = import_reasoning_gym()
    registered = reasoning_gym.factory.DATASETS
    if name not in registered:
        close = difflib.get_close_matches(name, registered, n=3)
        hint = f"close names: {', '.join(close)}" if close else f"{len(registered)} datasets, e.g. chain_sum"
        raise O1Error(f"unknown reasoning-gym dataset {name!r}; {hint}")
    config_class = registered[name][1]
    allowed = [field.name for field in fields(config_class) if field.name not in ("seed", "size")]
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise O1Error(f"reasoning-gym dataset {name!r} has no config key {', '.join(unknown)}; allowed: {allowed}")
    try:
        return reasoning_gym.create_dataset(name, seed=seed, size=size, **config)
    except (AssertionError, ValueError, TypeError) as err:
        raise O1Error(f"reasoning-gym dataset {name!r} rejects config {config}: {err}") from None


class ReasoningGymTask(Task):
    """One reasoning-gym dataset: prompt = the question (or `prompt_template` over the entry's metadata),
    completion = the answer, verifier = the dataset's `score_answer(...) == 1.0`.

    `prompt_template` (e.g. "{expression}=" for chain_sum, "{word}" for spell_backward) gives a character
    policy a compact prompt; `{question}` is the full question. The whole completion is one step; a partial
    score s < 1 (where the dataset gives one) counts as 1 - s mistakes, so the outcome reward is
    +correct_reward for a solved entry and -mistake_penalty * (1 - s) otherwise.
    """

    def __init__(
        self,
        dataset: str,
        config: dict[str, Any] | None = None,
        seed: int = 0,
        size: int = 5000,
        eval_size: int = 1000,
        prompt_template: str | None = None,
    ) -> None:
        if size < 1 or eval_size < 1:
            raise O1Error(f"size and eval_size must be at least 1, got {size}, {eval_size}")
        self.dataset, self.config, self.seed = dataset, dict(config or {}), seed
        self.size, self.eval_size, self.prompt_template = size, eval_size, prompt_template
        source = create_dataset(dataset, self.config, seed, size + eval_size)
        self.score_answer = source.score_answer
        entries = [source[index] for index in range(size + eval_size)]
        prompts = [self.render(entry) for entry in entries]
        self.entries: dict[str, dict[str, Any]] = {}
        for prompt, entry in zip(prompts, entries):
            self.add_entry(prompt, entry)
        train = list(dict.fromkeys(prompts[:size]))
        seen = set(train)
        self.splits = {"train": train, "eval": [p for p in dict.fromkeys(prompts[size:]) if p not in seen]}
        if not self.splits["eval"]:
            raise O1Error(
                f"reasoning-gym dataset {dataset!r}: every eval question repeats a train one (the problem space is "
                f"small); lower size ({size}) or widen config"
            )
        texts = prompts + [entry["answer"] for entry in entries]
        self.vocab = "".join(sorted(set("".join(texts))))
        self.max_length = max(len(entry["answer"]) for entry in entries)

    def render(self, entry: dict[str, Any]) -> str:
        """The prompt of an entry: the question, or `prompt_template` filled from the question and metadata."""
        if self.prompt_template is None:
            return entry["question"]
        try:
            return self.prompt_template.format(question=entry["question"], **entry["metadata"])
        except (KeyError, IndexError, ValueError) as err:
            keys = ["question", *entry["metadata"]]
            raise O1Error(
                f"prompt_template {self.prompt_template!r} cannot be filled ({err!r}); allowed fields: {keys}"
            ) from None

    def add_entry(self, prompt: str, entry: dict[str, Any]) -> None:
        """Index an entry by its prompt; two entries with one prompt must agree on the answer."""
        known = self.entries.setdefault(prompt, entry)
        if known["answer"] != entry["answer"]:
            raise O1Error(
                f"prompt_template {self.prompt_template!r} gives two entries the prompt {prompt!r} with different "
                f"answers ({known['answer']!r}, {entry['answer']!r}); put more of the metadata in the template"
            )

    def draw_prompt(self, generator: torch.Generator) -> str:
        """One prompt of the whole space (train and eval questions alike)."""
        pool = self.splits["train"] + self.splits["eval"]
        return pool[int(torch.randint(len(pool), (1,), generator=generator))]

    def sample_prompts(self, n: int, generator: torch.Generator, split: str = "train") -> list[str]:
        """`n` prompts drawn uniformly, with replacement, from the split's distinct prompts.

        The split is the dataset's own seed ranges (train: `seed .. seed + size - 1`, eval: the next `eval_size`),
        not the hash rule of tasks/split.py: a generated dataset is its seeds.
        """
        pool = self.splits[check_split(split)]
        return [pool[i] for i in torch.randint(len(pool), (n,), generator=generator).tolist()]

    def entry(self, prompt: str) -> dict[str, Any]:
        self.check_prompt(prompt)
        return self.entries[prompt]

    def check_prompt(self, prompt: str) -> None:
        if prompt not in self.entries:
            outside = sorted(set(prompt) - set(self.vocab))
            why = f"characters outside the vocab: {''.join(outside)!r}" if outside else "it is not one of its entries"
            raise O1Error(
                f"prompt {prompt!r} is not a question of reasoning-gym dataset {self.dataset!r} "
                f"(seed {self.seed}, {self.size} + {self.eval_size} entries): {why}"
            )

    def score(self, prompt: str, completion: str) -> float:
        """The dataset's own score of `completion` as the answer, in [0, 1]."""
        return float(self.score_answer(completion, self.entry(prompt)))

    def outcome(self, prompt: str, completion: str) -> bool:
        return self.score(prompt, completion) == 1.0

    def steps(self, completion: str) -> list[str]:
        return [completion] if completion else []

    def process(self, prompt: str, completion: str) -> list[bool]:
        return [self.outcome(prompt, completion)] if completion else []

    def mistakes(self, prompt: str, completion: str) -> float:
        """1 - score: partial credit lowers the penalty (an empty completion scores 0: one whole mistake)."""
        return 1.0 - self.score(prompt, completion)

    def demonstrate(self, prompt: str) -> str:
        return self.entry(prompt)["answer"]
