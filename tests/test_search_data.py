"""A second round of reward-model data: a misled search's picks, labelled exactly and added to the rollouts."""

from __future__ import annotations

import pytest
import torch

from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.app.reward_models.fit import fit_reward_models
from o1_lightning.app.reward_models.search_data import proposal_label_counts, search_proposals
from o1_lightning.errors import O1Error
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.search import FunctionScorer
from o1_lightning.tasks import AdditionTask

from .conftest import TablePolicy

pytestmark = pytest.mark.usefixtures("one_thread")

# WRONG writes 7+5 = 11 in the first column, then the right answer: only the step labels catch it
PROMPT, RIGHT, WRONG = "47+85=", "750=12;481=13;=132", "750=11;481=13;=132"


def fork_policy(task: AdditionTask) -> TablePolicy:
    """Writes RIGHT or WRONG with probability 1/2 each (they part after '750=1'), whatever the prompt."""
    table = {RIGHT[:i]: {RIGHT[i]: 1.0} for i in range(5)}
    table[RIGHT[:5]] = {RIGHT[5]: 0.5, WRONG[5]: 0.5}
    for text in (RIGHT, WRONG):
        table |= {text[:i]: {text[i]: 1.0} for i in range(6, len(text))}
        table[text] = {"$": 1.0}
    return TablePolicy(CharTokenizer(task.vocab), table)


def test_a_misled_search_proposes_its_reward_models_error_and_the_labels_say_so():
    task = AdditionTask(2, 2)
    misled = FunctionScorer(lambda prompt, completion: float("=11" in completion), name="misled")
    searches = [("best_of_n", {}), ("best_of_n", {"n": 1})]
    prompts, completions = search_proposals(fork_policy(task), task, [PROMPT] * 3, searches, 16 * 18, misled)
    assert prompts == [PROMPT] * 6
    assert completions[:3] == [WRONG] * 3  # best of 16 finds the error it is misled toward (1 - 2^-16)
    assert set(completions[3:]) <= {RIGHT, WRONG}  # one sample: either
    counts = proposal_label_counts(task, [PROMPT] * 4, [WRONG, WRONG, WRONG, RIGHT])
    # the verifier reads only the answer (=132, right in both); the step labels see the wrong first column
    assert counts == {"proposals": 4.0, "verified": 1.0, "steps_on_track": 3 / 12}
    with pytest.raises(O1Error, match="at least one"):
        search_proposals(fork_policy(task), task, [PROMPT], [], 18, misled)


def test_the_proposals_join_the_training_rollouts_with_exact_labels():
    task = AdditionTask(2, 2)
    data = RewardDataModule(task, num_prompts=2, val_prompts=1, samples_per_prompt=1, cache_dir=None)
    data.policy, data.extra_train = fork_policy(task), ([PROMPT, PROMPT], [WRONG, RIGHT])
    data.setup("fit")
    examples = data.train_examples
    assert len(examples) == 2 * 1 + 2 and len(data.val_examples) == 1  # validation gets no proposals
    wrong, right = examples[2], examples[3]
    assert wrong["step_labels"][wrong["step_mask"]].tolist() == [0.0, 0.0, 0.0]  # the first column is wrong
    assert right["step_labels"][right["step_mask"]].tolist() == [1.0, 1.0, 1.0]
    assert (float(wrong["outcome_label"]), float(right["outcome_label"])) == (1.0, 1.0)  # its answer is right
    text = CharTokenizer(task.vocab).decode(wrong["tokens"][1 : 1 + len(PROMPT + WRONG)].tolist())
    assert text == PROMPT + WRONG


def test_a_model_fit_with_proposals_is_cached_apart_from_one_without(in_tmp):
    task = AdditionTask(2, 2)
    torch.manual_seed(0)
    policy = GRUPolicy(CharTokenizer(task.vocab).size, 8, 16).eval()
    options = {"num_prompts": 4, "samples_per_prompt": 1, "epochs": 1, "hidden_size": 16, "init_from_policy": False}
    options |= {"kinds": ("process",), "cache_dir": in_tmp / "rm", "cache_key": "tiny"}
    fit_reward_models(task, policy, **options)
    fit_reward_models(task, policy, extra_train=([PROMPT, PROMPT], [WRONG, RIGHT]), **options)
    names = sorted(path.name for path in (in_tmp / "rm").iterdir())
    assert len(names) == 2 and names[1] == names[0].replace(".pt", "_plus2.pt")
