"""TextGenerationEnv: the seed's reset/step API over any task, as a Gymnasium environment."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from gymnasium import spaces

from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.tasks import Task

MAX_PROMPT_CHARS = 1024


class TextGenerationEnv(gym.Env):
    """One episode writes one completion of a task's prompt, one character (action) per step.

    Actions are indices into `task.vocab`; one more action ends the completion when the task allows it.
    The observation is the prompt and the completion so far. Each step's reward is the increase of the
    episode's known reward (process and shaping rewards as steps complete, the outcome at the end), so an
    episode's total equals the reward the batched trainer gives the same completion.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, task: Task, reward_fn: RewardFunction | None = None, render_mode: str | None = None) -> None:
        self.task = task
        self.reward_fn = reward_fn or RewardFunction()
        self.render_mode = render_mode
        self.end_action = len(task.vocab) if task.can_stop else None
        self.action_space = spaces.Discrete(len(task.vocab) + int(task.can_stop))
        self.observation_space = spaces.Dict(
            {
                "prompt": spaces.Text(MAX_PROMPT_CHARS, charset=task.vocab, min_length=0),
                "completion": spaces.Text(task.max_length, charset=task.vocab, min_length=0),
            }
        )
        self.prompt, self.completion, self.emitted = "", "", 0.0

    def _observation(self) -> dict[str, str]:
        return {"prompt": self.prompt, "completion": self.completion}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        if options and "prompt" in options:
            self.task.check_prompt(options["prompt"])
            self.prompt = options["prompt"]
        else:
            generator = torch.Generator().manual_seed(int(self.np_random.integers(2**62)))
            self.prompt = self.task.sample_prompts(1, generator, "train")[0]  # an agent learns here
        self.completion, self.emitted, self.num_actions = "", 0.0, 0
        return self._observation(), {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"action {action} is outside Discrete({self.action_space.n})")
        self.num_actions += 1
        ended = action == self.end_action
        if not ended:
            self.completion += self.task.vocab[action]
        terminated = ended or len(self.completion) >= self.task.max_length
        rewards, _, solved = self.reward_fn.episode(
            self.task, self.prompt, self.completion, self.num_actions, finished=terminated
        )
        if terminated:  # other terms of the reward (user functions, rm:PATH) score the finished completion
            rewards = rewards.unsqueeze(0)
            char_ids = torch.tensor([[self.task.vocab.index(c) for c in self.completion]])
            lengths = torch.tensor([self.num_actions])
            self.reward_fn.add_term_rewards(rewards, [self.prompt], [self.completion], char_ids, lengths)
        known = float(rewards.sum())
        reward, self.emitted = known - self.emitted, known
        info = {"success": solved} if terminated else {}
        return self._observation(), reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return f"{self.prompt}{self.completion}"
        return None
