"""Search pillar: hand-checkable stub policies, budgets, batching, caching and the pure PUCT pieces."""

from __future__ import annotations

import math

import pytest
import torch

from o1_lightning.errors import O1Error
from o1_lightning.policy.gru import GRUPolicy
from o1_lightning.policy.tokenizer import BOS, CharTokenizer
from o1_lightning.search import (
    SEARCH_METHODS,
    FunctionScorer,
    OutcomeScorer,
    PolicyLogProbScorer,
    ProcessScorer,
    backup,
    beam_search,
    best_of_n,
    greedy,
    is_deterministic,
    majority_vote,
    mcts,
    most_visited_path,
    puct_scores,
    run_search,
    vote,
)
from o1_lightning.search.mcts import search_tree
from o1_lightning.search.problems import make_problems
from o1_lightning.search.steps import ends_step
from o1_lightning.tasks import TargetTask, Task
from o1_lightning.tasks.addition import AdditionTask

from .conftest import TablePolicy, tiny_gru


class EchoTask(Task):
    """Repeat the prompt; may stop early (end token). Each character is a step."""

    vocab = "abc"
    max_length = 3

    def draw_prompt(self, generator: torch.Generator) -> str:
        return "abc"

    def outcome(self, prompt: str, completion: str) -> bool:
        return completion == prompt

    def process(self, prompt: str, completion: str) -> list[bool]:
        return [i < len(prompt) and c == prompt[i] for i, c in enumerate(completion)]

    def demonstrate(self, prompt: str) -> str:
        return prompt

    def answer(self, completion: str) -> str | None:
        return completion[-1:] or None  # the last character, to make vote groups


class PipeTask(EchoTask):
    """Like EchoTask with multi-character steps, each ending with '|'."""

    vocab = "ab|"
    max_length = 6

    def steps(self, completion: str) -> list[str]:
        pieces, current = [], ""
        for char in completion:
            current += char
            if char == "|":
                pieces.append(current)
                current = ""
        return pieces + ([current] if current else [])

    def process(self, prompt: str, completion: str) -> list[bool]:
        return [piece.startswith("a") for piece in self.steps(completion)]


pytestmark = pytest.mark.usefixtures("one_thread")


# The trap: "a" is the likeliest first token but leads nowhere; "b" is then almost surely followed by "c".
TRAP = {
    "": {"a": 0.55, "b": 0.40, "c": 0.05},
    "a": {"a": 0.34, "b": 0.33, "c": 0.33},
    "b": {"a": 0.05, "b": 0.05, "c": 0.9},
}
# Two levels for the hand-computed MCTS: greedy types "aa", the target is "ba".
TWO_LEVEL = {"": {"a": 0.6, "b": 0.4}, "a": {"a": 0.9, "b": 0.1}, "b": {"a": 0.7, "b": 0.3}}


def trap_setup() -> tuple[TablePolicy, CharTokenizer, TargetTask]:
    task = TargetTask("bc", vocab="abc")
    tokenizer = CharTokenizer(task.vocab)
    return TablePolicy(tokenizer, TRAP), tokenizer, task


def gru_setup(task: Task, seed: int = 0) -> tuple[GRUPolicy, CharTokenizer]:
    return tiny_gru(task.vocab, seed, can_stop=task.can_stop)


def test_greedy_returns_the_argmax_path_and_costs_its_length():
    policy, tokenizer, task = trap_setup()
    [result] = greedy(policy, tokenizer, task, [""], budget=2)
    assert (result.completion, result.compute, result.scorer) == ("aa", 2, "none")
    assert math.isnan(result.score)


def test_best_of_n_with_the_verifier_finds_the_answer_and_costs_n_times_length():
    policy, tokenizer, task = trap_setup()  # P("bc") = 0.36: 30 samples all miss it with probability 2e-6
    [result] = best_of_n(policy, tokenizer, task, [""], 61, OutcomeScorer(task), torch.Generator().manual_seed(0))
    assert (result.completion, result.score, result.info["n"], result.compute) == ("bc", 1.0, 30, 30 * 2)
    assert result.oracle and result.scorer == "outcome"
    [one] = best_of_n(policy, tokenizer, task, [""], 61, OutcomeScorer(task), None, n=3)
    assert one.compute == 3 * 2


