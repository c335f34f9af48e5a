"""Training rewards: the seed's outcome reward, per-step process reward, potential-based shaping, and any other
scorer of the vocabulary (a learned reward model, a user function) as a weighted reward on the last action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from o1_lightning.errors import O1Error
from o1_lightning.rewards.scorers import Scorer
from o1_lightning.rewards.spec import parse_terms
from o1_lightning.tasks.base import Task
from o1_lightning.tasks.verdicts import StepVerdicts

REWARD_NAMES = ("outcome", "process", "progress", "shaping")


def parse_reward_names(spec: str) -> tuple[str, ...]:
    """'outcome+0.5*process' -> ('outcome', 'process'), with a clear error for an unknown name (see spec.py)."""
    return tuple(term.name for term in parse_terms(spec, REWARD_NAMES, "reward"))


def shaping_rewards(potentials: torch.Tensor, gamma: float) -> torch.Tensor:
    """Potential-based shaping F_k = gamma * Phi(s_{k+1}) - Phi(s_k): (..., L+1) potentials -> (..., L)."""
    return gamma * potentials[..., 1:] - potentials[..., :-1]


def prefix_potentials(steps: list[str], checked: list[bool], num_actions: int, scale: float) -> torch.Tensor:
    """Phi after each action: `scale` times the number of leading correct steps completed so far, (num_actions+1,)."""
    potentials = torch.zeros(num_actions + 1)
    end, correct_so_far = 0, 0
    for step, ok in zip(steps, checked):
        end += len(step)
        if not ok:
            break
        correct_so_far += 1
        potentials[end:] = scale * correct_so_far
    return potentials


@dataclass
class RewardFunction:
    """Turns verified episodes into per-action rewards, as chosen in config.

    reward: terms joined by '+', each optionally weighted (`0.5*process`), from `outcome` (+correct_reward on a
      verified solution, else -mistake_penalty per wrong step: the seed's +1 / -0.1 per wrong character),
      `process` (+-process_reward on the last character of each correct / wrong step), `progress` (+process_reward on
      each step `Task.progress` accepts: correct and, on Countdown, the target still reachable after it; the last
      step of a finished episode counts only if it solves the task; a step that loses the target earns nothing
      rather than a penalty, since penalties made stopping early the cheapest failure), `shaping`
      (gamma * Phi(s') - Phi(s), Phi = shaping_scale * leading correct steps), and other scorers (rm:PATH, a
      dotted path) whose weighted score lands on the last action: `term_scorers` holds those, built with the
      task by `names.make_reward_function`.
    """

    reward: str = "outcome"
    correct_reward: float = 1.0
    mistake_penalty: float = 0.1
    process_reward: float = 0.1
    shaping_scale: float = 0.1
    gamma: float = 0.99
    term_scorers: list[tuple[float, Scorer]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        terms = parse_terms(self.reward, REWARD_NAMES, "reward")
        self.names = tuple(term.name for term in terms if term.name in REWARD_NAMES)
        self.weights = {term.name: term.weight for term in terms if term.name in REWARD_NAMES}
        if "progress" in self.names:
            self.tensor_path = False  # Task.progress reads the completion's text (the solver decides reachability)
        others = [term.name for term in terms if term.name not in REWARD_NAMES]
        if len(others) != len(self.term_scorers):
            raise O1Error(
                f"reward {self.reward!r} has terms {others} that need the task: build it with "
                "o1_lightning.rewards.make_reward_function(reward, task)"
            )

    def outcome(self, task: Task, prompt: str, completion: str) -> tuple[float, bool]:
        solved = task.outcome(prompt, completion)
        value = self.correct_reward if solved else -self.mistake_penalty * task.mistakes(prompt, completion)
        return value, solved

    # Whether `batch` may be used: a subclass whose potentials read completions as text sets False.
    tensor_path: ClassVar[bool] = True

    def fixed_length_batch(self, correct: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`episode` for a whole batch of full-length completions whose characters are the steps.

        (B, L) per-character correctness -> (B, L) rewards, (B,) outcome rewards, (B,) solved.
        """
        verdicts = StepVerdicts(torch.ones_like(correct), correct, correct.all(-1), (~correct).sum(-1))
        return self.batch(verdicts, torch.full(correct.shape[:1], correct.shape[1], device=correct.device))

    def batch(
        self, verdicts: StepVerdicts, num_actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`episode` for a batch judged on tensors: (B, L) rewards by action, (B,) outcome rewards, (B,) solved.

        `num_actions` (B,) counts each episode's actions (its end token included); L is the verdicts' width.
        """
        step_end, step_ok = verdicts.step_end, verdicts.step_ok  # (B, L)
        outcome_value = torch.where(verdicts.solved, self.correct_reward, -self.mistake_penalty * verdicts.mistakes)
        width = max(step_end.shape[1], 1)
        rewards = torch.zeros(step_end.shape[0], width, device=step_end.device)  # (B, L)
        if "outcome" in self.names:
            last = (num_actions - 1).clamp(min=0, max=width - 1).unsqueeze(1)  # (B, 1)
            rewards.scatter_add_(1, last, self.weights["outcome"] * outcome_value.unsqueeze(1).float())
        if "process" in self.names:
            step_rewards = torch.where(step_end, torch.where(step_ok, self.process_reward, -self.process_reward), 0.0)
            rewards += self.weights["process"] * step_rewards
        if "shaping" in self.names:
            on_track = (step_end & ~step_ok).long().cumsum(-1) == 0  # (B, L) no wrong step so far
            leading_correct = (step_end & step_ok & on_track).long().cumsum(-1)  # (B, L) after each action
            potentials = self.shaping_scale * torch.nn.functional.pad(leading_correct, (1, 0)).float()
            acted = torch.arange(width, device=step_end.device) < num_actions.unsqueeze(1)  # (B, L)
            rewards += self.weights["shaping"] * shaping_rewards(potentials, self.gamma) * acted
        return rewards, outcome_value, verdicts.solved

    def add_term_rewards(
        self, rewards: torch.Tensor, prompts: list[str], completions: list[str], char_ids: torch.Tensor, lengths
    ) -> None:
        """Add each other term's weighted score to the (B, L) `rewards` at each episode's last action, in place.

        A scorer's `score_tokens` fast path reads the (B, L) character ids; otherwise it reads the text.
        """
        if not self.term_scorers:
            return
        last = (lengths.to(rewards.device) - 1).clamp(min=0)  # (B,) an empty completion's reward goes on action 0
        rows = torch.arange(rewards.shape[0], device=rewards.device)
        for weight, scorer in self.term_scorers:
            scores = scorer.score_tokens(prompts, char_ids, lengths)
            if scores is None:
                scores = torch.tensor(scorer.score_batch(prompts, completions))
            rewards[rows, last] += weight * scores.to(rewards.device, rewards.dtype)

    def episode(
        self, task: Task, prompt: str, completion: str, num_actions: int, finished: bool = True
    ) -> tuple[torch.Tensor, float, bool]:
        """(num_actions,) rewards of one episode, its outcome reward and whether it is solved.

        With `finished=False` (a prefix still being written) the outcome and the last, maybe partial, step
        are not rewarded yet.
        """
        rewards = torch.zeros(num_actions)
        outcome_value, solved = self.outcome(task, prompt, completion)
        if "outcome" in self.names and finished:
            rewards[num_actions - 1] += self.weights["outcome"] * outcome_value
        steps = task.steps(completion)
        checked = task.process(prompt, completion)
        if not finished:
            steps, checked = steps[:-1], checked[:-1]
        if "process" in self.names:
            self.add_step_rewards(rewards, steps, checked, self.weights["process"], self.process_reward)
        if "progress" in self.names:
            verdicts = task.progress(prompt, completion)[: len(steps)]
            if finished and verdicts:  # nothing follows the last step: it is right only if it solves the task
                verdicts[-1] = verdicts[-1] and solved
            self.add_step_rewards(rewards, steps, verdicts, self.weights["progress"], penalty=0.0)
        if "shaping" in self.names:
            potentials = self.potentials(task, prompt, steps, checked, num_actions)
            rewards += self.weights["shaping"] * shaping_rewards(potentials, self.gamma)
        return rewards, outcome_value, solved

    def add_step_rewards(
        self, rewards: torch.Tensor, steps: list[str], verdicts: list[bool], weight: float, penalty: float
    ) -> None:
        """weight * process_reward on the last action of each right step, -weight * `penalty` on each wrong one,
        in place."""
        end = 0
        for step, ok in zip(steps, verdicts):
            end += len(step)
            rewards[end - 1] += weight * (self.process_reward if ok else -penalty)

    def potentials(self, task: Task, prompt: str, steps: list[str], checked: list[bool], num_actions: int):
        """(num_actions + 1,) Phi after each action; a learned process reward model may override it."""
        return prefix_potentials(steps, checked, num_actions, self.shaping_scale)
