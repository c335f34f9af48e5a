"""Train reward models in-process on a given policy's rollouts (benchmarks, notebooks), cached on disk."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch import nn

from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.app.reward_models.module import RewardModelModule
from o1_lightning.policy.checkpoint import read_saved, save_atomically
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.learned.model import RewardModel
from o1_lightning.rewards.learned.scorer import RewardModelScorer
from o1_lightning.tasks.base import Task

Fitted = dict[str, tuple[RewardModel, dict[str, float]]]


def fit_reward_models(
    task: Task,
    policy: nn.Module,
    kinds: tuple[str, ...] = ("outcome", "process"),
    labels: str = "exact",
    mc_samples: int = 4,
    num_prompts: int = 8192,
    samples_per_prompt: int = 4,
    epochs: int = 16,
    batch_size: int = 128,
    hidden_size: int = 128,
    attention_size: int = 0,
    lr: float = 3e-3,
    init_from_policy: bool = True,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    cache_key: str = "",
    extra_train: tuple[list[str], list[str]] | None = None,
) -> Fitted:
    """{kind: (trained model, validation metrics)} for each kind, all fit on one labelled set of `policy` rollouts
    (plus `extra_train` (prompts, completions), labelled the same way: e.g. a search's picks, `search_proposals`).

    With `cache_dir`, models are saved as `<cache_key>_<kind>_<settings>.pt` and reloaded on the next call (the key
    must name the policy, and the extra completions' origin; the settings and their count are added here).
    """
    tokenizer = CharTokenizer(task.vocab)
    settings = (
        f"{labels}{mc_samples if labels != 'exact' else ''}_n{num_prompts}x{samples_per_prompt}_e{epochs}b{batch_size}"
    )
    settings += f"_h{hidden_size}_init{int(init_from_policy)}_seed{seed}_trainsplit"  # fit on train-split prompts
    settings += f"_att{attention_size}" if attention_size else ""  # plain models keep their older cache names
    if extra_train is not None:
        settings += f"_plus{len(extra_train[1])}"
    paths = {}
    if cache_dir is not None:
        paths = {kind: Path(cache_dir) / f"{cache_key}_{kind}_{settings}.pt" for kind in kinds}
    if paths and all(path.is_file() for path in paths.values()):
        out = {}
        for kind, path in paths.items():
            saved = read_saved(path, "reward model cache")
            model = RewardModel(tokenizer.size, hidden_size=hidden_size, attention_size=attention_size)
            model.load_state_dict(saved["state_dict"])
            out[kind] = (model.eval(), saved["metrics"])
        return out
    datamodule = RewardDataModule(
        task,
        num_prompts=num_prompts,
        val_prompts=min(512, max(64, num_prompts // 4)),
        samples_per_prompt=samples_per_prompt,
        labels=labels,
        mc_samples=mc_samples,
        batch_size=batch_size,
        seed=seed,
        cache_dir=None,
    )
    datamodule.policy, datamodule.extra_train = policy, extra_train
    out = {}
    for kind in kinds:
        L.seed_everything(seed, verbose=False)
        module = RewardModelModule(
            task.vocab,
            kind=kind,
            hidden_size=hidden_size,
            attention_size=attention_size,
            lr=lr,
            init_from_policy=init_from_policy,
        )
        trainer = L.Trainer(
            max_epochs=epochs,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            gradient_clip_val=1.0,
        )
        trainer.fit(module, datamodule=datamodule)
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        out[kind] = (module.model.eval(), metrics)
        if kind in paths:
            save_atomically({"state_dict": module.model.state_dict(), "metrics": metrics}, paths[kind])
    return out


def scorers_of(task: Task, models: Fitted, reduce: str = "min", suffix: str = "") -> dict[str, RewardModelScorer]:
    """RewardModelScorers named orm<suffix> / prm_<reduce><suffix> for the models `fit_reward_models` returned."""
    tokenizer = CharTokenizer(task.vocab)
    scorers = {}
    for kind, (model, _) in models.items():
        name = ("orm" if kind == "outcome" else f"prm_{reduce}") + suffix
        scorers[kind] = RewardModelScorer(model, tokenizer, task, kind, reduce, name)
    return scorers
