"""Rollout and training throughput: the seed's literal loop against the project's rollout engine, in one run.

Prints one JSON line per figure: {"name", "value", "unit", "device", "goal"}. "Our reading of the seed" is the
literal loop of benchmarks/seed_vs_project.py (one episode at a time, one GRU call per token, env.step in
Python), trained with per-episode normalised returns (our reading) and with raw returns (the other reading).
CPU figures always, on one torch thread; GPU figures whenever CUDA is present, named by the device.
Every rate is the fastest of three timing windows, for the seed and the project alike (the machine is shared).

Run: `python benchmarks/throughput.py [--quick] [--compile]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable

import lightning as L
import torch
from common import emit, single_run
from seed_vs_project import SeedEnv, SeedPolicy, seed_episode, seed_update

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.module import PolicyModule
from o1_lightning.learning.sample_rollout import make_rollout
from o1_lightning.policy import sampler
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import TargetTask

TARGETS = {"hello": "hello", "target56": "the quick brown fox jumps over the lazy dog by the river"}
CPU_BATCHES = (512, 4096, 32768)
GPU_BATCHES = (512, 4096, 32768, 131072, 262144)
CPU = torch.device("cpu")


def figure(name: str, value: float | str, unit: str, device: str = "cpu", goal: str | None = None) -> None:
    """One rate or ratio as one JSON line (common.emit): the fastest of three timing windows in this one run."""
    if isinstance(value, str):  # a figure that could not be measured here says why
        summary = {"mean": None, "ci95": None, "seeds": [], "note": value}
    else:
        summary = single_run(value, "fastest of three timing windows, side by side in one run")
    emit(name, summary, unit, device=device, goal=goal)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_rate(run: Callable[[], int], seconds: float, device: torch.device = CPU) -> float:
    """Units per second of `run` (it returns the units it did): the fastest of three windows of seconds / 3."""
    run()  # warm-up
    best = 0.0
    for _ in range(3):
        synchronize(device)
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            done += run()
        synchronize(device)
        best = max(best, done / (time.perf_counter() - start))
    return best


def seed_rollout_rate(seconds: float) -> float:
    """Episodes/s of the seed's literal episode loop, sampling only (no update)."""
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))

    def one() -> int:
        with torch.no_grad():
            seed_episode(policy, env)
        return 1

    return best_rate(one, seconds)


def seed_training_rate(seconds: float, normalize: bool) -> float:
    """Episodes/s of the seed's literal training loop: one episode, then one REINFORCE update."""
    torch.manual_seed(0)
    task = TargetTask("hello")
    env, policy = SeedEnv(task.target, task.vocab), SeedPolicy(len(task.vocab))
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.01)

    def one() -> int:
        seed_update(optimizer, *seed_episode(policy, env), gamma=0.99, reading="normalised" if normalize else "raw")
        return 1

    return best_rate(one, seconds)


def project_policy(target: str, device: torch.device, compiled: bool = False) -> tuple[PolicyModule, TargetTask]:
    torch.manual_seed(0)
    task = TargetTask(target)
    module = PolicyModule(task.vocab, task.max_length, can_stop=False, compile=compiled).to(device)
    return module, task


def rollout_rate(target: str, batch: int, device: torch.device, seconds: float, compiled: bool = False) -> float:
    """Episodes/s of `make_rollout` (sample, verify, reward, lay out) for one prompt repeated `batch` times."""
    module, task = project_policy(target, device, compiled)
    reward_fn = RewardFunction()
    generator = torch.Generator(device=device).manual_seed(0)

    def one() -> int:
        make_rollout(module.policy, task, module.tokenizer, reward_fn, [""], batch, generator, compiled)
        return batch

    return best_rate(one, seconds, device)


def gru_math_fraction(target: str, batch: int, device: torch.device, seconds: float) -> float:
    """Share of rollout wall time spent inside the GRU steps (recurrent matmul, gates, head), timed within the same
    rollouts (so a change of machine load cannot skew it)."""
    module, task = project_policy(target, device)
    generator = torch.Generator(device=device).manual_seed(0)
    inside = [0.0]
    plain = sampler.step_function

    def timed_step_function(policy: torch.nn.Module, compiled: bool = False):
        step = plain(policy, compiled)

        def timed(tokens: torch.Tensor, hidden: torch.Tensor):
            synchronize(device)
            start = time.perf_counter()
            result = step(tokens, hidden)
            synchronize(device)
            inside[0] += time.perf_counter() - start
            return result

        return timed

    sampler.step_function = timed_step_function
    try:
        make_rollout(module.policy, task, module.tokenizer, RewardFunction(), [""], batch, generator)  # warm-up
        inside[0], start = 0.0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            make_rollout(module.policy, task, module.tokenizer, RewardFunction(), [""], batch, generator)
        synchronize(device)
        return inside[0] / (time.perf_counter() - start)
    finally:
        sampler.step_function = plain