def test_vote_counts_by_hand():
    answers = ["x", "y", "y", None, "x", "x"]
    assert vote(answers, [1.0] * 6) == (0, 3 / 5)  # x: 3 votes of 5 (None abstains); its first member
    weights = [0.9, 0.8, 0.8, 5.0, 0.1, 0.1]
    assert vote(answers, weights) == (1, pytest.approx(1.6 / 2.7))  # y: 1.6 against x: 1.1
    assert vote([None, None], [1.0, 1.0]) == (0, 0.0)
    assert vote(["x", "y"], [1.0, 1.0])[0] == 0  # a tie goes to the answer seen first


def test_majority_vote_picks_the_most_common_answer():
    task = EchoTask()
    tokenizer = CharTokenizer(task.vocab)
    # answers are last characters: "ab"/"cb" end in b (0.3 + 0.3), "aa" in a (0.4): the vote should pick b
    table = {"": {"a": 0.7, "c": 0.3}, "a": {"a": 0.4 / 0.7, "b": 0.3 / 0.7}, "c": {"b": 1.0}}
    table.update({k: {"$": 1.0} for k in ("aa", "ab", "cb")})
    policy = TablePolicy(tokenizer, table)
    [result] = majority_vote(policy, tokenizer, task, ["abc"], 600, None, torch.Generator().manual_seed(0))
    assert result.completion[-1] == "b" and result.scorer == "vote" and not result.oracle
    assert 0.5 < result.score < 0.7 and result.info["n"] == 200 and result.compute == 200 * 3  # two chars + end
    # weighted by the verifier-free process scorer: only "ab" steps match the prompt "abc" fully
    [weighted] = majority_vote(
        policy,
        tokenizer,
        task,
        ["abc"],
        600,
        ProcessScorer(task, "all"),
        torch.Generator().manual_seed(0),
        weighted=True,
    )
    assert weighted.completion == "ab" and weighted.score == 1.0 and weighted.oracle


def test_beam_width_one_equals_greedy():
    task = TargetTask("hello")
    policy, tokenizer = gru_setup(task)
    scorer = PolicyLogProbScorer(policy, tokenizer)
    [beam] = beam_search(policy, tokenizer, task, [""], 5, scorer, width=1, expansions=1)
    [grd] = greedy(policy, tokenizer, task, [""], 5)
    assert beam.completion == grd.completion and beam.compute == 5


def test_beam_escapes_the_trap_that_greedy_falls_into():
    policy, tokenizer, task = trap_setup()
    scorer = PolicyLogProbScorer(policy, tokenizer)  # not an oracle: plain likelihood
    [narrow] = beam_search(policy, tokenizer, task, [""], 8, scorer, width=1, expansions=2)
    [wide] = beam_search(policy, tokenizer, task, [""], 8, scorer, width=2, expansions=2)
    assert narrow.completion == "aa" and wide.completion == "bc"
    assert wide.score == pytest.approx(math.log(0.4) + math.log(0.9), abs=1e-5)
    assert not wide.oracle and wide.scorer == "policy_logprob_sum"
    assert wide.compute == 2 + 2 * 2  # root's 2 candidates, then 2 beams x 2


def test_puct_scores_by_hand():
    log_priors = torch.tensor([[math.log(0.6), math.log(0.4), float("-inf")]])
    visits, value_sums = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.5, 0.0, 0.0]])
    scores = puct_scores(log_priors, visits, value_sums, torch.tensor([4.0]), c_puct=2.0, fpu=0.1)
    # a: 0.5 + 2 * 0.6 * 2 / 2 = 1.7; b: 0.1 + 2 * 0.4 * 2 / 1 = 1.7; c masked
    assert scores[0, :2].tolist() == pytest.approx([1.7, 1.7]) and scores[0, 2] == float("-inf")


