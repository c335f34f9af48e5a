"""Search throughput with cached GRU states against a naive baseline that re-runs every prefix.

The baseline is a drop-in stepper whose state is the token prefix (BOS + prompt + completion so far): every
appended token re-runs the whole prefix through `policy.forward`. Both run the very same beam search and MCTS code,
on the same policy and problems, side by side in one run, and must return the same completions. Throughput is in
charged token-steps per second (the accounting rule of `o1_lightning.search.budget`).

Runs with one intra-op thread: every step is a small tensor op, and on a shared 2-core machine a second thread
mostly waits for the busy core. Each seed is a fresh random policy; each side's time is the best of `repeats`
interleaved runs.

Then accuracy against compute spent on hello: one partly trained policy per seed, every method scored by the same
per-character oracle (process), random methods repeated over independent draws, deterministic ones solved once.
TargetTask's prompt space is its one (empty) prompt, so its eval split is that prompt (tasks/target.py).

Prints one JSON line per figure (benchmarks/common.py `emit`: mean, ci95 and seeds).
Run: `python benchmarks/search.py [--quick] [--seeds 0 1 2]`.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from common import emit, format_ci, summarise

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.app.sweep import SweepRow, sweep
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import HiddenStepper, PolicyLogProbScorer, ProcessScorer, run_search
from o1_lightning.tasks import TargetTask

TARGET = "the quick brown fox jumps over lazy dogs"  # 40 characters


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


def compare(method: str, policy, tokenizer, task, prompts, budget, scorer, repeats: int, **options) -> dict:
    """Cached and naive throughputs of one method (best of `repeats` interleaved runs), and whether they agree."""
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
    cached_rate, naive_rate = fast_steps / fast_s, slow_steps / slow_s
    return {"cached": cached_rate, "naive": naive_rate, "speedup": cached_rate / naive_rate, "match": float(same)}


def throughput(seeds: list[int], quick: bool) -> None:
    """Cached against re-run-prefix search on one random policy per seed: throughputs, agreement, speedups."""
    task = TargetTask(TARGET)
    tokenizer = CharTokenizer(task.vocab)
    problems, repeats = (4, 1) if quick else (64, 2)
    prompts = [""] * problems
    figures: dict[str, list[float]] = {}
    for seed in seeds:
        torch.manual_seed(seed)
        policy = GRUPolicy(tokenizer.size, hidden_size=128, can_stop=task.can_stop).eval()
        log_prob = PolicyLogProbScorer(policy, tokenizer)
        beam = compare("beam", policy, tokenizer, task, prompts, 640, log_prob, repeats, width=8)
        tree = compare("mcts", policy, tokenizer, task, prompts, 400 if quick else 1200, ProcessScorer(task), repeats)
        for name, result in (("beam", beam), ("mcts", tree)):
            for key, value in result.items():
                figures.setdefault(f"{name}_{key}", []).append(value)
        figures.setdefault("geomean", []).append(math.sqrt(beam["speedup"] * tree["speedup"]))
    fields = {"problems": problems, "threads": torch.get_num_threads(), "machine": "CPU"}
    for name in ("beam", "mcts"):
        emit(f"{name}_throughput_cached", summarise(figures[f"{name}_cached"], seeds), "token-steps/s", **fields)
        emit(f"{name}_throughput_naive", summarise(figures[f"{name}_naive"], seeds), "token-steps/s", **fields)
        emit(f"{name}_results_match_naive", summarise(figures[f"{name}_match"], seeds), "fraction of seeds", goal="1")
        emit(f"{name}_speedup_vs_naive", summarise(figures[f"{name}_speedup"], seeds), "x", goal=">= 10")
    speedup = summarise(figures["geomean"], seeds)
    emit("search_speedup_vs_naive", speedup, "x (geometric mean of beam and mcts)", goal=">= 10", **fields)


def partly_trained_policy(target: str, seed: int, max_updates: int = 100) -> tuple[GRUPolicy, CharTokenizer, dict]:
    """hello.yaml's algorithm on `target`, stopped at the first update whose samples solve it 2% of the time."""
    torch.manual_seed(seed)
    datamodule = RolloutDataModule(TargetTask(target), batch_size=512, group_size=512, seed=seed)
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
    return module.policy.eval(), module.tokenizer, {"updates": step, "sample_success": float(rollout.success.mean())}


def accuracy_against_budget(seeds: list[int], quick: bool) -> None:
    """The test sweep on hello, one partly trained policy per seed: accuracy and token-steps spent, per budget."""
    task = TargetTask("hello")
    multipliers = [1, 4] if quick else [1, 4, 16, 64]
    budgets = [m * task.max_length for m in multipliers]
    methods = ["greedy", "best_of_n", "majority", "beam", "mcts"]
    scorers = {"best_of_n": "process", "beam": "process", "mcts": "process"}  # the same scorer wherever one is taken
    draws = 4 if quick else 32
    per_seed: list[list[SweepRow]] = []
    stops: dict[str, list[float]] = {"updates": [], "sample_success": []}
    for seed in seeds:
        policy, tokenizer, stop = partly_trained_policy("hello", seed)
        for key, value in stop.items():
            stops[key].append(value)
        per_seed.append(sweep(policy, tokenizer, task, [""], methods, budgets, scorers, seed, repeats=draws))
    emit("sweep_policy_updates", summarise(stops["updates"], seeds), "updates (stop: samples solve >= 2%)")
    success = summarise(stops["sample_success"], seeds, (0, 1))
    emit("sweep_policy_sample_success", success, "success rate of its samples at the stop")
    lines = [
        "| method | scorer | draws per seed | " + " | ".join(f"budget {b}" for b in budgets) + " |",
        "|---|---|---|" + "---|" * len(budgets),
    ]
    for index in range(0, len(per_seed[0]), len(budgets)):
        first = per_seed[0][index]
        cells = []
        for offset, budget in enumerate(budgets):
            rows = [seed_rows[index + offset] for seed_rows in per_seed]
            fields = {"scorer": first.scorer, "oracle": first.oracle, "deterministic": first.deterministic}
            fields |= {"budget": budget, "solves_per_seed": first.solves, "prompts": "eval (the one prompt)"}
            accuracies = summarise([r.accuracy for r in rows], seeds, (0, 1))
            accuracy = emit(f"sweep_{first.method}_{budget}_accuracy", accuracies, "fraction", **fields)
            spent = emit(
                f"sweep_{first.method}_{budget}_mean_token_steps",
                summarise([r.mean_token_steps for r in rows], seeds), "token-steps per problem", **fields,
            )  # fmt: skip
            cells.append(f"{format_ci(accuracy, 2)} @ {spent['mean']:.0f}")
        scorer = first.scorer + (" (oracle)" if first.oracle else "")
        solves = f"{first.solves}" + (" (deterministic)" if first.deterministic else "")
        lines.append(f"| {first.method} | {scorer} | {solves} | " + " | ".join(cells) + " |")
    print("\n".join(lines) + "\n\nCells: accuracy mean [95% interval] (seeds) @ mean token-steps spent.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems and a smaller budget (a smoke run)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="policy seeds (at least 3)")
    args = parser.parse_args()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    throughput(args.seeds, args.quick)
    torch.set_num_threads(threads)
    accuracy_against_budget(args.seeds, args.quick)


if __name__ == "__main__":
    main()
