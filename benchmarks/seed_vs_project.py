"""Our reading of the seed's algorithm against the project: throughput, Lightning overhead, learning.

"Our reading of the seed": the seed's code is not in this repository; `SeedPolicy`, `SeedEnv`, `seed_episode` and
`seed_update` are how we read its description (one episode per update, a Python loop over env.step, discounted
returns, no baseline). Its description leaves one thing open, so both readings are run: the returns normalised
within each episode (per-episode normalisation) and the raw discounted returns.

Prints one JSON line per figure (benchmarks/common.py `emit`: mean, ci95, seeds); every figure is measured once per
seed (timings: once per repeat, side by side). Run: `python benchmarks/seed_vs_project.py [--quick] [--seeds 0 1 2]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import lightning as L
import torch
from common import emit, fit_in_scratch, summarise
from torch import nn

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.learning.sample_rollout import make_rollout
from o1_lightning.policy.tokenizer import BOS, SPECIALS
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import TargetTask

READINGS = ("normalised", "raw")  # returns normalised within each episode, or left as they are


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
    optimizer: torch.optim.Optimizer, log_probs: list[torch.Tensor], rewards: list[float], gamma: float, reading: str
) -> None:
    """Our reading of the seed's REINFORCE: discounted returns, no baseline; `normalised` per episode, or `raw`."""
    returns, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + gamma * running
        returns.insert(0, running)
    returns = torch.tensor(returns)
    if reading == "normalised":
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


def seed_literal_run(episodes: int, reading: str, seed: int, check_every: int = 100) -> int | None:
    """Train our reading of the seed; the episode count at which greedy first typed the target, or None."""
    torch.manual_seed(seed)
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.01)
    for episode in range(1, episodes + 1):
        seed_update(optimizer, *seed_episode(policy, env), gamma=0.99, reading=reading)
        if episode % check_every == 0 and seed_greedy(policy, task) == task.target:
            return episode
    return None


def seed_rollout_rate(seconds: float) -> float:
    """Episodes per second of our reading of the seed's rollout loop (one episode, one token per GRU call)."""
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))
    count, start = 0, time.perf_counter()
    with torch.no_grad():
        while time.perf_counter() - start < seconds:
            seed_episode(policy, env)
            count += 1
    return count / (time.perf_counter() - start)