def test_backup_and_most_visited_path_by_hand():
    visits, sums, node_visits = torch.zeros(1, 3, 2), torch.zeros(1, 3, 2), torch.zeros(1, 3)
    children = torch.tensor([[[1, 2], [-1, -1], [-1, -1]]])
    path = dict(path_nodes=torch.tensor([[0, 0]]), path_actions=torch.tensor([[1, 0]]), path_lengths=torch.tensor([1]))
    for value in (1.0, 0.5):
        backup(
            visits, sums, node_visits, torch.tensor([0]), **path, leaves=torch.tensor([2]), values=torch.tensor([value])
        )
    assert visits[0, 0].tolist() == [0.0, 2.0] and sums[0, 0].tolist() == [0.0, 1.5]
    assert node_visits[0].tolist() == [2.0, 0.0, 2.0]
    assert most_visited_path(children, visits, max_depth=2).tolist() == [2]


def test_mcts_visit_counts_match_a_hand_computation():
    task = TargetTask("ba", vocab="ab")
    tokenizer = CharTokenizer(task.vocab)
    problems = make_problems(TablePolicy(tokenizer, TWO_LEVEL), tokenizer, task, [""])
    tree, spent, done = search_tree(problems, 100, OutcomeScorer(task), simulations=4, c_puct=1.0)
    a, b = tokenizer.ids["a"], tokenizer.ids["b"]
    node_b = int(tree.children[0, 0, b])
    # sims: a (rollout "aa": 0), b (rollout "ba": 1), b->a (terminal "ba": 1), b->a again (terminal, free)
    assert tree.visits[0, 0, [a, b]].tolist() == [1.0, 3.0] and tree.value_sums[0, 0, b] == 3.0
    assert tree.visits[0, node_b, [a, b]].tolist() == [2.0, 0.0]
    assert tree.node_visits[0, 0] == 4 == int(done[0]) and int(tree.size[0]) == 4
    assert int(spent[0]) == 2 + 2 + 1 + 0


def test_mcts_finds_the_trap_answer():
    policy, tokenizer, task = trap_setup()
    [result] = mcts(policy, tokenizer, task, [""], 20, OutcomeScorer(task))
    assert result.completion == "bc" and result.score == 1.0 and result.oracle
    assert result.info["root_visits"] == result.info["simulations"] and result.compute <= 20


def test_hidden_caching_gives_the_logits_of_rerunning_the_prefix():
    task = EchoTask()
    policy, tokenizer = gru_setup(task)
    prompts = ["abc", "c", "ba"]
    problems = make_problems(policy, tokenizer, task, prompts)
    tree, _, _ = search_tree(problems, 30, ProcessScorer(task), simulations=8, capacity=2)  # grows 2 -> 4 -> 8 -> 9
    checked = 0
    for b, prompt in enumerate(prompts):
        for n in range(int(tree.size[b])):
            if tree.terminal[b, n]:
                continue
            tokens = torch.tensor([[BOS, *tokenizer.encode(prompt + tree.texts[b][n])]])
            rerun = torch.log_softmax(policy(tokens)[0][0, -1], -1)
            finite = torch.isfinite(rerun)
            assert torch.equal(finite, torch.isfinite(tree.log_priors[b, n]))
            assert torch.allclose(tree.log_priors[b, n][finite], rerun[finite], atol=1e-5)
            checked += 1
    assert checked > len(prompts)


def test_policy_logprob_scores_from_search_match_teacher_forcing():
    task = EchoTask()
    policy, tokenizer = gru_setup(task)
    scorer = PolicyLogProbScorer(policy, tokenizer, "mean")
    results = run_search("beam", policy, tokenizer, task, ["abc", "b"], 40, scorer, width=2)
    for r in results:
        assert r.score == pytest.approx(scorer(r.prompt, r.completion), abs=1e-5)


BUDGET_CASES = [
    (TargetTask("hello"), 5),
    (TargetTask("hello"), 23),
    (EchoTask(), 3),
    (EchoTask(), 17),
    (PipeTask(), 40),
]


