"""One reward vocabulary: a user's function by dotted path trains and scores search, with no edit to the package."""

import csv
import json
import re

import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards import RewardFunction, make_reward_function, make_scorer
from o1_lightning.rewards.learned import LearnedShapingReward, RewardModel, RewardModelScorer
from o1_lightning.tasks import AdditionTask, TargetTask

from .conftest import CONFIGS, HELLO
from .helpers import run_cli, scalars

USER_REWARDS = '''
import torch

CALLS = []


def hello_characters(prompts, completions):
    """Fraction of the characters of 'hello' in place: a dense reward the package knows nothing about."""
    CALLS.append(len(completions))
    return [sum(a == b for a, b in zip(c, "hello")) / 5 for c in completions]


def length(prompts, completions):
    return [float(len(c)) for c in completions]


def first_is_a(prompts, completions):
    return [float(c[:1] == "a") for c in completions]


def first_is_a_on_tokens(prompts, char_ids, lengths):
    return (char_ids[:, 0] == 0).float()  # vocab index 0 is 'a'


first_is_a.score_tokens = first_is_a_on_tokens


class TargetPrefix:
    """A reward built with the task: how many leading characters match the target. It reads the answer."""

    oracle = True

    def __init__(self, task):
        self.target = task.target

    def __call__(self, prompts, completions):
        return [float(len(c) - len(c.lstrip(self.target[:1])) if c[:1] == self.target[:1] else 0) for c in completions]
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module `user_rewards_<n>` in a folder on sys.path (as PYTHONPATH would put it), outside the package."""
    name = f"user_rewards_{abs(hash(str(tmp_path))) % 10**8}"
    folder = tmp_path / "user_code"
    folder.mkdir()
    (folder / f"{name}.py").write_text(USER_REWARDS)
    monkeypatch.syspath_prepend(str(folder))
    return name


def test_a_user_reward_by_dotted_path_trains_hello_and_scores_best_of_n(in_tmp, user_module, capsys):
    fit = ["fit", "--config", HELLO, "--trainer.enable_progress_bar", "false"]
    assert run_cli(*fit, "--data.reward", f"{user_module}.hello_characters") == 0
    accuracy = scalars(in_tmp / "lightning_logs", "val/accuracy")
    assert accuracy[max(accuracy)] == 1.0 and max(accuracy) < 20  # solved with the user's reward alone
    rewards = scalars(in_tmp / "lightning_logs", "train/reward")
    assert 0 < rewards[0] < 0.5  # the user's fraction, not the seed's outcome reward (negative at first)

    args = ["--config", HELLO, "--ckpt_path", "checkpoints/hello/last.ckpt", "--trainer.default_root_dir", "sweep"]
    # 16 draws: hello.yaml's uniform KL keeps a solved policy sampling other characters (greedy types "hello")
    sweep = ["--sweep.methods", "[best_of_n]", "--sweep.budget_multipliers", "[16]", "--sweep.repeats", "4"]
    scorer = f"{user_module}.hello_characters"
    assert run_cli("test", *args, *sweep, "--sweep.scorers", f"{{best_of_n: {scorer}}}") == 0
    [row] = list(csv.DictReader(next((in_tmp / "sweep").rglob("sweep.csv")).open()))
    assert (row["method"], row["scorer"], row["oracle"], float(row["accuracy"])) == ("best_of_n", scorer, "False", 1.0)

    predict = ["predict", "--config", HELLO, "--ckpt_path", "checkpoints/hello/last.ckpt"]
    search = ["--search.method", "best_of_n", "--search.budget_multiplier", "16", "--search.output", "p.jsonl"]
    weighted = f"outcome+0.5*{user_module}.hello_characters"
    assert run_cli(*predict, "--data.predict_prompts", '[""]', *search, "--search.scorer", weighted) == 0
    [record] = [json.loads(line) for line in (in_tmp / "p.jsonl").read_text().splitlines()]
    assert record["completion"] == "hello" and record["score"] == 1.5  # 1 (verifier) + 0.5 x 1 (all 5 in place)
    assert record["scorer"] == weighted and record["oracle"]  # a sum with an oracle term is an oracle


def test_unknown_dotted_path_is_one_error_line(in_tmp, capsys):
    assert run_cli("fit", "--config", str(CONFIGS / "debug.yaml"), "--data.reward", "outcome+nosuch.rewards.fn") == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: unknown reward 'nosuch.rewards.fn': no module named 'nosuch' (is its folder on PYTHONPATH?)"
    ]
    assert not (in_tmp / "lightning_logs").exists()


def test_weighted_terms_land_on_the_last_action(user_module):
    task = TargetTask("ab", vocab="ab")
    reward_fn = make_reward_function(f"outcome+0.5*{user_module}.length", task, mistake_penalty=0.1)
    correct = torch.tensor([[True, True], [True, False]])
    rewards, _, _ = reward_fn.fixed_length_batch(correct)
    reward_fn.add_term_rewards(rewards, ["", ""], ["ab", "aa"], torch.tensor([[0, 1], [0, 0]]), torch.tensor([2, 2]))
    torch.testing.assert_close(rewards, torch.tensor([[0.0, 1.0 + 0.5 * 2], [0.0, -0.1 + 0.5 * 2]]))


def test_a_token_fast_path_gives_the_text_path_scores(user_module):
    task = TargetTask("ab", vocab="ab")
    fast = make_reward_function(f"-2*{user_module}.first_is_a", task)
    char_ids = torch.tensor([[0, 1], [1, 1], [0, 0]])
    texts = ["".join("ab"[i] for i in row) for row in char_ids.tolist()]
    rewards = torch.zeros(3, 2)
    fast.add_term_rewards(rewards, [""] * 3, ["will not be read"] * 3, char_ids, torch.tensor([2, 2, 2]))
    scorer = make_scorer(f"-2*{user_module}.first_is_a", task, None, None)
    assert rewards[:, -1].tolist() == scorer.score_batch([""] * 3, texts) == [-2.0, 0.0, -2.0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "outcome+bonus",
            "unknown reward 'bonus' in 'outcome+bonus'; allowed: outcome, process, progress, shaping, rm:PATH",
        ),
        ("os.path.nosuch", "unknown reward 'os.path.nosuch': module 'os.path' has no 'nosuch'"),
        ("os.sep", "reward 'os.sep' is not callable"),
        ("rm:missing.ckpt", "reward model checkpoint 'missing.ckpt' in reward 'rm:missing.ckpt' does not exist"),
    ],
)
def test_bad_reward_names_fail_in_one_line(spec, message):
    with pytest.raises(O1Error, match="^" + re.escape(message)):
        make_reward_function(spec, TargetTask("ab", vocab="ab"))


def save_reward_model(path, task, kind: str) -> RewardModel:
    """A reward-model checkpoint as train_reward_model.py writes it (untrained weights: only the plumbing counts)."""
    torch.manual_seed(0)
    model = RewardModel(CharTokenizer(task.vocab).size, 8, 16)
    hyper = {"vocab": task.vocab, "kind": kind, "embedding_dim": 8, "hidden_size": 16, "num_layers": 1}
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "hyper_parameters": hyper}, path
    )
    return model


def test_a_learned_prm_shapes_training_rewards_from_the_config(in_tmp):
    task = AdditionTask(2, 2)
    save_reward_model(in_tmp / "prm.ckpt", task, "process")
    save_reward_model(in_tmp / "orm.ckpt", task, "outcome")
    reward_fn = make_reward_function("outcome+shaping", task, "rm:prm.ckpt", shaping_scale=0.5, gamma=1.0)
    prm = RewardModelScorer.from_checkpoint(in_tmp / "prm.ckpt", task)
    by_hand = LearnedShapingReward("outcome+shaping", shaping_scale=0.5, gamma=1.0, process_model=prm)
    for completion in ["750=12;481=13;=132", "751=13;"]:
        torch.testing.assert_close(
            reward_fn.episode(task, "47+85=", completion, len(completion))[0],
            by_hand.episode(task, "47+85=", completion, len(completion))[0],
        )
    with pytest.raises(O1Error, match="'rm:orm.ckpt' is an outcome reward model; shaping needs a process one"):
        make_reward_function("outcome+shaping", task, "rm:orm.ckpt")
    with pytest.raises(O1Error, match="which data.reward 'outcome' does not use"):
        make_reward_function("outcome", task, "rm:prm.ckpt")
    rl = ["--config", str(CONFIGS / "addition_rl.yaml"), "--model.init_from", "null", "--model.kl_coef", "0"]
    small = [
        "--model.hidden_size",
        "16",
        "--data.batch_size",
        "16",
        "--data.val_prompts",
        "4",
        "--trainer.max_steps",
        "1",
    ]
    task_args = ["--data.task.init_args.max_digits", "2", "--trainer.enable_progress_bar", "false"]
    shaping = ["--data.reward", "outcome+shaping", "--data.shaping_model", "rm:prm.ckpt"]
    assert run_cli("fit", *rl, *small, *task_args, *shaping) == 0


def test_a_user_class_is_built_with_the_task_and_says_it_is_an_oracle(user_module):
    task = TargetTask("aab", vocab="ab")
    scorer = make_scorer(f"{user_module}.TargetPrefix+-1*{user_module}.length", task, None, None)
    assert scorer.name == f"{user_module}.TargetPrefix+-1*{user_module}.length" and scorer.oracle
    assert scorer.score_batch(["", ""], ["aab", "ba"]) == [2.0 - 3.0, 0.0 - 2.0]
    assert not make_scorer(f"{user_module}.length", task, None, None).oracle


def test_a_reward_with_other_terms_needs_the_task(user_module):
    with pytest.raises(O1Error, match="need the task: build it with o1_lightning.rewards.make_reward_function"):
        RewardFunction(f"outcome+{user_module}.length")