def peak_memory_bytes(target: str, batch: int, device: torch.device) -> int:
    """Peak bytes of tensors live during one rollout: the CUDA allocator's peak on a GPU; on a CPU, the running sum
    of the profiler's allocations and frees (the process's RSS would mostly show earlier peaks)."""
    module, task = project_policy(target, device)
    generator = torch.Generator(device=device).manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        make_rollout(module.policy, task, module.tokenizer, RewardFunction(), [""], batch, generator)
        return torch.cuda.max_memory_allocated(device) - before
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as profiler:
        make_rollout(module.policy, task, module.tokenizer, RewardFunction(), [""], batch, generator)
    changes = sorted((e for e in profiler.events() if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    live = peak = 0
    for event in changes:
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


class StepTimer(L.Callback):
    """Wall time from the end of the first `skip` training batches to the end of the fit."""

    def __init__(self, skip: int = 2) -> None:
        self.skip, self.start, self.steps = skip, None, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.skip:
            synchronize(pl_module.device)
            self.start = time.perf_counter()
        self.steps = trainer.global_step - self.skip

    def on_train_end(self, trainer, pl_module) -> None:
        synchronize(pl_module.device)
        self.seconds = time.perf_counter() - self.start


def fit_rate(steps: int, batch: int, accelerator: str, root: str) -> float:
    """Training episodes/s of Lightning `fit` on configs/hello.yaml's algorithm at `batch`, validation off."""
    torch.manual_seed(0)
    datamodule = RolloutDataModule(TargetTask("hello"), batch_size=batch, group_size=batch, steps_per_epoch=10**6)
    module = PolicyModule(datamodule.vocab, datamodule.max_length, can_stop=False, lr=0.015, entropy_coef=0.03)
    timer = StepTimer()
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        max_steps=steps + timer.skip,
        default_root_dir=root,
        gradient_clip_val=1.0,
        log_every_n_steps=10,
        limit_val_batches=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        callbacks=[timer],
    )
    trainer.fit(module, datamodule)
    return timer.steps * batch / timer.seconds


def rollout_figures(device: torch.device, name: str, batches: tuple[int, ...], seconds: float) -> dict:
    """Episodes/s and token-steps/s per target and batch, the GRU share at two sizes, and peak memory."""
    rates = {}
    for key, target in TARGETS.items():
        for batch in batches:
            rate = rollout_rate(target, batch, device, seconds)
            rates[key, batch] = rate
            figure(f"rollout_episodes_per_s_{key}_batch_{batch}", round(rate, 1), "episodes/s", name)
            figure(
                f"rollout_token_steps_per_s_{key}_batch_{batch}", round(rate * len(target), 1), "token-steps/s", name
            )
    for key, batch in (("hello", 512), ("target56", batches[1])):
        fraction = gru_math_fraction(TARGETS[key], batch, device, seconds)
        figure(f"rollout_gru_math_fraction_{key}_batch_{batch}", round(fraction, 3), "fraction", name)
    for batch in batches:
        peak = peak_memory_bytes(TARGETS["target56"], batch, device)
        figure(f"rollout_peak_memory_target56_batch_{batch}", round(peak / 2**20, 1), "MiB", name)
        figure(
            f"rollout_peak_bytes_per_token_step_target56_batch_{batch}", round(peak / (batch * 56), 1), "bytes", name
        )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short windows and small fits (a smoke run)")
    parser.add_argument("--compile", action="store_true", help="also time model.compile (a minute of compiling)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as `train.py` does by default (--torch_threads 1), for the seed's loop as well
    seconds, fit_steps = (1.5, 4) if args.quick else (6.0, 20)

    seed_rollouts = seed_rollout_rate(seconds)
    figure("seed_rollout_episodes_per_s", round(seed_rollouts, 1), "episodes/s (our reading of the seed)")
    seed_training = {}
    for reading, normalize in (("normalized_returns", True), ("raw_returns", False)):
        seed_training[reading] = seed_training_rate(seconds, normalize)
        figure(f"seed_training_episodes_per_s_{reading}", round(seed_training[reading], 1), "episodes/s")

    cpu = CPU
    rates = rollout_figures(cpu, "cpu", CPU_BATCHES[:2] if args.quick else CPU_BATCHES, seconds)
    figure(
        "rollout_speedup_vs_seed",
        round(rates["hello", 512] / seed_rollouts, 1),
        "x (hello, batch 512)",
        "cpu",
        ">= 150 (stretch 250)",
    )
    if args.compile:  # eager and compiled timed back to back, so that both see the same load
        for key, batch in (("hello", 512), ("target56", 4096)):
            compiled = rollout_rate(TARGETS[key], batch, cpu, seconds, compiled=True)
            eager = rollout_rate(TARGETS[key], batch, cpu, seconds)
            figure(f"rollout_compiled_vs_eager_{key}_batch_{batch}", round(compiled / eager, 3), "x", "cpu")

    with tempfile.TemporaryDirectory() as root:
        fit = fit_rate(fit_steps, 4096, "cpu", root)
    figure("fit_training_episodes_per_s_hello_batch_4096", round(fit, 1), "episodes/s", "cpu")
    for reading, rate in seed_training.items():
        figure(f"fit_speedup_vs_seed_training_{reading}", round(fit / rate, 1), "x", "cpu", ">= 100")

    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        name = torch.cuda.get_device_name(gpu)
        gpu_rates = rollout_figures(gpu, name, GPU_BATCHES[:3] if args.quick else GPU_BATCHES, seconds)
        best = max(rate * 56 for (key, _), rate in gpu_rates.items() if key == "target56")
        figure("gpu_best_token_steps_per_s_target56", round(best, 1), "token-steps/s", name, ">= 1e8")
        with tempfile.TemporaryDirectory() as root:
            figure(
                "fit_training_episodes_per_s_hello_batch_4096",
                round(fit_rate(fit_steps, 4096, "gpu", root), 1),
                "episodes/s",
                name,
            )
    else:
        figure("gpu_figures", "not measured: no CUDA device on this machine", "", "none")


if __name__ == "__main__":
    main()