@pytest.mark.parametrize("method", list(SEARCH_METHODS))
@pytest.mark.parametrize("task,budget", BUDGET_CASES)
def test_every_method_respects_its_budget(method, task, budget):
    policy, tokenizer = gru_setup(task)
    prompts = [""] * 2 if isinstance(task, TargetTask) else ["ab", "a"]
    scorer, generator = ProcessScorer(task), torch.Generator().manual_seed(0)
    results = run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator)
    if method == "mcts":
        results += run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator, rollout="sample")
    if method == "beam":
        results += run_search(method, policy, tokenizer, task, prompts, budget, scorer, generator, sample_steps=True)
    for r in results:
        assert 0 < r.compute <= budget and r.budget == budget and r.method == method
        assert len(r.completion) <= task.max_length


@pytest.mark.parametrize("method", ["sampling", "best_of_n", "majority", "beam", "sampled_beam", "mcts"])
def test_batched_results_equal_one_problem_at_a_time(method):
    task = EchoTask()
    policy, tokenizer = gru_setup(task, seed=1)
    prompts = ["abc", "a", "cb"]
    options = {"mcts": {"rollout": "sample"}, "sampled_beam": {"sample_steps": True}}.get(method, {})
    method = "beam" if method == "sampled_beam" else method

    def gens(seeds: list[int]) -> list[torch.Generator]:
        return [torch.Generator().manual_seed(s) for s in seeds]

    scorer = ProcessScorer(task)
    batched = run_search(method, policy, tokenizer, task, prompts, 12, scorer, gens([7, 8, 9]), **options)
    for prompt, seed, together in zip(prompts, [7, 8, 9], batched):
        [alone] = run_search(method, policy, tokenizer, task, [prompt], 12, scorer, gens([seed]), **options)
        assert (alone.completion, alone.compute, alone.info) == (together.completion, together.compute, together.info)
        assert alone.score == pytest.approx(together.score)


def test_beam_with_multi_character_steps():
    task = PipeTask()
    tokenizer = CharTokenizer(task.vocab)
    assert ends_step(task, "") and ends_step(task, "ab|") and not ends_step(task, "ab")
    # each step greedily runs to its '|': from "a" the policy writes "a|", from "b" it writes "b|"
    table = {"": {"a": 0.4, "b": 0.6}, "a": {"|": 1.0}, "b": {"|": 1.0}, "a|": {"$": 1.0}, "b|": {"$": 1.0}}
    policy = TablePolicy(tokenizer, table)
    [result] = beam_search(policy, tokenizer, task, [""], 24, ProcessScorer(task, "all"), width=2, expansions=2)
    assert result.completion == "a|" and result.compute == 2 * 2 + 2  # two 2-char candidates, then two end tokens


def test_sampled_steps_follow_the_policys_probabilities():
    """Beam search with `sample_steps` draws whole steps from the policy: with one beam and one candidate, the
    answer is "a|" with probability 0.4 (where the likeliest-first-token beam always answers "b|")."""
    task = PipeTask()
    tokenizer = CharTokenizer(task.vocab)
    table = {"": {"a": 0.4, "b": 0.6}, "a": {"|": 1.0}, "b": {"|": 1.0}, "a|": {"$": 1.0}, "b|": {"$": 1.0}}
    policy, scorer = TablePolicy(tokenizer, table), ProcessScorer(task, "all")
    generators = [torch.Generator().manual_seed(seed) for seed in range(2000)]
    options = {"width": 1, "expansions": 1}
    sampled = beam_search(policy, tokenizer, task, [""] * 2000, 12, scorer, generators, sample_steps=True, **options)
    share = sum(r.completion == "a|" for r in sampled) / len(sampled)
    assert share == pytest.approx(0.4, abs=0.035)  # 3.2 standard errors
    assert all(r.compute == 3 and r.info["sample_steps"] for r in sampled)  # 2 characters and the end token
    [top] = beam_search(policy, tokenizer, task, [""], 12, scorer, **options)
    assert top.completion == "b|"
    assert not is_deterministic("beam", {"sample_steps": True}) and is_deterministic("beam", {})


