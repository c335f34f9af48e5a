"""The train/eval split: evaluation prompts are a stable slice of each task's space that training never draws."""

from types import SimpleNamespace

import pytest
import torch

from o1_lightning.app.data import RolloutDataModule
from o1_lightning.app.refresh import SearchRefresh
from o1_lightning.app.reward_models import data as reward_data
from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.errors import O1Error
from o1_lightning.learning.imitation import imitate
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.tasks import AdditionTask, CountdownTask, TargetTask, Task
from o1_lightning.tasks.split import EVAL_PERCENT, prompt_split


class RecordingAddition(AdditionTask):
    """Addition that records the split of every draw, so a test can see which split each caller asks for."""

    def __init__(self) -> None:
        super().__init__(1, 3)
        self.splits: list[str] = []

    def sample_prompts(self, n: int, generator: torch.Generator, split: str = "train") -> list[str]:
        self.splits.append(split)
        return super().sample_prompts(n, generator, split)


@pytest.mark.parametrize("task", [AdditionTask(1, 3), CountdownTask()], ids=["addition", "countdown"])
def test_twenty_thousand_train_draws_never_meet_two_thousand_eval_draws(task):
    train = set(task.sample_prompts(20_000, torch.Generator().manual_seed(0), "train"))
    evaluation = set(task.sample_prompts(2_000, torch.Generator().manual_seed(1), "eval"))
    assert train.isdisjoint(evaluation)
    assert {prompt_split(p) for p in train} == {"train"} and {prompt_split(p) for p in evaluation} == {"eval"}
    assert len(evaluation) > 1_000  # a real slice of the space, not a handful of prompts


def test_the_default_split_is_train():
    task = AdditionTask(1, 3)
    assert task.sample_prompts(50, torch.Generator().manual_seed(3)) == task.sample_prompts(
        50, torch.Generator().manual_seed(3), "train"
    )


def test_one_digit_addition_holds_out_its_own_slice_of_a_hundred_prompts():
    space = {f"{a}+{b}=" for a in range(10) for b in range(10)}
    held_out = {p for p in space if prompt_split(p) == "eval"}
    assert 0 < len(held_out) < 2 * EVAL_PERCENT  # about a tenth of the 100 prompts
    task = AdditionTask(1, 1)
    evaluation = set(task.sample_prompts(1_000, torch.Generator().manual_seed(0), "eval"))
    train = set(task.sample_prompts(5_000, torch.Generator().manual_seed(0), "train"))
    assert evaluation == held_out and train == space - held_out


def test_a_split_is_the_same_in_every_run():
    # A hash of the text (not Python's salted hash): these prompts fall where they fell when the rule was written.
    assert [prompt_split(p) for p in ["1+7=", "1+8=", "47+85=", "3,5,7,11>24"]] == ["eval", "train", "train", "train"]


def test_the_target_task_space_is_its_one_prompt_for_both_splits():
    task = TargetTask("hello")
    assert task.sample_prompts(3, torch.Generator(), "train") == task.sample_prompts(3, torch.Generator(), "eval")
    assert task.sample_prompts(2, torch.Generator(), "eval") == ["", ""]


def test_an_unknown_split_is_refused():
    with pytest.raises(O1Error, match="'test' is not one of train, eval"):
        AdditionTask().sample_prompts(1, torch.Generator(), "test")


class OnePrompt(Task):
    vocab, max_length = "ab", 2

    def draw_prompt(self, generator):
        return "ab"

    def outcome(self, prompt, completion):
        return True

    def process(self, prompt, completion):
        return []

    def demonstrate(self, prompt):
        return "ab"


def test_a_space_with_no_prompt_in_a_split_fails_with_a_clear_error():
    empty = "eval" if prompt_split("ab") == "train" else "train"
    with pytest.raises(O1Error, match=f"outside the '{empty}' split: its prompt space is too small"):
        OnePrompt().sample_prompts(1, torch.Generator(), empty)


@pytest.mark.parametrize("source", ["rollouts", "demonstrations"])
def test_the_datamodule_trains_on_train_prompts_and_validates_on_eval_ones(source):
    task = RecordingAddition()
    datamodule = RolloutDataModule(task, batch_size=32, source=source, val_prompts=50, test_prompts=50)
    datamodule.attach_policy(GRUPolicy(CharTokenizer(task.vocab).size, 8, 16))
    trained = [p for _ in range(5) for p in datamodule.next_rollout().prompts]
    assert task.splits == ["train"] * 5
    measured = datamodule.val_prompts() + datamodule.test_prompts()
    assert task.splits[5:] == ["eval", "eval"]
    assert {prompt_split(p) for p in trained} == {"train"} and {prompt_split(p) for p in measured} == {"eval"}


def test_reward_model_data_learns_on_train_prompts_and_validates_on_eval_ones(monkeypatch):
    seen = {}

    def recording_rollouts(policy, tokenizer, task, prompts, *args):
        seen.setdefault("train" if "train" not in seen else "val", prompts)
        return prompts, [task.demonstrate(p) for p in prompts]

    monkeypatch.setattr(reward_data, "policy_rollouts", recording_rollouts)
    task = AdditionTask(1, 2)
    datamodule = RewardDataModule(task, cache_dir=None, num_prompts=40, val_prompts=20)
    datamodule.policy = GRUPolicy(CharTokenizer(task.vocab).size, 8, 16)
    datamodule.setup("fit")
    assert {prompt_split(p) for p in seen["train"]} == {"train"} and {prompt_split(p) for p in seen["val"]} == {"eval"}


def test_imitation_draws_only_train_prompts():
    task = RecordingAddition()
    imitate(task, steps=2, batch_size=4, embedding_dim=4, hidden_size=8)
    assert task.splits == ["train", "train"]


def test_the_search_refresh_searches_train_prompts_only():
    task = RecordingAddition()
    datamodule = RolloutDataModule(task, batch_size=8)
    policy = GRUPolicy(CharTokenizer(task.vocab).size, 8, 16)
    module = SimpleNamespace(
        task=task,
        policy=policy,
        tokenizer=CharTokenizer(task.vocab),
        log=lambda *a, **k: None,
        add_sampled_token_steps=lambda token_steps: None,
    )
    trainer = SimpleNamespace(global_step=0, datamodule=datamodule)
    SearchRefresh(every_n_steps=1, budget_multiplier=1, num_prompts=4).on_train_batch_end(
        trainer, module, None, None, 0
    )
    assert task.splits == ["train"]
