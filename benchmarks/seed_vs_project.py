"""The seed's algorithm, written literally, against the project: throughput, Lightning overhead, learning.

Prints one JSON line per figure: {"name", "value", "unit", "goal"}. All figures come from one run on one
machine, each ratio measured side by side. Run: `python benchmarks/seed_vs_project.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from torch import nn

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.learning.sample_rollout import make_rollout
from o1_lightning.policy.tokenizer import BOS, SPECIALS
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import TargetTask

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "hello.yaml"


def emit(name: str, value: float, unit: str, goal: str | None = None) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, "goal": goal}), flush=True)


class SeedPolicy(nn.Module):
    """The seed's network: embedding -> GRU -> linear over the characters, fed one token at a time."""

    def __init__(self, vocab_size: int, hidden_size: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size + SPECIALS, 32)
        self.gru = nn.GRU(32, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, token: torch.Tensor, hidden: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        out, hidden = self.gru(self.embedding(token).view(1, 1, -1), hidden)
        return self.head(out.view(-1)), hidden


class SeedEnv:
    """The seed's TextGenerationEnv: a list of characters, rewarded once at the end."""

    def __init__(self, target: str, vocab: str) -> None:
        self.target, self.vocab = target, vocab

    def reset(self) -> str:
        self.generated = []
        return ""

    def step(self, action: int) -> tuple[str, float, bool]:
        self.generated.append(self.vocab[action])
        done = len(self.generated) == len(self.target)
        reward = 0.0
        if done:
            wrong = sum(g != t for g, t in zip(self.generated, self.target))
            reward = 1.0 if wrong == 0 else -0.1 * wrong
        return "".join(self.generated), reward, done


def seed_episode(policy: SeedPolicy, env: SeedEnv) -> tuple[list[torch.Tensor], list[float]]:
    """One episode exactly as the seed plays it: a Python loop over env.step, one token per GRU call."""
    env.reset()
    token, hidden, log_probs, rewards = torch.tensor([BOS]), None, [], []
    done = False
    while not done:
        logits, hidden = policy(token, hidden)
        dist = torch.distributions.Categorical(logits=logits)
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        _, reward, done = env.step(int(action))
        rewards.append(reward)
        token = action.view(1) + SPECIALS
    return log_probs, rewards


def seed_update(
    optimizer: torch.optim.Optimizer,
    log_probs: list[torch.Tensor],
    rewards: list[float],
    gamma: float,
    normalize: bool = True,
) -> None:
    """The seed's REINFORCE: discounted returns, normalised within the episode (our reading; `normalize=False`: the
    other reading, raw returns), no baseline."""
    returns, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + gamma * running
        returns.insert(0, running)
    returns = torch.tensor(returns)
    if normalize:
        returns = (returns - returns.mean()) / (returns.std(unbiased=False) + 1e-9)
    loss = -(torch.stack(log_probs) * returns).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@torch.no_grad()
def seed_greedy(policy: SeedPolicy, task: TargetTask) -> str:
    token, hidden, text = torch.tensor([BOS]), None, ""
    for _ in range(task.max_length):
        logits, hidden = policy(token, hidden)
        action = int(logits.argmax())
        text += task.vocab[action]
        token = torch.tensor([action + SPECIALS])
    return text


def seed_literal_run(episodes: int, check_every: int = 100) -> int | None:
    """Train the seed literally; the episode count at which greedy first typed the target, or None."""
    torch.manual_seed(0)
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.01)
    for episode in range(1, episodes + 1):
        seed_update(optimizer, *seed_episode(policy, env), gamma=0.99)
        if episode % check_every == 0 and seed_greedy(policy, task) == task.target:
            return episode
    return None


def seed_rollout_rate(seconds: float) -> float:
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))
    count, start = 0, time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - start < seconds:
            seed_episode(policy, env)
            count += 1
    return count / (time.perf_counter() - start)