def test_sampled_steps_beam_samples_width_times_expansions_steps_from_the_root():
    """Snell-style: N = width x expansions sampled steps per iteration, the first N all from the one root beam.
    PipeTask: 4 two-character first steps (8 token-steps), then the 2 kept beams propose 2 end tokens each (4)."""
    task = PipeTask()
    tokenizer = CharTokenizer(task.vocab)
    table = {"": {"a": 0.4, "b": 0.6}, "a": {"|": 1.0}, "b": {"|": 1.0}, "a|": {"$": 1.0}, "b|": {"$": 1.0}}
    policy = TablePolicy(tokenizer, table)
    prefers_a = FunctionScorer(lambda prompt, completion: float(completion.startswith("a")), name="prefers_a")
    generators = [torch.Generator().manual_seed(seed) for seed in range(2000)]
    options = {"width": 2, "expansions": 2, "sample_steps": True}
    sampled = beam_search(policy, tokenizer, task, [""] * 2000, 40, prefers_a, generators, **options)
    assert all(r.compute == 4 * 2 + 2 * 2 for r in sampled)
    # "a|" wins whenever one of the 4 root draws is "a": 1 - 0.6^4 = 0.870 (2 root draws would give 0.64)
    share = sum(r.completion == "a|" for r in sampled) / len(sampled)
    assert share == pytest.approx(1 - 0.6**4, abs=0.03)  # 4 standard errors


def test_errors_are_one_line_and_name_the_choices():
    policy, tokenizer, task = trap_setup()
    with pytest.raises(O1Error, match="allowed: greedy, sampling, best_of_n, majority, beam, mcts"):
        run_search("astar", policy, tokenizer, task, [""], 10)
    with pytest.raises(O1Error, match="has no option width; allowed: n, temperature, stepper"):
        run_search("best_of_n", policy, tokenizer, task, [""], 10, OutcomeScorer(task), width=3)
    with pytest.raises(O1Error, match="below one completion"):
        run_search("greedy", policy, tokenizer, task, [""], 1)
    with pytest.raises(O1Error, match="needs a scorer"):
        run_search("mcts", policy, tokenizer, task, [""], 10)
    with pytest.raises(O1Error, match="above budget"):
        run_search("best_of_n", policy, tokenizer, task, [""], 10, OutcomeScorer(task), n=6)
    with pytest.raises(O1Error, match="one per prompt"):
        run_search("sampling", policy, tokenizer, task, ["", ""], 10, None, [torch.Generator()])


def test_plain_callables_plug_in_as_scorers():
    policy, tokenizer, task = trap_setup()

    def likes_c(prompt: str, completion: str) -> float:
        return float(completion.count("c"))

    [result] = run_search("best_of_n", policy, tokenizer, task, [""], 40, likes_c, torch.Generator().manual_seed(0))
    assert result.scorer == "likes_c" and not result.oracle
    assert result.score == result.completion.count("c") >= 1


def test_beam_and_mcts_solve_addition_where_greedy_fails():
    """A real multi-step task: each step's first character is a 0.4-vs-0.6 trap, its other characters are easy."""
    task = AdditionTask(max_digits=2)
    tokenizer = CharTokenizer(task.vocab)
    demo = task.demonstrate("47+85=")  # "750=12;481=13;=132": three steps
    starts = {len("".join(task.steps(demo)[:k])) for k in range(len(task.steps(demo)))}
    table = {}
    for i in range(len(demo) + 1):
        right = demo[i] if i < len(demo) else "$"
        p = 0.4 if i in starts else 0.9
        table[demo[:i]] = {right: p, "9" if right != "9" else "8": 1 - p}
    policy, scorer = TablePolicy(tokenizer, table), ProcessScorer(task)
    [grd] = greedy(policy, tokenizer, task, ["47+85="], 18)
    [beam] = beam_search(policy, tokenizer, task, ["47+85="], 216, scorer, width=2)
    [tree] = mcts(policy, tokenizer, task, ["47+85="], 400, scorer)
    assert not task.outcome("47+85=", grd.completion)
    assert beam.completion == demo and tree.completion == demo
    assert beam.compute <= 216 and tree.compute <= 400
