"""Learned reward models: Monte Carlo labels against hand counts, training, search scorers, shaping and the CLI."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from o1_lightning.app.reward_models.cli import RewardModelCLI, main
from o1_lightning.app.reward_models.data import RewardDataModule
from o1_lightning.app.reward_models.fit import fit_reward_models, scorers_of
from o1_lightning.app.reward_models.module import RewardModelModule
from o1_lightning.errors import O1Error
from o1_lightning.policy.attention_gru import AttentionGRUPolicy
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import CharTokenizer
from o1_lightning.rewards.functions import RewardFunction
from o1_lightning.rewards.learned import (
    LearnedShapingReward,
    RewardModel,
    RewardModelScorer,
    build_examples,
    exact_step_labels,
    label_agreement,
    monte_carlo_labels,
    reward_model_loss,
)
from o1_lightning.rewards.names import check_scorer_name, make_scorer
from o1_lightning.search import run_search
from o1_lightning.tasks import AdditionTask, CountdownTask, TargetTask

from .conftest import CONFIGS, TablePolicy

pytestmark = pytest.mark.usefixtures("one_thread")


def test_monte_carlo_labels_of_a_deterministic_policy_match_the_hand_count():
    # The policy types "a", then "b" after "a", but "a" after "ab": it cannot finish "abc" once it has "ab".
    task = TargetTask("abc", vocab="abc")
    tokenizer = CharTokenizer(task.vocab)
    policy = TablePolicy(
        tokenizer, {"": {"a": 1.0}, "a": {"b": 1.0}, "ab": {"a": 1.0}, "ac": {"c": 1.0}}, read_prompt=True
    )
    completions = ["abc", "acc", "bbb"]
    soft = monte_carlo_labels(policy, tokenizer, task, [""] * 3, completions, 3, torch.Generator().manual_seed(0))
    # "abc": from "a" the policy writes "aba" (0), from "ab" "aba" (0); the last step is the verifier's (1).
    # "acc": from "a" -> "aba" (0), from "ac" -> "acc" (0); last 0. "bbb": "b" and "bb" continue uniformly but
    # "b..." can never be "abc" (0, 0), last 0.
    assert soft == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    exact = [exact_step_labels(task, "", c) for c in completions]
    assert exact == [[True, True, True], [True, False, False], [False, False, False]]
    # Intermediate steps: 6, of which "a", "ab" (abc) and "a" (acc) are on track but get MC 0: 3 false negatives.
    stats = label_agreement(exact, soft)
    assert stats["steps"] == 6 and stats["agreement"] == pytest.approx(3 / 6)
    assert stats["false_negative_rate"] == 1.0 and stats["false_positive_rate"] == 0.0


def test_monte_carlo_soft_labels_estimate_the_success_probability():
    # From "a": P(b) * P(c | ab) = 0.5 * 0.25 = 0.125; from "ab": P(c | ab) = 0.25.
    task = TargetTask("abc", vocab="abc")
    tokenizer = CharTokenizer(task.vocab)
    policy = TablePolicy(tokenizer, {"a": {"b": 0.5, "c": 0.5}, "ab": {"c": 0.25, "a": 0.75}}, read_prompt=True)
    soft = monte_carlo_labels(policy, tokenizer, task, [""], ["abc"], 2000, torch.Generator().manual_seed(0))[0]
    assert soft[0] == pytest.approx(0.125, abs=0.03) and soft[1] == pytest.approx(0.25, abs=0.03)
    assert soft[2] == 1.0
    one = monte_carlo_labels(policy, tokenizer, task, [""], ["abc"], 1, torch.Generator().manual_seed(0))[0]
    assert all(x in (0.0, 1.0) for x in one)


def test_monte_carlo_continuations_stop_at_the_task_length():
    # An addition prefix of two column steps leaves 26 - 14 = 12 characters; the stub would write more.
    task = AdditionTask(3, 3)
    tokenizer = CharTokenizer(task.vocab)
    prompt, completion = "123+456=", "300=09;250=07;140=05;=579"
    policy = TablePolicy(
        tokenizer, {prompt + completion[:14]: {"1": 1.0}}, read_prompt=True
    )  # "111..." forever: never correct
    soft = monte_carlo_labels(policy, tokenizer, task, [prompt], [completion], 2, torch.Generator().manual_seed(0))
    assert soft[0][1] == 0.0 and soft[0][-1] == 1.0


def test_exact_labels_follow_the_step_checker_and_the_countdown_solver():
    addition = AdditionTask(2, 2)
    assert exact_step_labels(addition, "47+85=", "750=12;481=13;=132") == [True, True, True]
    assert exact_step_labels(addition, "47+85=", "750=11;481=13;=132") == [False, False, False]
    assert exact_step_labels(addition, "47+85=", "750=12;481=13;=133") == [True, True, False]
    countdown = CountdownTask(4)
    prompt = "3,5,7,11>24"
    # 7*5=35 keeps 24 reachable (35-11=24); 35-3=32 leaves {11, 32}, from which 24 cannot be made.
    assert countdown.progress(prompt, "7*5=35;") == [True]
    assert exact_step_labels(countdown, prompt, "7*5=35;35-11=24;") == [True, True]
    assert exact_step_labels(countdown, prompt, "7*5=35;35-3=32;") == [True, False]  # valid, but 24 is lost
    assert exact_step_labels(countdown, prompt, "7*5=36;35-11=24;") == [False, False]


def addition_examples() -> tuple[CharTokenizer, AdditionTask, list[str], list[str], object]:
    """Right and wrong completions of 2-digit sums, labelled exactly: a wrong one solves a+(b+-1) instead of a+b."""
    task = AdditionTask(2, 2)
    tokenizer = CharTokenizer(task.vocab)
    prompts = task.sample_prompts(32, torch.Generator().manual_seed(0))
    completions = []
    for i, prompt in enumerate(prompts):
        a, b = task.parse(prompt)
        other = b + 1 if b < 99 else b - 1
        completions.append(task.demonstrate(prompt if i % 2 == 0 else f"{a}+{other}="))
    steps = [[float(x) for x in exact_step_labels(task, p, c)] for p, c in zip(prompts, completions)]
    outcomes = [float(task.outcome(p, c)) for p, c in zip(prompts, completions)]
    examples = build_examples(tokenizer, task, prompts, completions, steps, outcomes)
    return tokenizer, task, prompts, completions, examples


def test_examples_put_labels_at_the_step_ends():
    task = AdditionTask(2, 2)
    tokenizer = CharTokenizer(task.vocab)
    prompts, completions = ["47+85=", "47+85="], ["750=12;481=13;=132", "750=11;481=13;=132"]
    examples = build_examples(tokenizer, task, prompts, completions, [[1, 1, 1], [0, 0, 0]], [1.0, 1.0])
    right, wrong = examples[0], examples[1]
    assert right["step_mask"].nonzero().squeeze(1).tolist() == [6 + 7, 6 + 14, 6 + 18]  # the prompt's last is 6
    assert right["step_labels"][right["step_mask"]].tolist() == [1.0, 1.0, 1.0]
    assert int(right["outcome_position"]) == 6 + 18 == examples.tokens.shape[1] - 1
    assert wrong["step_labels"][wrong["step_mask"]].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(O1Error, match="has 3 steps but 2 step labels"):
        build_examples(tokenizer, task, prompts[:1], completions[:1], [[1, 1]], [1.0])


def test_loss_is_bce_over_the_masked_positions_and_an_empty_mask_gives_zero():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 5.0]])
    labels = torch.tensor([[1.0, 0.5], [0.0, 0.0]])
    mask = torch.tensor([[True, False], [True, False]])
    expected = (math.log(2) + math.log(1 + math.exp(-1))) / 2
    assert float(reward_model_loss(logits, labels, mask)) == pytest.approx(expected)
    assert float(reward_model_loss(logits, labels, torch.zeros_like(mask))) == 0.0


@pytest.mark.parametrize("kind", ["outcome", "process"])
def test_reward_models_train_toward_their_labels(kind, in_tmp):
    tokenizer, task, prompts, completions, examples = addition_examples()
    torch.manual_seed(0)
    module = RewardModelModule(task.vocab, kind=kind, embedding_dim=16, hidden_size=32, lr=0.02)
    scorer = RewardModelScorer(module.model, tokenizer, task, kind, reduce="min")
    labels = examples.outcome_label.tolist()
    assert sum(labels) == 16 and examples.step_labels[examples.step_mask].sum() == 16 * 3

    def gap() -> float:  # mean score of right completions minus that of wrong ones
        scores = scorer.score_batch(prompts, completions)
        right = [s for s, y in zip(scores, labels) if y == 1.0]
        wrong = [s for s, y in zip(scores, labels) if y == 0.0]
        return sum(right) / len(right) - sum(wrong) / len(wrong)

    before = gap()
    trainer = L.Trainer(
        max_steps=40, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.fit(module, DataLoader(examples, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0)))
    module.eval()
    after = gap()
    assert after > before + 0.3 and after > 0.5


def untrained_scorer(task, kind: str, reduce: str = "min") -> RewardModelScorer:
    torch.manual_seed(1)
    tokenizer = CharTokenizer(task.vocab)
    return RewardModelScorer(RewardModel(tokenizer.size, 8, 16), tokenizer, task, kind, reduce)


def test_scores_read_the_right_positions_and_batching_changes_nothing():
    task = AdditionTask(1, 2)
    orm, prm = untrained_scorer(task, "outcome"), untrained_scorer(task, "process", "prod")
    prm.model = orm.model  # one network read two ways
    prompts, completions = ["4+5=", "47+85="], ["450=09;=9", "750=12;48"]
    tokenizer = orm.tokenizer
    for prompt, completion in zip(prompts, completions):
        tokens, _ = tokenizer.encode_prompts([prompt + completion])
        probs = torch.sigmoid(orm.model(tokens))[0]  # (T,)
        assert orm(prompt, completion) == pytest.approx(float(probs[-1]))
        expected = float(probs[len(prompt) + 7] * probs[len(prompt) + 9])  # both have steps ending at 7 and 9
        assert prm(prompt, completion) == pytest.approx(expected, rel=1e-5)
    batched = orm.score_batch(prompts, completions)
    assert batched == pytest.approx([orm(p, c) for p, c in zip(prompts, completions)], rel=1e-5)
    assert prm("4+5=", "") == 0.0
    with pytest.raises(O1Error, match="unknown reward model reduce 'max'"):
        RewardModelScorer(orm.model, tokenizer, task, "process", reduce="max")


@pytest.mark.parametrize(
    ("method", "kind", "options"),
    [
        ("best_of_n", "outcome", {}),
        ("majority", "outcome", {"weighted": True}),
        ("beam", "process", {"width": 2}),
        ("mcts", "process", {}),
    ],
)
def test_learned_scorers_run_inside_search_and_are_not_oracles(method, kind, options):
    task = AdditionTask(1, 1)
    tokenizer = CharTokenizer(task.vocab)
    torch.manual_seed(0)
    policy = GRUPolicy(tokenizer.size, 8, 16).eval()
    scorer = untrained_scorer(task, kind)
    prompts = ["3+4=", "9+9="]
    budget = 4 * task.max_length
    results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, torch.Generator(), **options)
    assert [r.scorer for r in results] == [scorer.name] * 2 and not any(r.oracle for r in results)
    assert all(r.compute <= budget for r in results)
    if method != "majority":  # the vote's score is a share; the others report the scorer's own score
        assert [r.score for r in results] == pytest.approx(scorer.score_batch(prompts, [r.completion for r in results]))


def test_learned_shaping_with_a_perfect_prm_is_the_oracle_shaping():
    task = AdditionTask(2, 2)

    class PerfectPRM:  # stands in for a RewardModelScorer that learnt the exact labels
        def step_scores(self, prompts, completions):
            return [[float(x) for x in exact_step_labels(task, p, c)] for p, c in zip(prompts, completions)]

    oracle = RewardFunction("outcome+shaping", shaping_scale=0.5, gamma=0.9)
    learned = LearnedShapingReward("outcome+shaping", shaping_scale=0.5, gamma=0.9, process_model=PerfectPRM())
    for completion in ["750=12;481=13;=132", "750=12;481=14;=142", "750=1", "", "751=13;"]:
        expected = oracle.episode(task, "47+85=", completion, max(len(completion), 1))
        got = learned.episode(task, "47+85=", completion, max(len(completion), 1))
        torch.testing.assert_close(got[0], expected[0])
        assert got[1:] == expected[1:]


def test_learned_shaping_sums_the_prm_step_probabilities():
    task = AdditionTask(2, 2)
    scorer = untrained_scorer(task, "process")
    completion = "750=12;481=13;=132"
    p = scorer.step_scores(["47+85="], [completion])[0]
    reward_fn = LearnedShapingReward("shaping", shaping_scale=1.0, gamma=1.0, process_model=scorer)
    rewards, _, _ = reward_fn.episode(task, "47+85=", completion, len(completion))
    expected = torch.zeros(len(completion))
    expected[[6, 13, 17]] = torch.tensor(p)  # Phi rises by p_j at the end of step j
    torch.testing.assert_close(rewards, expected)
    with pytest.raises(O1Error, match="needs process_model"):
        LearnedShapingReward("shaping")
    with pytest.raises(O1Error, match="no vectorised path"):
        reward_fn.fixed_length_batch(torch.ones(2, 3, dtype=torch.bool))


def test_the_config_parses_and_links_the_vocab(in_tmp):
    config = str(CONFIGS / "reward_model.yaml")
    cli = RewardModelCLI(RewardModelModule, RewardDataModule, args=["--config", config], run=False)
    assert cli.model.hparams.vocab == cli.datamodule.vocab == AdditionTask.vocab
    assert cli.model.hparams.kind == "process" and cli.datamodule.labels == "exact"
    args = ["--config", config, "--model.kind", "outcome"]
    cli = RewardModelCLI(RewardModelModule, RewardDataModule, args=args, run=False)
    assert cli.model.hparams.kind == "outcome"


def test_fit_from_the_command_line_gives_a_scorer(in_tmp):
    args = [
        "fit",
        "--config",
        str(CONFIGS / "reward_model.yaml"),
        "--data.task.init_args.max_digits",
        "2",
        "--data.imitation_steps",
        "3",
        "--data.cache_dir",
        "null",
        "--data.num_prompts",
        "8",
        "--data.val_prompts",
        "4",
        "--data.labels",
        "mc_soft",
        "--data.mc_samples",
        "2",
        "--model.attention_size",
        "4",
        "--trainer.max_epochs",
        "1",
        "--trainer.enable_progress_bar",
        "false",
    ]
    main(args)
    checkpoint = in_tmp / "checkpoints" / "reward_model" / "last.ckpt"
    assert checkpoint.is_file()
    scorer = RewardModelScorer.from_checkpoint(checkpoint, AdditionTask(1, 2), reduce="prod")
    assert scorer.model.query.out_features == 4  # the checkpoint's attention comes back with it
    assert scorer.name == "prm_prod" and not scorer.oracle and 0.0 <= scorer("4+5=", "450=09;=9") <= 1.0
    with pytest.raises(O1Error, match="not a reward model for vocab"):
        RewardModelScorer.from_checkpoint(checkpoint, CountdownTask(4))
    by_name = make_scorer(f"rm:{checkpoint}", AdditionTask(1, 2), None, CharTokenizer(AdditionTask.vocab))
    assert by_name.name == "prm_min" and not by_name.oracle  # as sweep, predict and refresh name it in configs


def test_a_missing_reward_model_is_a_one_line_error():
    with pytest.raises(O1Error, match="reward model checkpoint 'nowhere.ckpt' in scorer 'rm:nowhere.ckpt' does not"):
        check_scorer_name("rm:nowhere.ckpt")


def test_a_reward_model_starts_from_the_policy_weights():
    tokenizer = CharTokenizer(AdditionTask.vocab)
    torch.manual_seed(0)
    policy = GRUPolicy(tokenizer.size, 8, 16)
    model = RewardModel(tokenizer.size, 8, 16)
    model.init_from_policy(policy)
    torch.testing.assert_close(model.gru.weight_hh_l0, policy.gru.weight_hh_l0)
    torch.testing.assert_close(model.embedding.weight, policy.embedding.weight)
    with pytest.raises(O1Error, match="give the reward model the policy's embedding_dim, hidden_size"):
        RewardModel(tokenizer.size, 8, 32).init_from_policy(policy)


def test_an_attention_reward_model_scores_a_prefix_without_reading_what_follows():
    torch.manual_seed(0)
    model = RewardModel(CharTokenizer(AdditionTask.vocab).size, 8, 16, attention_size=8).eval()
    tokens = torch.randint(3, 10, (2, 12))
    changed = tokens.clone()
    changed[:, 7:] = torch.randint(3, 10, (2, 5))
    before, after = model(tokens), model(changed)
    assert before.shape == (2, 12)  # a logit at every position, as the plain model gives
    torch.testing.assert_close(after[:, :7], before[:, :7])  # a PRM reads step ends: no later character may leak
    assert not torch.allclose(after[:, 7:], before[:, 7:])
    with pytest.raises(O1Error, match="attention_size must be >= 0 .0: no attention., got -1"):
        RewardModel(CharTokenizer(AdditionTask.vocab).size, 8, 16, attention_size=-1)


def test_an_attention_reward_model_starts_from_an_attention_policy_and_from_a_plain_one():
    size = CharTokenizer(AdditionTask.vocab).size
    torch.manual_seed(0)
    attending = AttentionGRUPolicy(size, 8, 16, attention_size=8)
    model = RewardModel(size, 8, 16, attention_size=8)
    model.init_from_policy(attending)
    torch.testing.assert_close(model.query.weight, attending.query.weight)
    torch.testing.assert_close(model.key.weight, attending.key.weight)
    plain, fresh = GRUPolicy(size, 8, 16), RewardModel(size, 8, 16, attention_size=8)
    query = fresh.query.weight.clone()
    fresh.init_from_policy(plain)  # the GRU is the policy's; the attention has nothing to start from
    torch.testing.assert_close(fresh.gru.weight_ih_l0, plain.gru.weight_ih_l0)
    torch.testing.assert_close(fresh.query.weight, query)


def test_an_attention_reward_model_is_cached_under_its_own_name_and_reloads(in_tmp):
    task = AdditionTask(1, 1)
    torch.manual_seed(0)
    policy = GRUPolicy(CharTokenizer(task.vocab).size, 32, 16).eval()  # the reward model's embedding size
    options = {"num_prompts": 4, "samples_per_prompt": 2, "epochs": 1, "hidden_size": 16, "kinds": ("outcome",)}
    first = fit_reward_models(task, policy, cache_dir=in_tmp / "rm", cache_key="tiny", attention_size=8, **options)
    assert [p.name.endswith("_att8.pt") for p in (in_tmp / "rm").iterdir()] == [True]
    again = fit_reward_models(task, policy, cache_dir=in_tmp / "rm", cache_key="tiny", attention_size=8, **options)
    torch.testing.assert_close(again["outcome"][0].query.weight, first["outcome"][0].query.weight)
    fit_reward_models(task, policy, cache_dir=in_tmp / "rm", cache_key="tiny", **options)  # a plain one beside it
    assert len(list((in_tmp / "rm").iterdir())) == 2


def test_bad_labels_are_refused_in_one_line(in_tmp, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--config", str(CONFIGS / "reward_model.yaml"), "--data.labels", "guess"])
    assert exit_.value.code == 2
    assert "unknown reward model labels 'guess'; allowed: exact, mc_soft, mc_hard" in capsys.readouterr().err


def test_fit_reward_models_caches_what_it_trained(in_tmp):
    task = AdditionTask(1, 1)
    torch.manual_seed(0)
    policy = GRUPolicy(CharTokenizer(task.vocab).size, 8, 16).eval()
    options = {"num_prompts": 4, "samples_per_prompt": 2, "epochs": 1, "hidden_size": 16, "init_from_policy": False}
    first = fit_reward_models(task, policy, cache_dir=in_tmp / "rm", cache_key="tiny", **options)
    assert sorted(p.name.split("_")[1] for p in (in_tmp / "rm").iterdir()) == ["outcome", "process"]
    again = fit_reward_models(task, policy, cache_dir=in_tmp / "rm", cache_key="tiny", **options)
    for kind in ("outcome", "process"):
        torch.testing.assert_close(again[kind][0].head.weight, first[kind][0].head.weight)
        assert again[kind][1] == first[kind][1] and "val/rm_accuracy" in first[kind][1]
    scorers = scorers_of(task, first, reduce="prod", suffix="_tiny")
    assert scorers["outcome"].name == "orm_tiny" and scorers["process"].name == "prm_prod_tiny"