def project_rollout_rate(seconds: float, batch_size: int = 512) -> float:
    task = TargetTask("hello")
    module = PolicyModule(task.vocab, task.max_length, can_stop=False)
    reward_fn, generator = RewardFunction(), torch.Generator().manual_seed(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        make_rollout(module.policy, task, module.tokenizer, reward_fn, [""], batch_size, generator)
        count += batch_size
    return count / (time.perf_counter() - start)


def hello_parts() -> tuple[RolloutDataModule, PolicyModule]:
    """The datamodule and module of configs/hello.yaml's algorithm (batch 512, group baseline)."""
    torch.manual_seed(0)
    datamodule = RolloutDataModule(TargetTask("hello"), batch_size=512, group_size=512, steps_per_epoch=10**6)
    module = PolicyModule(datamodule.vocab, datamodule.max_length, can_stop=False, lr=0.015, entropy_coef=0.03)
    return datamodule, module


def raw_loop_rate(steps: int) -> float:
    """The same algorithm as `fit`, in a bare PyTorch loop: updates per second."""
    datamodule, module = hello_parts()
    datamodule.attach_policy(module.policy)
    module.log_rollout = lambda *args: None  # a bare loop logs nothing
    optimizer = module.configure_optimizers()
    start = time.perf_counter()
    for step in range(steps):
        loss = module.training_step(datamodule.next_rollout(), step)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.policy.parameters(), 1.0)
        optimizer.step()
    return steps / (time.perf_counter() - start)


def fit_rate(steps: int, root: str) -> float:
    """Lightning `fit` with TensorBoard every 10 steps and a checkpoint every 50, without validation."""
    datamodule, module = hello_parts()
    trainer = L.Trainer(
        max_steps=steps,
        default_root_dir=root,
        gradient_clip_val=1.0,
        log_every_n_steps=10,
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[L.pytorch.callbacks.ModelCheckpoint(dirpath=root, every_n_train_steps=50, save_last=True)],
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule)
    return steps / (time.perf_counter() - start)


def hello_updates_to_solve(root: str) -> int:
    """Run `python train.py fit --config configs/hello.yaml`; the update at which val/accuracy reached 1."""
    from o1_lightning.app.cli import main

    main(["fit", "--config", str(CONFIG), "--trainer.default_root_dir", root, "--trainer.enable_progress_bar", "false"])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next(Path(root).rglob("events.out.tfevents.*"))))
    events.Reload()
    solved = [event.step for event in events.Scalars("val/accuracy") if event.value == 1.0]
    return solved[0] + 1 if solved else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter timings and 2,000 seed episodes")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `train.py` does by default (--torch_threads 1), for the seed loop as well
    seconds, steps = (2.0, 40) if args.quick else (5.0, 150)
    seed_rate, project_rate = seed_rollout_rate(seconds), project_rollout_rate(seconds)
    emit("seed_rollout_episodes_per_s", round(seed_rate, 1), "episodes/s")
    emit("project_rollout_episodes_per_s", round(project_rate, 1), "episodes/s")
    emit("rollout_speedup_vs_seed", round(project_rate / seed_rate, 1), "x", ">= 200")
    large_rate = project_rollout_rate(seconds, batch_size=4096)
    emit("project_rollout_episodes_per_s_batch_4096", round(large_rate, 1), "episodes/s")
    emit("rollout_speedup_vs_seed_batch_4096", round(large_rate / seed_rate, 1), "x")
    with tempfile.TemporaryDirectory() as root:
        raw_loop_rate(5)  # warm-up
        raw, fit = raw_loop_rate(steps), fit_rate(steps, root)
    emit("raw_loop_updates_per_s", round(raw, 2), "updates/s")
    emit("fit_updates_per_s", round(fit, 2), "updates/s")
    emit("fit_vs_raw_ratio", round(fit / raw, 3), "ratio", ">= 0.9")
    with tempfile.TemporaryDirectory() as root:
        emit("hello_updates_to_solve", hello_updates_to_solve(root), "updates", "<= 20")
    episodes = 2_000 if args.quick else 20_000
    solved_at = seed_literal_run(episodes)
    emit("seed_literal_solved", solved_at is not None, f"within {episodes} episodes")
    emit("seed_literal_episodes_to_solve", solved_at if solved_at is not None else -1, "episodes (-1: never)")


if __name__ == "__main__":
    main()