def project_rollout_rate(seconds: float, batch_size: int = 512) -> float:
    """Episodes per second of the project's batched sampler."""
    task = TargetTask("hello")
    module = PolicyModule(task.vocab, task.max_length, can_stop=False)
    reward_fn, generator = RewardFunction(), torch.Generator().manual_seed(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        make_rollout(module.policy, task, module.tokenizer, reward_fn, [""], batch_size, generator)
        count += batch_size
    return count / (time.perf_counter() - start)


def hello_parts(seed: int = 0) -> tuple[RolloutDataModule, PolicyModule]:
    """The datamodule and module of configs/hello.yaml's algorithm (batch 512, group baseline)."""
    torch.manual_seed(seed)
    datamodule = RolloutDataModule(
        TargetTask("hello"), batch_size=512, group_size=512, steps_per_epoch=10**6, seed=seed
    )
    module = PolicyModule(datamodule.vocab, datamodule.max_length, can_stop=False, lr=0.015, entropy_coef=0.03)
    return datamodule, module


def raw_loop_rate(steps: int, seed: int = 0) -> float:
    """The same algorithm as `fit`, in a bare PyTorch loop: updates per second."""
    datamodule, module = hello_parts(seed)
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


def fit_rate(steps: int, root: str, seed: int = 0) -> float:
    """Lightning `fit` with TensorBoard every 10 steps and a checkpoint every 50, without validation."""
    datamodule, module = hello_parts(seed)
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


def hello_updates_to_solve(seed: int) -> int:
    """`python train.py fit --config configs/hello.yaml` with `seed`, in a scratch folder (its checkpoints too);
    the update at which val/accuracy reached 1 (-1: never)."""
    args = ["--seed_everything", str(seed), "--data.seed", str(seed)]
    _, curves = fit_in_scratch("hello.yaml", args, ("val/accuracy",))
    solved = [step for step, value in sorted(curves["val/accuracy"].items()) if value == 1.0]
    return solved[0] + 1 if solved else -1


def timings(seeds: list[int], quick: bool) -> None:
    """Rollout throughput and Lightning overhead, measured once per seed (a repeat), side by side."""
    seconds, steps = (2.0, 40) if quick else (5.0, 150)
    figures: dict[str, list[float]] = {}
    for seed in seeds:
        seed_rate, project_rate = seed_rollout_rate(seconds), project_rollout_rate(seconds)
        large_rate = project_rollout_rate(seconds, batch_size=4096)
        with tempfile.TemporaryDirectory() as root:
            raw_loop_rate(5, seed)  # warm-up
            raw, fit = raw_loop_rate(steps, seed), fit_rate(steps, root, seed)
        measured = {"seed_reading": seed_rate, "project": project_rate, "project_4096": large_rate, "raw": raw}
        measured |= {"fit": fit, "speedup": project_rate / seed_rate, "speedup_4096": large_rate / seed_rate}
        for key, value in (measured | {"fit_vs_raw": fit / raw}).items():
            figures.setdefault(key, []).append(value)
    baseline = {"baseline": "our reading of the seed", "machine": "CPU", "threads": 1}
    emit("seed_rollout_episodes_per_s", summarise(figures["seed_reading"], seeds), "episodes/s", **baseline)
    emit("project_rollout_episodes_per_s", summarise(figures["project"], seeds), "episodes/s", batch=512)
    emit("rollout_speedup_vs_seed", summarise(figures["speedup"], seeds), "x", goal=">= 150", **baseline)
    emit("project_rollout_episodes_per_s_batch_4096", summarise(figures["project_4096"], seeds), "episodes/s")
    emit("rollout_speedup_vs_seed_batch_4096", summarise(figures["speedup_4096"], seeds), "x", **baseline)
    emit("raw_loop_updates_per_s", summarise(figures["raw"], seeds), "updates/s", steps=steps)
    emit("fit_updates_per_s", summarise(figures["fit"], seeds), "updates/s", steps=steps)
    emit("fit_vs_raw_ratio", summarise(figures["fit_vs_raw"], seeds), "ratio", goal=">= 0.9")


def learning(seeds: list[int], quick: bool) -> None:
    """Updates hello.yaml needs, and whether our reading of the seed (both readings) types "hello" at all."""
    solved_at = []
    for seed in seeds:
        solved_at.append(hello_updates_to_solve(seed))
    emit(
        "hello_updates_to_solve", summarise(solved_at, seeds), "updates (-1: never)", goal="<= 20", config="hello.yaml"
    )
    episodes = 2_000 if quick else 20_000
    for reading in READINGS:
        runs = [seed_literal_run(episodes, reading, seed) for seed in seeds]
        fields = {"baseline": "our reading of the seed", "reading": reading, "episodes": episodes}
        solved = [float(run is not None) for run in runs]
        emit(f"seed_reading_{reading}_solved", summarise(solved, seeds, (0, 1)), "fraction of seeds", **fields)
        if any(solved):
            episodes_to_solve = [run if run is not None else -1 for run in runs]
            emit(f"seed_reading_{reading}_episodes_to_solve", summarise(episodes_to_solve, seeds), "episodes", **fields)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter timings and 2,000 seed episodes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (at least 3)")
    parser.add_argument("--only", choices=("timings", "learning"), help="run one half")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `train.py` does by default (--torch_threads 1), for the seed loop as well
    if args.only != "learning":
        timings(args.seeds, args.quick)
    if args.only != "timings":
        learning(args.seeds, args.quick)


if __name__ == "__main__":
    main()
