"""Search throughput with cached GRU states against a naive baseline that re-runs every prefix.

The baseline is a drop-in stepper whose state is the token prefix (BOS + prompt + completion so far): every
appended token re-runs the whole prefix through `policy.forward`. Both run the very same beam search and MCTS code,
on the same policy and problems, side by side in one run, and must return the same completions. Throughput is in
charged token-steps per second (the accounting rule of `o1_lightning.search.budget`).

Runs with one intra-op thread: every step is a small tensor op, and on a shared 2-core machine a second thread
mostly waits for the busy core. Each side's time is the best of three interleaved runs (about 30 s in all).

Prints one JSON line per figure: {"name", "value", "unit", "goal"}. Run: `python benchmarks/search.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.sweep import markdown_table, sweep
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import HiddenStepper, PolicyLogProbScorer, ProcessScorer, run_search
from o1_lightning.tasks import TargetTask

TARGET = "the quick brown fox jumps over lazy dogs"  # 40 characters


def emit(name: str, value: float, unit: str, goal: str | None = None) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, "goal": goal}), flush=True)


class PrefixRerunStepper:
    """Naive baseline: a state is (tokens (R, T), lengths (R,)), and each step re-runs the whole prefix."""

    def __init__(self, policy: GRUPolicy, tokenizer: CharTokenizer, max_length: int) -> None:
        self.policy, self.tokenizer, self.max_length = policy, tokenizer, max_length
        self.device = next(policy.parameters()).device

    def _last_logits(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        logits, _ = self.policy(tokens[:, : int(lengths.max())])  # (R, T, V): the full prefix, every time
        return logits[torch.arange(tokens.shape[0], device=tokens.device), lengths - 1]  # (R, V)

    def start(self, prompts: list[str]) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        tokens, lengths = self.tokenizer.encode_prompts(prompts, self.device)
        room = torch.zeros(tokens.shape[0], self.max_length + 1, dtype=torch.long, device=self.device)
        tokens, lengths = torch.cat([tokens, room], 1), lengths.to(self.device)
        return self._last_logits(tokens, lengths), (tokens, lengths)

    def step(self, action: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        tokens, lengths = state[0].clone(), state[1]
        tokens[torch.arange(tokens.shape[0], device=tokens.device), lengths] = action
        lengths = lengths + 1
        return self._last_logits(tokens, lengths), (tokens, lengths)

    def take(self, state, rows: torch.Tensor):
        return state[0][rows], state[1][rows]

    def put(self, table, rows: torch.Tensor, state) -> None:
        table[0][rows], table[1][rows] = state

    def table(self, state, size: int):
        return state[0].new_zeros(size, state[0].shape[1]), state[1].new_ones(size)


def timed(method: str, stepper, policy, tokenizer, task, prompts, budget, scorer, **options):
    """(results, seconds, token-steps charged in all) of one search run."""
    start = time.perf_counter()
    results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, None, stepper=stepper, **options)
    return results, time.perf_counter() - start, sum(r.compute for r in results)


def compare(name: str, method: str, policy, tokenizer, task, prompts, budget, scorer, repeats: int, **options) -> float:
    """Emit cached and naive throughputs of one method (best of `repeats` interleaved runs) and return the speedup."""
    cached = HiddenStepper(policy, tokenizer)
    naive = PrefixRerunStepper(policy, tokenizer, task.max_length)
    timed(method, cached, policy, tokenizer, task, prompts[:2], budget, scorer, **options)  # warm-up
    fast_s, slow_s = math.inf, math.inf
    for _ in range(repeats):  # interleaved, so a burst of load on the machine hits both sides
        fast, seconds, fast_steps = timed(method, cached, policy, tokenizer, task, prompts, budget, scorer, **options)
        fast_s = min(fast_s, seconds)
        slow, seconds, slow_steps = timed(method, naive, policy, tokenizer, task, prompts, budget, scorer, **options)
        slow_s = min(slow_s, seconds)
    same = [a.completion for a in fast] == [b.completion for b in slow] and fast_steps == slow_steps
    emit(f"{name}_throughput_cached", round(fast_steps / fast_s), "token-steps/s")
    emit(f"{name}_throughput_naive", round(slow_steps / slow_s), "token-steps/s")
    emit(f"{name}_results_match_naive", float(same), "bool", "1")
    speedup = (fast_steps / fast_s) / (slow_steps / slow_s)
    emit(f"{name}_speedup_vs_naive", round(speedup, 2), "x", ">= 10")
    return speedup


def partly_trained_policy(target: str, max_updates: int = 100) -> tuple[GRUPolicy, CharTokenizer, TargetTask]:
    """hello.yaml's algorithm on `target`, stopped at the first update whose samples solve it 2% of the time."""
    torch.manual_seed(0)
    datamodule = RolloutDataModule(TargetTask(target), batch_size=512, group_size=512)
    module = PolicyModule(datamodule.vocab, datamodule.max_length, can_stop=False, lr=0.015, entropy_coef=0.03)
    datamodule.attach_policy(module.policy)
    optimizer = module.configure_optimizers()
    for step in range(max_updates):
        rollout = datamodule.next_rollout()
        if float(rollout.success.mean()) >= 0.02:
            break
        loss = module.training_step(rollout, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    emit("sweep_policy_updates", step, "updates")
    emit("sweep_policy_sample_success", float(rollout.success.mean()), "success rate of its samples")
    return module.policy.eval(), module.tokenizer, datamodule.task


def accuracy_against_budget(quick: bool) -> None:
    """The test sweep's table for a partly trained policy: success rate over independent draws of one target."""
    policy, tokenizer, task = partly_trained_policy("hello")
    multipliers = [1, 4] if quick else [1, 4, 16, 64]
    budgets = [m * task.max_length for m in multipliers]
    prompts = [""] * (4 if quick else 32)
    rows = sweep(policy, tokenizer, task, prompts, ["greedy", "best_of_n", "majority", "beam", "mcts"], budgets, {})
    for row in rows:
        emit(f"sweep_{row.method}_{row.budget}_accuracy", row.accuracy, f"success rate ({row.scorer})")
    print(markdown_table(rows), end="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems and a smaller budget (a smoke run)")
    args = parser.parse_args()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    task = TargetTask(TARGET)
    tokenizer = CharTokenizer(task.vocab)
    policy = GRUPolicy(tokenizer.size, hidden_size=128, can_stop=task.can_stop).eval()
    problems, repeats = (4, 1) if args.quick else (64, 3)
    prompts = [""] * problems
    emit("search_problems", problems, "prompts")
    emit("search_threads", torch.get_num_threads(), "threads")
    log_prob = PolicyLogProbScorer(policy, tokenizer)
    beam = compare("beam", "beam", policy, tokenizer, task, prompts, 640, log_prob, repeats, width=8)
    budget = 400 if args.quick else 1200
    tree = compare("mcts", "mcts", policy, tokenizer, task, prompts, budget, ProcessScorer(task), repeats)
    emit("search_speedup_vs_naive", round(math.sqrt(beam * tree), 2), "x (geometric mean of beam and mcts)", ">= 10")
    torch.set_num_threads(threads)
    accuracy_against_budget(args.quick)


if __name__ == "__main__":
    main()
