"""Where a reward model's policy comes from: a train.py checkpoint, or a quick imitation of task demonstrations.

The imitation loop is a plain teacher-forced cross-entropy loop (encode_demonstrations + sft_loss), stopped
early on purpose: reward models and search need a policy that is decent but imperfect, so that its own rollouts
hold both right and wrong steps. It is not the project's SFT objective (that lives in the PolicyModule).
"""

from __future__ import annotations

from pathlib import Path

import torch

from o1_lightning.errors import O1Error
from o1_lightning.learning.losses import sft_loss
from o1_lightning.policy.checkpoint import read_saved, save_atomically
from o1_lightning.policy.gru import GRUPolicy, log_probs_and_entropy
from o1_lightning.policy.sequences import encode_demonstrations
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks.base import Task


def imitate(
    task: Task,
    steps: int,
    batch_size: int = 128,
    lr: float = 1e-2,
    embedding_dim: int = 32,
    hidden_size: int = 128,
    seed: int = 0,
) -> GRUPolicy:
    """A GRU policy trained for `steps` Adam updates on demonstrations of freshly drawn prompts (eval mode)."""
    if steps < 0:
        raise O1Error(f"imitation steps must be >= 0, got {steps}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    tokenizer = CharTokenizer(task.vocab)
    policy = GRUPolicy(tokenizer.size, embedding_dim, hidden_size, can_stop=task.can_stop)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        prompts = task.sample_prompts(batch_size, generator, "train")
        completions = [task.demonstrate(p) for p in prompts]
        tokens, mask = encode_demonstrations(tokenizer, prompts, completions, end=task.can_stop)  # (B, T), (B, T-1)
        logits, _ = policy(tokens[:, :-1])  # (B, T-1, V)
        log_probs, _ = log_probs_and_entropy(logits, tokens[:, 1:])  # (B, T-1), -inf where the target is PAD
        loss = sft_loss(log_probs.masked_fill(~mask, 0.0), mask)  # masked first: -inf * 0 would be NaN
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return policy.eval()


def cached_imitation(task: Task, steps: int, cache_dir: str | Path | None, seed: int = 0, **options) -> GRUPolicy:
    """`imitate`, saved to and reloaded from `cache_dir` (keyed by task, steps, seed and options) if one is given."""
    if cache_dir is None:
        return imitate(task, steps, seed=seed, **options)
    knobs = "".join(f"_{k}{v}" for k, v in sorted(options.items()))
    # "_trainsplit": trained on train-split prompts only (tasks/split.py); caches from before the split are not reused
    path = Path(cache_dir) / f"{type(task).__name__}_{task_key(task)}_steps{steps}_seed{seed}{knobs}_trainsplit.pt"
    if path.is_file():
        saved = read_saved(path, "imitation cache")
        try:
            policy = GRUPolicy(**saved["shape"])
            policy.load_state_dict(saved["state_dict"])
        except (KeyError, TypeError, RuntimeError) as err:
            raise O1Error(
                f"imitation cache {str(path)!r} does not hold a policy ({type(err).__name__}); delete it"
            ) from None
        return policy.eval()
    policy = imitate(task, steps, seed=seed, **options)
    shape = {
        "vocab_size": policy.head.out_features,
        "embedding_dim": policy.embedding.embedding_dim,
        "hidden_size": policy.gru.hidden_size,
        "num_layers": policy.gru.num_layers,
        "can_stop": task.can_stop,
    }
    save_atomically({"shape": shape, "state_dict": policy.state_dict()}, path)  # a torn cache would break later runs
    return policy


def task_key(task: Task) -> str:
    """The task's public integer settings, e.g. 'min_digits1_max_digits5', naming cache files."""
    return "_".join(f"{k}{v}" for k, v in sorted(vars(task).items()) if isinstance(v, int) and not k.startswith("_"))
