"""Verifiable tasks: each a small class with prompts, a verifier, a step checker and demonstrations."""

from o1_lightning.tasks.addition import AdditionTask
from o1_lightning.tasks.base import Task
from o1_lightning.tasks.countdown import CountdownTask
from o1_lightning.tasks.reasoning_gym import ReasoningGymTask
from o1_lightning.tasks.target import TargetTask

__all__ = ["AdditionTask", "CountdownTask", "ReasoningGymTask", "Task", "TargetTask"]
